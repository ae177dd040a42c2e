"""The continual-learning evaluator: the accuracy matrix of a run over its task stream."""
