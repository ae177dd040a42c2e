"""Reference statistics are built in bounded memory: a larger reference set needs no more memory.

A subprocess builds the statistics of one chunk of MOSES test molecules (warming up ChemNet,
RDKit's tables and the allocator), then of a set six times larger, and reports its peak resident
memory after each. Only what is kept per molecule may grow (packed fingerprints, counters), far
below the bound; keeping every RDKit molecule, or fcd_torch's per-batch LSTM outputs, for the
whole set exceeds it (docs/benchmarks.md has the numbers of both).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, resource, sys
from genlab.data.sources import moses_raw
from genlab.metrics import set_statistics
from genlab.metrics.reference_cache import reference_stats

chunk, larger = int(sys.argv[1]), int(sys.argv[2])
set_statistics.CHUNK_SIZE = chunk
test = moses_raw("test")
parts = ("fcd", "fingerprints", "fragments", "scaffolds")
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # MiB
reference_stats(test[:chunk], parts=parts, workers=0, cache=False)
after_chunk = peak()
reference_stats(test[chunk:chunk + larger], parts=parts, workers=0, cache=False)
print(json.dumps({"after_chunk_mib": after_chunk, "after_set_mib": peak()}))
"""

CHUNK = 512  # one ChemNet batch
LARGER = 3000
BOUND_MIB = 40  # how far the peak may rise from one chunk to the larger set


def test_reference_statistics_memory_does_not_grow_with_the_set():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(CHUNK), str(LARGER)], capture_output=True,
                         text=True, env=env, check=True, timeout=300)
    peaks = json.loads(out.stdout.strip().splitlines()[-1])
    rise = peaks["after_set_mib"] - peaks["after_chunk_mib"]
    assert rise < BOUND_MIB, f"peak RSS rose by {rise} MiB from {CHUNK} to {LARGER} molecules ({peaks})"
