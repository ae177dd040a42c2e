"""Families: combine a modality, a process and a network behind one interface."""
