"""``genlab demo [--out DIR]``: train on QM9, sample 10,000 molecules, evaluate, report.

The whole pipeline runs through the public pieces a user would use: :func:`genlab.api.train`
with ``configs/qm9/demo.yaml``, :meth:`~genlab.training.run.Run.sample`,
:meth:`~genlab.training.run.Run.write_samples` (raw graphs, so validity is judged on what the
model generated) and :func:`genlab.metrics.evaluate.evaluate`. It writes ``DIR/metrics.json`` and
``DIR/report.html`` (metric table and a molecule grid, self-contained) and is sized to finish in
about ten minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import time
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError

#: the demo config, shipped next to the package sources (repo layout) or given with --config
DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "qm9" / "demo.yaml"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train on QM9, sample 10,000 molecules, evaluate and write a report")
    p.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="config to train (default: configs/qm9/demo.yaml)")
    p.add_argument("--samples", type=int, default=10_000, help="molecules to sample (default: 10000)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set train.max_steps=100 (repeatable)")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    import torch

    from genlab.api import train
    from genlab.metrics.evaluate import evaluate, format_table, write_json

    out = Path(args.out)
    config = Path(args.config)
    if not config.is_file():
        raise GenlabError("demo config not found (pass --config)", path=config)
    seconds: dict[str, float] = {}
    start = time.perf_counter()

    print(f"[demo] training {config} -> {out / 'run'}", flush=True)
    run = train(config, out / "run", overrides=list(args.overrides))
    seconds["train"] = time.perf_counter() - start

    t = time.perf_counter()
    print(f"[demo] sampling {args.samples} molecules", flush=True)
    with torch.inference_mode():
        result = run.sample(args.samples, seed=args.seed)
    seconds["sample"] = time.perf_counter() - t
    files = run.write_samples(result, out / "samples" / "demo")
    graph_file = next(f for f in files if f.suffix == ".safetensors")

    t = time.perf_counter()
    print("[demo] evaluating", flush=True)
    metrics = evaluate(graph_file, reference="qm9", train="qm9", plot=out / "properties.png")
    seconds["evaluate"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - start
    metrics["demo"] = {"config": str(config), "nfe": result.nfe, "seconds": {k: round(v, 1) for k, v in seconds.items()},
                       "samples": [str(f) for f in files]}
    write_json(metrics, out / "metrics.json")
    write_report(out / "report.html", metrics, result.samples, run.modality.vocab, config)
    print(format_table(metrics))
    print(f"[demo] {seconds['total']:.0f} s total; wrote {out / 'metrics.json'} and {out / 'report.html'}")
    return 0


def molecule_grid_png(graphs: Any, vocab: Any, n: int = 24) -> bytes | None:
    """PNG of the first ``n`` strictly valid samples (RDKit's grid drawing), or None."""
    from rdkit.Chem import Draw

    from genlab.chem.graph import build_mol
    from genlab.chem.validity import is_strictly_valid

    mols = []
    atoms, adj = graphs.atoms.cpu().numpy(), graphs.adj.cpu().numpy()
    for i in range(len(atoms)):
        mol = is_strictly_valid(build_mol(atoms[i], adj[i], vocab))
        if mol is not None:
            mols.append(mol)
        if len(mols) == n:
            break
    if not mols:
        return None
    image = Draw.MolsToGridImage(mols, molsPerRow=6, subImgSize=(180, 150))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_report(path: Path, metrics: dict[str, Any], graphs: Any, vocab: Any, config: Path) -> Path:
    """A self-contained HTML page: the headline metrics and an embedded molecule grid."""
    from genlab.metrics.evaluate import KEYS

    rows = []
    for key in KEYS[:-1]:
        value = metrics.get(key)
        if key == "properties":
            for name, v in (value or {}).items():
                rows.append((name, v))
            continue
        rows.append((key, value))
    rows += [(f"seconds: {k}", v) for k, v in metrics["demo"]["seconds"].items()]
    table = "\n".join(f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>" for k, v in rows)
    png = molecule_grid_png(graphs, vocab)
    grid = ("<p>no strictly valid molecule to draw</p>" if png is None else
            f'<img alt="samples" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    body = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>genlab demo</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td{{border:1px solid #ccc;padding:2px 10px}}td:nth-child(2){{text-align:right}}</style></head>
<body><h1>genlab demo: QM9</h1>
<p>config <code>{html.escape(str(config))}</code>; {metrics.get('n_samples')} samples judged on the raw
generated graphs (no valency correction).</p>
<h2>Metrics</h2><table>{table}</table>
<h2>Strictly valid samples</h2>{grid}
<h2>Protocol</h2><pre>{html.escape(json.dumps(metrics.get('protocol'), indent=1))}</pre>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return html.escape(str(v))
