"""``genlab data check|export``: verify the lossless encoding, export splits as SMILES."""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from genlab.data.round_trip import roundtrip_check
from genlab.data.sources import DATASETS_WITH_SPLITS, raw_split
from genlab.utils.parallel import default_workers
from genlab.data.smiles_io import write_smiles


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="check and export the molecule datasets")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    c = dsub.add_parser("check", help="encode -> decode every molecule and compare canonical SMILES")
    c.add_argument("dataset", choices=sorted(DATASETS_WITH_SPLITS))
    c.add_argument("--split", default=None, help="one split only (default: qm9 all molecules; moses train)")
    c.add_argument("--limit", type=int, default=None, help="check a seeded random sample of N molecules")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--workers", type=int, default=None)
    c.set_defaults(func=run_check)

    e = dsub.add_parser("export", help="write one canonical SMILES a line")
    e.add_argument("dataset", choices=sorted(DATASETS_WITH_SPLITS))
    e.add_argument("--split", required=True)
    e.add_argument("--limit", type=int, default=None, help="a seeded random sample of N molecules")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", required=True)
    e.set_defaults(func=run_export)


def _sample(n_total: int, limit: int | None, seed: int) -> np.ndarray:
    if limit is None or limit >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, size=limit, replace=False))


def run_check(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    splits = [args.split] if args.split else (("train", "test") if args.dataset == "qm9" else ("train",))
    smiles, labels = [], []
    for split in splits:
        s, ids = raw_split(args.dataset, split)
        smiles += s
        labels += [f"{split}:{i}" for i in ids.tolist()]
    pick = _sample(len(smiles), args.limit, args.seed)
    smiles = [smiles[i] for i in pick]
    labels = [labels[i] for i in pick]
    report = roundtrip_check(smiles, labels, workers=args.workers or default_workers())
    out = {"dataset": args.dataset, "splits": splits, "total": report["total"],
           "roundtrip_exact": report["roundtrip_exact"], "failures": report["failures"],
           "n_failures": report["n_failures"], "seconds": round(time.perf_counter() - start, 1)}
    print(json.dumps(out, indent=1))
    return 0 if report["n_failures"] == 0 else 1


def run_export(args: argparse.Namespace) -> int:
    from rdkit import Chem, RDLogger

    from genlab.chem.graph import canonical_smiles

    RDLogger.DisableLog("rdApp.*")
    smiles, _ = raw_split(args.dataset, args.split)
    pick = _sample(len(smiles), args.limit, args.seed)
    canon = (canonical_smiles(Chem.MolFromSmiles(smiles[i])) for i in pick)
    n = write_smiles(args.out, canon)
    print(f"wrote {n} SMILES of {args.dataset}/{args.split} to {args.out}", file=sys.stderr)
    return 0
