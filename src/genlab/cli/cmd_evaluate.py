"""``genlab evaluate FILE --reference {qm9,moses,PATH} [--train ...] [--correct] [--json OUT]``.

Points and digits sample files (``genlab sample`` output) are scored against the held-out set
named by ``--reference points:<dataset>``, ``digits`` or a run directory
(:mod:`genlab.metrics.evaluators`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score generated molecules, points or digits against held-out data")
    p.add_argument("file", help="a SMILES file (.smi/.txt/.csv/.sdf[.gz]), a genlab .safetensors graph-sample "
                   "file, or a points/digits .npz/.safetensors from `genlab sample`")
    p.add_argument("--reference", required=True, help="molecules: qm9 or moses (their test split) or a molecule "
                   "file; points: points:<dataset>; digits: digits; or a run directory (its held-out split)")
    p.add_argument("--train", default=None, help="qm9, moses (their training split) or a file, for novelty")
    p.add_argument("--correct", action="store_true", help="apply the MoFlow/GDSS valency correction before scoring")
    p.add_argument("--json", default=None, help="write the full result as JSON here")
    p.add_argument("--nspdk", action=argparse.BooleanOptionalAction, default=None,
                   help="compute NSPDK MMD (default: only for references of at most 50,000 molecules)")
    p.add_argument("--plot", default=None, help="property-histogram PNG (default: next to --json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genlab.metrics.evaluate import evaluate, format_table, write_json
    from genlab.metrics.evaluators import evaluate_sample_file, format_scalars

    result = evaluate_sample_file(args.file, args.reference)  # None: a molecule reference
    if result is not None:
        print(format_scalars(result))
        if args.json:
            write_json(result, args.json)
            print(f"wrote {args.json}", file=sys.stderr)
        return 0
    plot = args.plot
    if plot is None and args.json:
        plot = str(Path(args.json).with_suffix("")) + "_properties.png"
    result = evaluate(args.file, reference=args.reference, train=args.train, correct=args.correct, plot=plot,
                      nspdk=args.nspdk)
    print(format_table(result))
    if result["n_malformed"]:
        shown = ", ".join(f"line {m['line']} ({m['reason']})" for m in result["malformed"][:5])
        more = "" if result["n_malformed"] <= 5 else f" and {result['n_malformed'] - 5} more"
        print(f"invalid lines: {shown}{more}", file=sys.stderr)
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
