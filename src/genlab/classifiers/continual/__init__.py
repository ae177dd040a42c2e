"""Continual learning: task streams, methods that learn them in turn, and the accuracy matrix."""
