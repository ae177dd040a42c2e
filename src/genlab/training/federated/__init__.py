"""Federated training: the in-process round loop (``engine``), the rounds' record in a run
directory (``run_dir``) and the Flower ServerApp / ClientApp pair (``flower_app``, optional extra
``genlab[federated]``) that run the same client and server functions."""
