"""Unsupervised domain adaptation: source-only training, MCD, and federated DualAdapt and FedAvg-MCD."""
