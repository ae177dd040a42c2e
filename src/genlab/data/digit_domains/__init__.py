"""Digit domains: the same ten classes drawn from different distributions, for domain adaptation.

Domain adaptation on digits (Ganin & Lempitsky 2015; Saito et al. 2018; the "Digit-Five" of
Peng et al. 2019) adapts from MNIST to MNIST-M, SVHN, USPS and SynDigits. Only MNIST ships with
genlab; the other domains are built here by the recipes that made the originals, each a seeded,
cached data set with its own train and test split, all 3 × 32 × 32 RGB:

==================  ===========================================================================
``mnist``           MNIST's digits, grey replicated to RGB, resized to 32 × 32
``mnist_m``         MNIST digits blended with random patches of colour photographs (MNIST-M)
``uci_digits``      scikit-learn's 8 × 8 UCI handwritten digits (other writers, another scanner)
``syn_digits``      digits rendered from matplotlib's fonts on coloured backgrounds (SynDigits)
``mnist_inverted``  MNIST with inverted grey levels: dark strokes on a light ground
==================  ===========================================================================

:data:`~genlab.data.digit_domains.registry.DOMAINS` maps each name to its recipe;
``DATASETS`` entry ``digit_domain`` (:mod:`genlab.data.digit_domains.dataset`) serves them.
"""
