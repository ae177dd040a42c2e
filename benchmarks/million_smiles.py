"""Time and peak memory of reading a 1,000,000-line SMILES file the way ``genlab evaluate`` does.

    OMP_NUM_THREADS=1 python benchmarks/million_smiles.py [--lines 1000000] [--gzip] [--judge N]

Writes a synthetic file (QM9-like SMILES, every 97th line malformed, every 101st line not UTF-8),
then in a fresh child process per stage measures wall time and peak RSS (``ru_maxrss``) of:

* ``stream``: :func:`genlab.data.smiles_io.read_molecule_file`, counting records (bounded memory);
* ``collect``: the same, keeping every SMILES and line number, as ``judge_file`` does before
  judging (memory grows with the file: the sample list itself);
* ``judge`` (with ``--judge N``): the validity verdicts of the first N lines (RDKit parsing is the
  cost; extrapolate linearly).
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genlab.utils.atomic import atomic_write

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C1CC1C#N", "OC(=O)C(N)Cc1ccccc1", "CN1CCC[C@H]1c1cccnc1",
          "O=C1NC(=O)C(=O)N1", "CC(C)(C)OC(=O)N"]

STAGE = r"""
import itertools, json, resource, sys, time
from genlab.data.smiles_io import read_molecule_file
stage, path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if stage == "stream":
    n = sum(1 for r in read_molecule_file(path) if r.smiles is not None)
elif stage == "collect":
    kept = [(r.line, r.smiles) for r in read_molecule_file(path)]
    n = len(kept)
else:
    from genlab.metrics.samples import _judge_smiles_chunk
    smiles = [r.smiles for r in itertools.islice(read_molecule_file(path), limit)]
    n = sum(v.valid for v in _judge_smiles_chunk(smiles))
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"stage": stage, "n": n, "seconds": round(seconds, 2),
                  "peak_rss_mib": round(peak / 1024, 1), "growth_mib": round((peak - base) / 1024, 1)}))
"""


def write_file(path: Path, lines: int, gz: bool) -> None:
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        for i in range(lines):
            if i % 101 == 100:
                f.write(b"\xff\xfeCC\n")
            elif i % 97 == 96:
                f.write(b"C1CC(\n")
            else:
                f.write(SMILES[i % len(SMILES)].encode() + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--judge", type=int, default=0, help="also judge validity of the first N lines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("million.smi.gz" if args.gzip else "million.smi")
        t = time.perf_counter()
        atomic_write(path, lambda tmp: write_file(tmp, args.lines, args.gzip))
        print(json.dumps({"file": path.name, "lines": args.lines, "bytes": path.stat().st_size,
                          "write_seconds": round(time.perf_counter() - t, 1)}))
        stages = ["stream", "collect"] + (["judge"] if args.judge else [])
        for stage in stages:
            out = subprocess.run([sys.executable, "-c", STAGE, stage, str(path), str(args.judge)],
                                 capture_output=True, text=True, check=True)
            print(out.stdout.strip())
    print(json.dumps({"parent_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
