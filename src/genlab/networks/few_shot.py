"""Networks of the few-shot (meta-learning) benchmarks."""
