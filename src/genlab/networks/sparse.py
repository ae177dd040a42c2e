"""Networks with sparse activations for continual learning."""
