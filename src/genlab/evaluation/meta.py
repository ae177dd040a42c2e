"""The meta-learning evaluator: accuracy or error after adapting to held-out tasks."""
