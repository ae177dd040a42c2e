"""The published anchors of ``genlab/data/anchors.json``: every entry is sourced and noted, uses genlab's
own metric keys with values in range, and the bench tables show exactly its numbers in the right columns."""

from __future__ import annotations

import json
import math

import pytest

from genlab.evaluation.bench import _metric_columns, _num, write_tables
from genlab.metrics.evaluate import KEYS
from genlab.paths import package_file
from genlab.evaluation.report import _anchors

DATA = json.loads(package_file("anchors.json").read_text(encoding="utf-8"))
DATASETS = [k for k in DATA if k != "about"]
ENTRIES = [(d, a) for d in DATASETS for a in DATA[d]]
#: the numeric keys genlab's evaluate emits (``validity_corrected`` only with ``correct=True``)
METRIC_KEYS = set(KEYS) - {"n_samples", "n_valid", "properties", "protocol"} | {"validity_corrected"}
DISTANCES = {"fcd", "nspdk"}  # >= 0; every other metric is a fraction


def test_anchor_file_has_a_list_per_dataset():
    assert set(DATASETS) == {"qm9", "moses"}
    assert all(isinstance(DATA[d], list) and DATA[d] for d in DATASETS)
    assert all(f"'{d}'" in DATA["about"] for d in DATASETS)


@pytest.mark.parametrize("dataset,anchor", ENTRIES, ids=[f"{d}-{a['name']}" for d, a in ENTRIES])
def test_every_anchor_is_sourced_noted_and_in_range(dataset, anchor):
    for field in ("name", "paper", "note", "source"):
        assert isinstance(anchor[field], str) and anchor[field].strip(), field
    assert isinstance(anchor["metrics"], dict)
    assert "validity" in anchor["note"].lower()  # which validity definition the numbers use
    if not anchor["metrics"]:
        assert "not confirmed" in anchor["note"]
    for key, value in anchor["metrics"].items():
        assert key in METRIC_KEYS, key
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), key
        assert value >= 0 if key in DISTANCES else 0 <= value <= 1, (key, value)


def test_names_are_unique_per_dataset():
    for d in DATASETS:
        names = [a["name"] for a in DATA[d]]
        assert len(names) == len(set(names)), d


def test_anchors_are_the_sourced_entries_of_one_dataset():
    assert [a["name"] for a in _anchors()] == [a["name"] for a in DATA["qm9"] if a["metrics"]]  # default: QM9
    moses = [a["name"] for a in _anchors("moses")]
    assert moses == [a["name"] for a in DATA["moses"] if a["metrics"]]
    assert {"CharRNN", "VAE", "AAE", "JTN-VAE", "LatentGAN"} <= set(moses)
    assert _anchors("points") == []


def table(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """Header cells and ``{first cell: cells}`` of the markdown table in ``text``."""
    lines = [line for line in text.splitlines() if line.startswith("|") and not line.startswith("|---")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return cells[0], {row[0]: row for row in cells[1:]}


@pytest.mark.parametrize("modality", ["qm9", "moses"])
def test_bench_table_shows_every_anchor_number_in_its_column(modality, tmp_path):
    write_tables(tmp_path, modality, [])  # no genlab rows: only the anchors
    md = (tmp_path / "results.md").read_text(encoding="utf-8")
    header, rows = table(md)
    shown = _anchors(modality)
    assert shown and len(rows) == len(shown)
    for anchor in shown:
        row = rows[f"{anchor['name']} (published)"]
        for column in _metric_columns(modality):
            assert row[header.index(column)] == _num(anchor["metrics"].get(column)), (anchor["name"], column)
        assert set(anchor["metrics"]) <= set(header), anchor["name"]  # no published number left out
        assert f"- **{anchor['name']}**: {anchor['note']} Source: {anchor['source']}" in md
    page = (tmp_path / "results.html").read_text(encoding="utf-8")
    assert all(f"{a['name']} (published)" in page for a in shown)


def test_bench_tables_without_anchors_have_none(tmp_path):
    write_tables(tmp_path, "points", [])
    assert "(published)" not in (tmp_path / "results.md").read_text(encoding="utf-8")
