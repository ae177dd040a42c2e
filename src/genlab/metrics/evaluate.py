"""``genlab evaluate``: one metric suite for every generator, SMILES files and raw graphs alike.

Protocol (recorded in the output's ``protocol`` key):

1. every sample is judged under the three validity definitions (:mod:`genlab.chem.validity`);
   in a SMILES file every line is a sample, a blank or unparsable one an invalid sample
   (``n_blank`` counts the blank ones), so a ``genlab sample`` SMILES file and its graph file
   give the same validity;
2. the molecules that are scored further are the strictly valid ones (default) or, with
   ``correct=True``, every sample after the MoFlow/GDSS valency correction (the protocol of the
   GDSS/MoFlow papers' FCD and NSPDK columns);
3. ``uniqueness`` = distinct canonical SMILES / scored molecules; ``novelty`` = distinct scored
   molecules absent from the training set / distinct scored molecules (MOSES's definition);
4. FCD, NSPDK, SNN, Frag, Scaf, IntDiv1/2, Filters and the property distances are computed on
   all scored molecules (duplicates included, as MOSES does) against the reference set, whose
   statistics are cached (:mod:`genlab.metrics.reference_cache`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from genlab import __version__
from genlab.metrics.properties import plot_property_histograms
from genlab.metrics.molecule_sets import resolve
from genlab.metrics.reference_cache import PARTS, reference_stats
from genlab.metrics.reference_comparison import compare_to_reference
from genlab.metrics.samples import JudgedSamples, judge_file

#: the keys of the evaluation JSON, in table order
KEYS = ("n_samples", "n_valid", "validity", "validity_relaxed", "validity_fragment_free", "uniqueness",
        "novelty", "fcd", "nspdk", "snn", "frag", "scaf", "intdiv1", "intdiv2", "filters", "properties", "protocol")

VALIDITY_DEFINITIONS = {
    "validity": "raw graph passes full RDKit sanitization with its own charges and is one connected molecule",
    "validity_relaxed": "GDSS 'without correction': neutral N/O/S one bond order over valence get +1; "
                        "RDKit valence check; fragments allowed",
    "validity_fragment_free": "MoFlow/GraphNVP: after the +1 rule the SMILES parses again and has no '.'",
}


#: references larger than this skip NSPDK unless asked (its cost on MOSES: docs/benchmarks.md)
NSPDK_AUTO_LIMIT = 50_000


def evaluate(samples: str | Path | JudgedSamples, *, reference: str, train: str | None = None,
             correct: bool = False, plot: str | Path | None = None, nspdk: bool | None = None,
             workers: int = 1) -> dict[str, Any]:
    """Evaluate generated molecules; returns the JSON-able result (keys :data:`KEYS` plus extras).

    ``samples``: a SMILES file, a genlab graph-sample ``.safetensors`` file, or already judged
    samples (:class:`~genlab.metrics.samples.JudgedSamples`, e.g. from the molecule writer, so
    samples that were judged once are not judged again). ``reference``: ``qm9``, ``moses`` (their test splits) or a molecule file.
    ``train``: ``qm9``, ``moses`` (training splits) or a file, for novelty; ``None`` -> no novelty.
    ``plot``: where to write the property-histogram PNG (optional).
    ``nspdk``: compute NSPDK MMD; ``None`` = only for references of at most
    :data:`NSPDK_AUTO_LIMIT` molecules (GDSS reports it for QM9, not for MOSES).
    ``workers``: processes for the RDKit/EDeN metrics beside the torch ones (1 suits 2 cores).
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    judged = samples if isinstance(samples, JudgedSamples) else judge_file(samples)
    seconds["validity"] = time.perf_counter() - start

    verdicts = judged.verdicts
    if correct:
        scored = [v.corrected_smiles for v in verdicts if v.corrected_smiles]
    else:
        scored = [v.smiles for v in verdicts if v.valid]
    result: dict[str, Any] = {
        "n_samples": judged.n,
        "n_valid": sum(v.valid for v in verdicts),
        "validity": judged.fraction("valid"),
        "validity_relaxed": judged.fraction("valid_relaxed"),
        "validity_fragment_free": judged.fraction("valid_fragment_free"),
    }
    if correct:
        result["validity_corrected"] = len(scored) / judged.n if judged.n else 0.0
    distinct = set(scored)
    result["uniqueness"] = len(distinct) / len(scored) if scored else 0.0

    t = time.perf_counter()
    train_set = resolve(train, "train") if train else None
    result["novelty"] = (len(distinct - set(train_set.smiles)) / len(distinct)
                         if train_set is not None and distinct else None)
    seconds["novelty"] = time.perf_counter() - t

    t = time.perf_counter()
    ref_set = resolve(reference, "test")
    use_nspdk = len(ref_set.smiles) <= NSPDK_AUTO_LIMIT if nspdk is None else nspdk
    parts = PARTS if use_nspdk else tuple(p for p in PARTS if p != "nspdk")
    ref = reference_stats(ref_set.smiles, name=ref_set.name, parts=parts)
    seconds["reference"] = time.perf_counter() - t
    if len(scored) >= 2:
        cmp = compare_to_reference(ref, scored, workers=workers, nspdk=use_nspdk)
        result.update(fcd=cmp.fcd, nspdk=cmp.nspdk, snn=cmp.snn, frag=cmp.frag, scaf=cmp.scaf,
                      intdiv1=cmp.int_div1, intdiv2=cmp.int_div2, filters=cmp.filters,
                      properties={f"{k}_w1": v for k, v in cmp.property_w1.items()})
        for key in ("fcd", "nspdk", "snn", "frag", "scaf", "intdiv1", "intdiv2", "filters"):
            if isinstance(result[key], float) and not math.isfinite(result[key]):
                result[key] = None  # undefined (e.g. Scaf without any two-ring scaffold): JSON null
        seconds.update({f"metric_{k}": v for k, v in cmp.seconds.items()})
        if plot is not None:
            t = time.perf_counter()
            plot_property_histograms(cmp.gen_properties, ref.properties, plot)
            seconds["plot"] = time.perf_counter() - t
    else:  # fewer than two molecules to score: distribution metrics are undefined
        result.update(fcd=None, nspdk=None, snn=None, frag=None, scaf=None, intdiv1=None, intdiv2=None,
                      filters=None, properties=None)

    result["protocol"] = {
        "genlab_version": __version__,
        "input": judged.kind,
        "correction": "MoFlow/GDSS valency correction + largest fragment" if correct else "none",
        "scored_molecules": "all samples after correction" if correct else "strictly valid samples",
        "n_scored": len(scored),
        "validity_definitions": VALIDITY_DEFINITIONS,
        "reference": {"name": ref_set.name, "n": len(ref_set.smiles)},
        "train": None if train_set is None else {"name": train_set.name, "n": len(train_set.smiles)},
        "novelty": "distinct scored molecules not in the training set / distinct scored molecules (MOSES)",
        "blank_lines": "in a SMILES file every line is one sample; a blank line is an invalid sample",
        "fcd": "fcd_torch 1.0.7, its bundled ChemNet, on canonical SMILES",
        "nspdk": ("EDeN NSPDK, complexity 4, discrete atom-symbol and bond-order labels; MMD^2 with the linear kernel (GDSS)"
                  if use_nspdk else "not computed (reference larger than NSPDK_AUTO_LIMIT; pass nspdk=True / --nspdk)"),
        "moses": "SNN/IntDiv: Morgan r=2 1024 bits, Tanimoto; Frag: BRICS; Scaf: Bemis-Murcko; Filters: MCF + PAINS + MOSES rules",
    }
    result["malformed"] = judged.malformed[:100]
    result["n_malformed"] = len(judged.malformed)
    result["n_blank"] = judged.n_blank
    result["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    result["seconds"]["total"] = round(time.perf_counter() - start, 3)
    return result


def format_table(result: dict[str, Any]) -> str:
    """A two-column text table of the headline numbers (for SMILES input also the number of blank
    lines counted as invalid samples)."""
    rows = []
    for key in KEYS[:-1]:
        value = result.get(key)
        if key == "properties":
            for name, v in (value or {}).items():
                rows.append((f"  {name}", v))
            continue
        rows.append((key, value))
        if key == "n_valid" and (result.get("protocol") or {}).get("input") == "smiles":
            rows.append(("n_blank (invalid)", result.get("n_blank")))
        if key == "validity_fragment_free" and "validity_corrected" in result:
            rows.append(("validity_corrected", result["validity_corrected"]))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {_fmt(v)}" for k, v in rows]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)
