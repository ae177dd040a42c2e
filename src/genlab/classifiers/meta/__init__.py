"""Meta-learning: learners that adapt to a new task from a few examples (MAML, Reptile, ANIL)."""
