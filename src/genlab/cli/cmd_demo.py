"""``genlab demo [--out DIR]``: train on QM9, sample 10,000 molecules, evaluate, report.

The whole pipeline runs through the public pieces a user would use: :func:`genlab.api.train`
with ``configs/qm9/demo.yaml``, :meth:`~genlab.sampling.run.Run.sample`, the molecule evaluator's
``write`` (raw graphs, so validity is judged on what the model generated; the verdicts it makes
to write the SMILES file are the ones evaluated), :func:`genlab.metrics.evaluate.evaluate` and
:func:`genlab.evaluation.report.build_report`.
``DIR`` is an ordinary run directory (``docs/runs.md``) to which the demo adds ``DIR/metrics.json``
(the evaluate JSON plus the demo's timings), ``DIR/plots/properties.png`` and ``DIR/report.html``.
It is sized to finish in about ten minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from genlab.errors import GenlabError
from genlab.paths import shipped_config

#: the demo config, shipped with the package (the repository's configs/), or given with --config
DEFAULT_CONFIG = shipped_config("qm9/demo.yaml")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train on QM9, sample 10,000 molecules, evaluate and write a report")
    p.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="config to train (default: configs/qm9/demo.yaml)")
    p.add_argument("--samples", type=int, default=10_000, help="molecules to sample (default: 10000)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set train.max_steps=100 (repeatable)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier run in --out (only a folder that holds a genlab run)")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    import torch

    from genlab.api import train
    from genlab.evaluation.registry import evaluator_for
    from genlab.evaluation.report import build_report
    from genlab.metrics.evaluate import evaluate, format_table
    from genlab.utils.atomic import atomic_write_json

    out = Path(args.out)
    config = Path(args.config)
    if not config.is_file():
        raise GenlabError("demo config not found (pass --config)", path=config)
    if args.overwrite and out.exists():
        if not (out / "config.json").is_file():
            raise GenlabError("--overwrite replaces only a folder that holds a genlab run (no config.json here)",
                              path=out)
        shutil.rmtree(out)
    seconds: dict[str, float] = {}
    start = time.perf_counter()

    print(f"[demo] training {config} -> {out}", flush=True)
    run = train(config, out, overrides=list(args.overrides))
    seconds["train"] = time.perf_counter() - start

    t = time.perf_counter()
    print(f"[demo] sampling {args.samples} molecules", flush=True)
    with torch.inference_mode():
        result = run.sample(args.samples, seed=args.seed)
    seconds["sample"] = time.perf_counter() - t

    t = time.perf_counter()
    print("[demo] evaluating", flush=True)
    written = evaluator_for(run.modality).write(result, run.modality, out / "samples" / "demo")
    metrics = evaluate(written.judged, reference="qm9", train="qm9", plot=out / "plots" / "properties.png")
    seconds["evaluate"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - start
    metrics["demo"] = {"config": str(config), "nfe": result.nfe, "seconds": {k: round(v, 1) for k, v in seconds.items()},
                       "samples": [str(f) for f in written.files]}
    atomic_write_json(out / "metrics.json", metrics)
    build_report(out)
    print(format_table(metrics))
    print(f"[demo] {seconds['total']:.0f} s total; wrote {out / 'metrics.json'} and {out / 'report.html'}")
    return 0
