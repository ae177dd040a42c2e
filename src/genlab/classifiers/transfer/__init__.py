"""Few-shot transfer across domains: STARTUP (Phoo & Hariharan 2021) and its SimCLR baseline.

A teacher trained on a labelled base set (an ordinary classifier run) labels unlabelled target
images softly; the student learns from those labels, the base labels and a contrastive loss on
the target images (``startup.py``), or SimCLR alone learns from the target images
(``simclr.py``). Few-shot evaluation fits a logistic regression on the frozen features
(``features.py``; :mod:`genlab.evaluation.few_shot_transfer`).
"""
