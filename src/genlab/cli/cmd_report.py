"""``genlab report RUN [--out FILE]``: one self-contained HTML page (see :mod:`genlab.evaluation.report`)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write one self-contained HTML report of a run or a folder of samples",
        description="Config, training curves, metrics (beside published QM9 numbers for molecules), sample "
        "figures and every PNG of the folder, in one HTML file with embedded images and no scripts.",
    )
    p.add_argument("run", help="run directory (or a folder of samples and evaluate JSON)")
    p.add_argument("--out", default=None, help="HTML file (default RUN/report.html)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genlab.evaluation.report import build_report

    path = build_report(args.run, args.out)
    print(f"wrote {path}")
    return 0
