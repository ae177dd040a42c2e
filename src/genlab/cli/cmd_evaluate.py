"""``genlab evaluate FILE --reference {qm9,moses,PATH} [--train ...] [--correct] [--json OUT]``.

The file's modality picks the evaluator (:func:`genlab.evaluation.registry.evaluator_for_file`):
molecule files are scored by the molecule suite (:mod:`genlab.metrics.evaluate`; in a SMILES file
every line is one sample, a blank line an invalid one); points and digits sample files
(``genlab sample`` output) against the held-out set named by ``--reference points:<dataset>``,
``digits`` or a run directory (:mod:`genlab.evaluation.heldout`).
"""

from __future__ import annotations

import argparse
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
    from genlab.evaluation.registry import evaluator_for_file
    from genlab.utils.atomic import atomic_write_json

    plot = args.plot
    if plot is None and args.json:
        plot = str(Path(args.json).with_suffix("")) + "_properties.png"
    evaluator = evaluator_for_file(args.file)
    result = evaluator.evaluate_file(Path(args.file), args.reference, train=args.train, correct=args.correct,
                                     plot=plot, nspdk=args.nspdk)
    print(evaluator.format(result))
    for line in evaluator.notes(result):
        print(line, file=sys.stderr)
    if args.json:
        atomic_write_json(args.json, result)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
