"""Omniglot (Lake et al. 2015) from the file shipped inside genlab, registered in ``DATASETS``."""
