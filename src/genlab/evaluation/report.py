"""``genlab report RUN``: one self-contained HTML page about a run or a folder of samples.

The page holds, where the folder has them:

* for a classifier run evaluated under attacks (``RUN/robustness.json`` of ``genlab evaluate RUN
  --attack ...``), first: the headline numbers (clean accuracy, robust accuracy per attack, the
  backdoor's trigger success), robust accuracy against ε, and a grid of clean images, their
  adversarial versions and the perturbations (:mod:`genlab.evaluation.robustness_plots`);
* the resolved config (``RUN/config.json``);
* training curves drawn from ``RUN/logs/metrics.csv``;
* the metric table (``RUN/metrics.json`` or a ``genlab evaluate --json`` file in ``RUN`` or
  ``RUN/samples``); for molecules beside the published numbers of :file:`genlab/data/anchors.json`,
  each under the validity definition its paper used;
* samples: ``*.smi`` and ``*.npz`` sample files, each drawn by its modality's evaluator
  (:mod:`genlab.evaluation.registry`): a grid of molecules drawn by RDKit, point clouds or image
  grids (:mod:`genlab.evaluation.plots`);
* every PNG already written beside them (property histograms of ``genlab evaluate``, ``RUN/plots``).

Images are embedded as base64 PNG; the page loads nothing from anywhere and runs no script.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from genlab import __version__
from genlab.errors import GenlabError
from genlab.evaluation.registry import evaluator_for_file
from genlab.paths import package_file
from genlab.utils.atomic import atomic_write_text

#: evaluate keys shown in the metric table, in order
TABLE_KEYS = ("n_samples", "validity", "validity_relaxed", "validity_fragment_free", "validity_corrected",
              "uniqueness", "novelty", "fcd", "nspdk", "snn", "frag", "scaf", "intdiv1", "intdiv2", "filters")
#: sample files drawn in the samples section, in this order within each folder
SAMPLE_FILES = ("*.smi", "*.npz")


def build_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of ``folder`` (a run directory or a folder of samples); returns its path."""
    root = Path(folder)
    if not root.is_dir():
        raise GenlabError("no such run directory", path=root)
    out = root / "report.html" if out is None else Path(out)
    sections = [
        _robustness_section(root),
        _config_section(root),
        _curves_section(root / "logs" / "metrics.csv"),
        _metrics_section(root),
        _samples_section(root),
        _figures_section(root, exclude=out),
    ]
    body = "\n".join(s for s in sections if s)
    if not body:
        raise GenlabError("nothing to report: no config.json, logs, metrics or samples", path=root)
    title = f"genlab report: {root.resolve().name}"
    page = _PAGE.format(title=html.escape(title), version=html.escape(__version__),
                        when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), body=body)
    return atomic_write_text(out, page)


# --- sections ----------------------------------------------------------------------------------


def _robustness_section(root: Path) -> str:
    # here, not at the top: the attacks (and SciPy) load only for a classifier run's report
    from genlab.evaluation.classifier import ROBUSTNESS_EXAMPLES, ROBUSTNESS_FILE, describe
    from genlab.evaluation.robustness_plots import plot_examples, plot_robust_accuracy

    path = root / ROBUSTNESS_FILE
    if not path.is_file():
        return ""

    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        attacks = result["attacks"]
    except (ValueError, KeyError, TypeError) as exc:
        raise GenlabError(f"not a robustness result: {exc}", path=path) from None
    rows = [f"<tr><th>clean accuracy</th><td colspan=4>{_fmt(result['clean_accuracy'])}</td></tr>"]
    if attacks:
        rows.append("<tr><th>attack</th><th>robust accuracy</th><th>success rate</th><th>fooling rate</th>"
                    "<th>mean L2 / L∞ of successes</th></tr>")
    for a in attacks:
        rows.append(f"<tr><th>{html.escape(describe(a))}{' (transfer)' if a['kind'] == 'transfer' else ''}</th>"
                    f"<td>{_fmt(a['robust_accuracy'])}</td><td>{_fmt(a['success_rate'])}</td>"
                    f"<td>{_fmt(a['fooling_rate'])}</td><td>{_fmt(a['mean_l2'])} / {_fmt(a['mean_linf'])}</td></tr>")
    if "backdoor" in result:
        b = result["backdoor"]
        rows.append(f"<tr><th>backdoor trigger success (class {b['target']})</th>"
                    f"<td colspan=4>{_fmt(b['trigger_success'])} of {b['n_images']} images</td></tr>")
    parts = [f"<p>{result['n_images']} held-out images; from <code>{ROBUSTNESS_FILE}</code>.</p>",
             f"<table>{''.join(rows)}</table>"]
    curve = plot_robust_accuracy(result)
    if curve:
        parts.append(_img(curve, "robust accuracy against the attack radius"))
    examples_path = root / ROBUSTNESS_EXAMPLES
    if examples_path.is_file():
        from safetensors import safe_open

        with safe_open(str(examples_path), framework="pt") as f:
            examples = {k: f.get_tensor(k) for k in f.keys()}
            title = (f.metadata() or {}).get("attack", "")
        parts.append(_img(plot_examples(examples, title), "clean, adversarial and perturbation images"))
    return _section("Robustness", "".join(parts))


