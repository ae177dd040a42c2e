"""``genlab bench``: every family of one modality trained on the same budget, sampled and scored.

For each family config under ``configs/<modality>/`` and each seed ``s`` in ``0..seeds-1``, one
**row** is the plain library path, nothing bench-specific:

1. ``genlab.api.train(config, overrides)`` with the config's own ``train`` section, except
   ``train.max_steps`` (``--steps``) or ``train.max_minutes`` (``--budget-minutes``),
   ``train.seed = s`` and ``train.accelerator`` (``--device``);
2. ``run.sample(n, seed=s)``;
3. the samples written and scored by the evaluator of the run's modality
   (:data:`genlab.evaluation.registry.EVALUATORS`): points and digits against the run's held-out
   split; molecules as raw graphs (judged once, while writing them) against the test split.

Each row records training throughput (samples/s), wall time, sampling time per 10,000 samples and
the NFE, and is appended to ``OUT/results.json`` atomically as soon as it is done. A rerun with
the same :class:`BenchSettings` skips rows already there, so an interrupted bench resumes where
it stopped (a half-trained run directory of an unfinished row is started afresh).
``OUT/results.md`` and ``OUT/results.html`` show mean ± std over seeds; for qm9 and moses the published
numbers of :file:`genlab/data/anchors.json` stand beside genlab's rows with their validity notes.

A bench is a :class:`Suite` of :data:`SUITES`: its config folder, the configs it compares and
whether its rows sample. ``mnist-robust`` compares classifier training objectives (standard, PGD,
fast, TRADES) under one budget each; its rows draw no samples: step 2 is skipped, and step 3 is
the evaluator of the run (:func:`genlab.evaluation.registry.evaluator_for_run`) scoring clean and
robust accuracy on held-out images (:meth:`genlab.evaluation.classifier.ClassifierEvaluator.evaluate_run`).
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from genlab.errors import ConfigError, GenlabError
from genlab.evaluation.registry import evaluator_for, evaluator_for_dataset, evaluator_for_run
from genlab.paths import configs_dir
from genlab.utils.atomic import atomic_write_json, atomic_write_text, json_safe


@dataclass(frozen=True)
class Suite:
    """One bench: the families of ``configs/<folder>/`` (those named in ``configs``, or all but
    :data:`SKIPPED_CONFIGS`), whose trained runs are sampled (``samples``) or scored as they are."""

    folder: str
    configs: tuple[str, ...] | None = None
    samples: bool = True


#: bench name -> its suite; a generative bench is named after its config folder and the data its
#: evaluator scores
SUITES = {
    **{name: Suite(name) for name in ("qm9", "moses", "points", "digits")},
    "mnist-robust": Suite("mnist", ("classifier", "pgd_training", "fast_training", "trades"), samples=False),
}
#: the names ``genlab bench`` accepts
MODALITIES = tuple(SUITES)
#: configs in a modality folder that are not a family to compare (e.g. the short demo)
SKIPPED_CONFIGS = ("demo",)
#: table columns after the metric columns of the modality's evaluator; metrics not in a row are left blank
COST_COLUMNS = ("train_samples_per_s", "train_seconds", "sample_seconds_per_10k", "nfe")
#: the same for suites whose rows draw no samples (the evaluation's time is a metric column)
UNSAMPLED_COST_COLUMNS = ("train_samples_per_s", "train_seconds", "train_steps")


@dataclass(frozen=True)
class BenchSettings:
    """What makes two rows comparable; a row is reused on resume only if these are equal."""

    modality: str
    steps: int | None = None  # train.max_steps for every family
    budget_minutes: float | None = None  # or a wall-clock budget (train.max_minutes)
    samples: int = 10_000
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ConfigError(f"expected one of {', '.join(MODALITIES)}, got {self.modality!r}", key="modality")
        if (self.steps is None) == (self.budget_minutes is None):
            raise ConfigError("give exactly one of --steps and --budget-minutes")
        if self.samples < 2:
            raise ConfigError(f"need at least 2 samples, got {self.samples}", key="samples")

    def overrides(self, seed: int) -> dict[str, Any]:
        """The ``train`` overrides of one row (``api.train``'s ``overrides`` argument)."""
        budget: dict[str, Any] = ({"train.max_steps": self.steps} if self.steps is not None else
                                  {"train.max_steps": 10**9, "train.max_minutes": self.budget_minutes})
        return {**budget, "train.seed": seed, "train.accelerator": self.device}


@dataclass(frozen=True)
class BenchRow:
    """One family trained, sampled and scored with one seed."""

    family: str  # the config's file stem
    seed: int
    settings: dict[str, Any]  # BenchSettings as a dict
    train_steps: int
    train_seconds: float
    train_samples_per_s: float
    sample_seconds: float
    sample_seconds_per_10k: float
    nfe: int
    metrics: dict[str, Any]


def family_configs(modality: str, families: Iterable[str] | None = None,
                   root: str | Path | None = None) -> dict[str, Path]:
    """``{name: config path}`` of the suite's configs in ``root/<folder>/*.yaml`` (default root: the
    shipped configs); ``families`` picks some by name."""
    suite = SUITES[modality]
    folder = Path(root if root is not None else configs_dir()) / suite.folder
    found = {p.stem: p for p in sorted(folder.glob("*.yaml"))
             if p.stem not in SKIPPED_CONFIGS and (suite.configs is None or p.stem in suite.configs)}
    if not found:
        raise GenlabError("no family configs (*.yaml) here", path=folder)
    if families is None:
        return found
    unknown = [f for f in families if f not in found]
    if unknown:
        raise ConfigError(f"no config for {', '.join(unknown)}; known: {', '.join(found)}", key="families")
    return {f: found[f] for f in families}


def bench(settings: BenchSettings, out: str | Path, families: Iterable[str] | None = None, seeds: int = 1,
          configs_root: str | Path | None = None, progress: bool = False) -> list[BenchRow]:
    """Run (or resume) the bench into ``out``; returns every row of ``out/results.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = read_rows(out / "results.json")
    for name, path in family_configs(settings.modality, families, configs_root).items():
        for seed in range(seeds):
            if any(r.family == name and r.seed == seed and r.settings == dataclasses.asdict(settings) for r in rows):
                continue
            rows = [r for r in rows if not (r.family == name and r.seed == seed)]  # other settings: replaced
            rows.append(run_row(path, settings, seed, out / "runs" / f"{name}-seed{seed}", progress=progress))
            write_rows(out / "results.json", rows)
            write_tables(out, settings.modality, rows)
    write_tables(out, settings.modality, rows)
    return rows


def run_row(config: Path, settings: BenchSettings, seed: int, run_dir: Path, progress: bool = False) -> BenchRow:
    """Train, sample and evaluate one family with one seed (the same calls a user makes by hand)."""
    from genlab import api

    if run_dir.exists():  # left by an interrupted row: its settings may differ, start afresh
        shutil.rmtree(run_dir)
    start = time.perf_counter()
    run = api.train(config, run_dir, overrides=settings.overrides(seed), progress=progress)
    train_seconds = time.perf_counter() - start
    steps = _iterations(run_dir)
    batch_size = int(run.config["train"]["batch_size"])

    costs = dict(family=config.stem, seed=seed, settings=dataclasses.asdict(settings), train_steps=steps,
                 train_seconds=train_seconds, train_samples_per_s=steps * batch_size / train_seconds)
    if not SUITES[settings.modality].samples:  # scored as trained, on held-out data
        metrics = evaluator_for_run(run).evaluate_run(run, None, settings.modality, run_dir)
        return BenchRow(**costs, sample_seconds=0.0, sample_seconds_per_10k=0.0, nfe=0, metrics=metrics)
    start = time.perf_counter()
    result = run.sample(settings.samples, seed=seed)
    sample_seconds = time.perf_counter() - start
    metrics = evaluate_samples(run, result, settings.modality, run_dir)
    return BenchRow(**costs, sample_seconds=sample_seconds,
                    sample_seconds_per_10k=sample_seconds * 10_000 / settings.samples,
                    nfe=int(result.nfe), metrics=metrics)


def evaluate_samples(run: Any, result: Any, modality: str, run_dir: Path) -> dict[str, Any]:
    """The metrics of ``result`` by the evaluator of the run's modality (protocol and timings left
    out), against the data ``modality`` names; molecules are written to ``run_dir/samples/bench.*``
    on the way and scored with the verdicts made while writing them."""
    return evaluator_for(run.modality).evaluate_run(run, result, modality, run_dir / "samples" / "bench.safetensors")


# --- results files --------------------------------------------------------------------------------


def read_rows(path: Path) -> list[BenchRow]:
    if not path.is_file():
        return []
    try:
        return [BenchRow(**r) for r in json.loads(path.read_text(encoding="utf-8"))["rows"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise GenlabError(f"cannot read bench results: {exc}", path=path) from None


def write_rows(path: Path, rows: list[BenchRow]) -> None:
    atomic_write_json(path, {"rows": [json_safe(dataclasses.asdict(r)) for r in rows]})


def summary(rows: list[BenchRow], modality: str) -> list[tuple[str, int, dict[str, tuple[float, float] | None]]]:
    """``[(family, n_seeds, {column: (mean, std) or None})]``: std is 0 for one seed."""
    columns = _columns(modality)
    table = []
    for family in dict.fromkeys(r.family for r in rows):
        mine = [r for r in rows if r.family == family]
        cells: dict[str, tuple[float, float] | None] = {}
        for column in columns:
            values = [v for v in (_value(r, column) for r in mine) if v is not None]
            cells[column] = None if not values else (
                statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
        table.append((family, len(mine), cells))
    return table


def write_tables(out: Path, modality: str, rows: list[BenchRow]) -> None:
    """``results.md`` and ``results.html`` (mean ± std over seeds; anchors for molecules)."""
    # here, not at the top: `genlab --help` reads MODALITIES and should not load matplotlib
    from genlab.evaluation.report import _PAGE, _anchors, _section

    columns = _columns(modality)
    table = summary(rows, modality)
    anchors = [a for a in _anchors(modality) if any(k in a["metrics"] for k in columns)]
    md = ["| family | seeds | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    md += [f"| {family} | {n} | " + " | ".join(_pm(cells[c]) for c in columns) + " |" for family, n, cells in table]
    md += [f"| {a['name']} (published) | | " + " | ".join(_num(a["metrics"].get(c)) for c in columns) + " |"
           for a in anchors]
    notes = [f"- **{a['name']}**: {a['note']} Source: {a['source']}" for a in anchors]
    text = f"# genlab bench: {modality}\n\n" + "\n".join(md) + "\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")
    atomic_write_text(out / "results.md", text)

    head = "<tr><th>family</th><th>seeds</th>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>"
    body = [f"<tr><th>{html.escape(f)}</th><td>{n}</td>" + "".join(f"<td>{html.escape(_pm(cells[c]))}</td>"
            for c in columns) + "</tr>" for f, n, cells in table]
    body += [f"<tr><th>{html.escape(a['name'])} (published)</th><td></td>" + "".join(
             f"<td>{html.escape(_num(a['metrics'].get(c)))}</td>" for c in columns) + "</tr>" for a in anchors]
    notes_html = "".join(f"<p><b>{html.escape(a['name'])}</b>: {html.escape(a['note'])} Source: "
                         f"{html.escape(a['source'])}</p>" for a in anchors)
    from datetime import datetime, timezone

    from genlab import __version__

    page = _PAGE.format(title=html.escape(f"genlab bench: {modality}"), version=html.escape(__version__),
                        when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                        body=_section("Results (mean ± std over seeds)", f"<table>{head}{''.join(body)}</table>"
                                      + notes_html))
    atomic_write_text(out / "results.html", page)


def _metric_columns(modality: str) -> tuple[str, ...]:
    return evaluator_for_dataset(modality).columns(modality)


def _columns(modality: str) -> tuple[str, ...]:
    """A table's columns: the evaluator's metrics, then the costs of the suite's rows."""
    if SUITES[modality].samples:
        return _metric_columns(modality) + COST_COLUMNS
    return _metric_columns(modality) + ("eval_seconds",) + UNSAMPLED_COST_COLUMNS


def _value(row: BenchRow, column: str) -> float | None:
    value = getattr(row, column) if column in COST_COLUMNS + UNSAMPLED_COST_COLUMNS else row.metrics.get(column)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _pm(cell: tuple[float, float] | None) -> str:
    return "–" if cell is None else f"{_num(cell[0])} ± {_num(cell[1])}"


def _num(value: Any) -> str:
    if value is None:
        return "–"
    return "nan" if isinstance(value, float) and math.isnan(value) else f"{value:.4g}"



def _iterations(run_dir: Path) -> int:
    """Training iterations the run actually did (a time budget stops anywhere)."""
    from safetensors import safe_open

    with safe_open(str(run_dir / "weights.safetensors"), framework="pt") as f:
        return int((f.metadata() or {})["iteration"])
