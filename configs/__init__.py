"""The shipped configs, ``<modality>/<name>.yaml``, installed as the package ``genlab.configs``
(see setup.py); find one with ``genlab.paths.shipped_config("qm9/demo.yaml")``."""
