"""Sinusoid regression tasks (Finn et al. 2017), registered in ``DATASETS`` as ``sinusoid``."""