def _config_section(root: Path) -> str:
    path = root / "config.json"
    if not path.is_file():
        return ""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise GenlabError(f"invalid JSON: {exc}", path=path) from None
    return _section("Resolved config", f"<pre>{html.escape(json.dumps(config, indent=2))}</pre>")


def _curves_section(path: Path) -> str:
    if not path.is_file():
        return ""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    series: dict[str, tuple[list[float], list[float]]] = {}
    for row in rows:
        if not row.get("step"):
            continue
        for key, value in row.items():
            if key in ("epoch", "step") or value in ("", None):
                continue
            steps, values = series.setdefault(key, ([], []))
            steps.append(float(row["step"]))
            values.append(float(value))
    if not series:
        return ""
    names = sorted(series)
    cols = min(3, len(names))
    fig = Figure(figsize=(4.2 * cols, 3.0 * math.ceil(len(names) / cols)), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(math.ceil(len(names) / cols), cols, i + 1)
        steps, values = series[name]
        ax.plot(steps, values, lw=1.2, marker="." if len(steps) < 30 else None)
        ax.set(title=name, xlabel="step")
        ax.grid(alpha=0.3)
    return _section("Training curves", _img(_png(fig), f"training curves from {path.name}"))


def _metrics_section(root: Path) -> str:
    result, source = _find_metrics(root)
    if result is None:
        return ""
    reference = str(((result.get("protocol") or {}).get("reference") or {}).get("name", ""))
    anchors = _anchors("moses" if reference.startswith("moses") else "qm9") if "validity" in result else []
    head = "<tr><th>metric</th><th>this run</th>" + "".join(
        f"<th>{html.escape(a['name'])}</th>" for a in anchors) + "</tr>"
    rows = []
    keys = [k for k in TABLE_KEYS if k in result] or [k for k, v in result.items() if _is_number(v)]
    for key in keys:
        cells = [f"<td>{_fmt(result.get(key))}</td>"] + [
            f"<td>{_fmt(a['metrics'].get(key))}</td>" for a in anchors]
        rows.append(f"<tr><th>{html.escape(key)}</th>{''.join(cells)}</tr>")
    for name, value in (result.get("properties") or {}).items():
        rows.append(f"<tr><th>{html.escape(name)}</th><td>{_fmt(value)}</td>{'<td></td>' * len(anchors)}</tr>")
    notes = [f"<p>From <code>{html.escape(str(source.relative_to(root)))}</code>.</p>"]
    for a in anchors:
        notes.append(f"<p><b>{html.escape(a['name'])}</b>: {html.escape(a['note'])} Source: "
                     f"{html.escape(a['source'])} (not a link; the page loads nothing).</p>")
    return _section("Metrics", f"<table>{head}{''.join(rows)}</table>" + "".join(notes))


def _samples_section(root: Path) -> str:
    parts = []
    for folder in (root / "samples", root):
        files = [p for pattern in SAMPLE_FILES for p in sorted(folder.glob(pattern))] if folder.is_dir() else []
        for path in files:
            try:
                evaluator = evaluator_for_file(path)
            except GenlabError:  # an unreadable file is left out of the page
                continue
            image = evaluator.draw_file(path)
            if image:
                alt = f"{evaluator.drawing} of {path.name}"
                parts.append(f"<h3>{html.escape(path.name)}</h3>" + _img(image, alt))
    return _section("Samples", "".join(parts)) if parts else ""


def _figures_section(root: Path, exclude: Path) -> str:
    pngs = sorted({*root.glob("*.png"), *(root / "samples").glob("*.png"), *(root / "plots").glob("*.png")})
    parts = [f"<h3>{html.escape(p.name)}</h3>" + _img(p.read_bytes(), p.name) for p in pngs if p != exclude]
    return _section("Figures", "".join(parts)) if parts else ""


# --- helpers -------------------------------------------------------------------------------------


def _find_metrics(root: Path) -> tuple[dict[str, Any] | None, Path | None]:
    candidates = [root / "metrics.json", *sorted(root.glob("*.json")), *sorted((root / "samples").glob("*.json"))]
    for path in candidates:
        if not path.is_file() or path.name in ("config.json",):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and any(_is_number(data.get(k)) for k in TABLE_KEYS + ("n_samples",)):
            return data, path
        if isinstance(data, dict) and path.name == "metrics.json":
            return data, path
    return None, None


def _anchors(dataset: str = "qm9") -> list[dict[str, Any]]:
    """Published numbers for ``dataset`` (``qm9``, ``moses``) with a confirmed source, ``[]`` for any other
    (see ``genlab/data/anchors.json``)."""
    data = json.loads(package_file("anchors.json").read_text(encoding="utf-8"))
    return [a for a in data.get(dataset, []) if a.get("metrics")]


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _section(title: str, content: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{content}</section>"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return html.escape(str(value))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }}
h1 {{ font-size: 1.5em; }} h2 {{ border-bottom: 1px solid #ccc; padding-bottom: .2em; }}
pre {{ background: #f6f6f6; padding: 1em; overflow: auto; max-height: 30em; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: .25em .6em; text-align: right; }}
th:first-child {{ text-align: left; }} img {{ max-width: 100%; display: block; margin: .5em 0; }}
</style></head>
<body><h1>{title}</h1><p>genlab {version}, written {when}.</p>
{body}
</body></html>
"""
