"""Package layout (pyproject.toml holds everything else): the code under ``src/`` and the
repository's top-level ``configs/`` folder as the package ``genlab.configs``.

Users read and edit the configs in ``configs/``; a wheel carries them as ``genlab/configs/``, and
an editable install maps ``genlab.configs`` to ``configs/`` itself, so there is one copy.
:func:`genlab.paths.shipped_config` finds them either way. The lists are computed, so a new
subpackage or config folder needs no edit here.
"""

from setuptools import find_namespace_packages, find_packages, setup

setup(
    packages=[*find_packages("src"), "genlab.configs",
              *(f"genlab.configs.{folder}" for folder in find_namespace_packages("configs"))],
    package_dir={"": "src", "genlab.configs": "configs"},
)
