"""Test-wide settings: one torch thread per test process.

``make test`` runs two pytest workers on a 2-core machine; with torch's default of one thread per
core, the workers oversubscribe the cores and small models slow down by orders of magnitude.
"""

import torch

torch.set_num_threads(1)
