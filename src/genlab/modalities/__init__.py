"""Modalities: what one sample is (noise, masks, symmetry, encode/decode)."""
