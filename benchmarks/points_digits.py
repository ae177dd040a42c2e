"""Small CPU benchmark of every continuous family on 2D points and 8×8 digits.

For each (dataset, family): ``genlab train`` the shipped config with a fixed step budget,
``genlab sample`` N samples (seed 0), ``genlab evaluate`` them against the run's own held-out
split, and, where the family has ``log_likelihood`` (score SDE, flow matching), the NLL of held-out
items through the probability-flow ODE. Each command's wall time and CPU time (children's
user + sys) are recorded. Writes ``OUT/results.json`` and prints a Markdown table.

    OMP_NUM_THREADS=1 python benchmarks/points_digits.py --out runs/bench            # everything
    OMP_NUM_THREADS=1 python benchmarks/points_digits.py --out runs/bench --sets points --families pfgm

The budgets are tiny (minutes of CPU); the numbers rank families under that budget and are far
from the papers'.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genlab.paths import shipped_config

FAMILIES = ["ddpm", "ncsn", "score_sde_vp", "score_sde_subvp", "score_sde_ve", "pfgm", "flow_matching"]
LIKELIHOOD = {"score_sde_vp", "score_sde_subvp", "score_sde_ve", "flow_matching"}
ROOT = Path(__file__).resolve().parents[1]
CLI = "import sys; from genlab.cli.main import main; sys.exit(main(sys.argv[1:]))"

#: per data set: config folder, extra train overrides, training steps, samples, sampler steps per family
SETTINGS = {
    "points": {"configs": "points", "set": [], "steps": 1500, "n": 2000, "sample_steps": {},
               "nll_items": 500},
    "checkerboard": {"configs": "points", "set": ["data.dataset=checkerboard"], "steps": 1500, "n": 2000,
                     "sample_steps": {}, "nll_items": 500},
    # digits: step-based samplers shortened to ~100 network calls per sample (the defaults are ~1000)
    "digits": {"configs": "digits", "set": ["train.batch_size=64", "train.warmup_steps=50"], "steps": 400,
               "n": 297, "sample_steps": {"ddpm": 100, "ncsn": 10, "score_sde_vp": 50, "score_sde_ve": 50},
               "nll_items": 64},
}


def genlab(*args: str) -> tuple[float, float, str]:
    """Run ``genlab ARGS``; return (wall s, CPU s of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"genlab {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def held_out_nll(run_dir: Path, n_items: int) -> tuple[float, float, float]:
    """(mean NLL nats, mean bits/dim, wall s) of the first ``n_items`` held-out items."""
    from genlab.api import load

    start = time.perf_counter()
    run = load(run_dir)
    batch = run.reference(n_items)
    result = run.family.log_likelihood(batch, generator=torch.Generator().manual_seed(0))
    return float(result.nll_nats.mean()), float(result.bits_per_dim.mean()), time.perf_counter() - start


def baseline(name: str, out: Path) -> dict:
    """Data against data: a fresh draw of the set (points) or 297 training images (digits)."""
    from genlab.evaluation.registry import evaluator_for_file

    if name == "digits":
        from genlab.data.images import digits

        train = digits().train
        samples = torch.stack([train[i] for i in range(297)]).numpy()
        reference = "digits"
    else:
        from genlab.data.points import make_points

        dataset = "8gaussians" if name == "points" else name
        samples = make_points(dataset, SETTINGS[name]["n"], np.random.default_rng([0, 7]))
        reference = f"points:{dataset}"
    path = out / name / "baseline.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, samples=samples, nfe=np.int64(0))
    return evaluator_for_file(path).evaluate_file(path, reference)


def bench_one(name: str, family: str, out: Path, steps: int) -> dict:
    cfg = SETTINGS[name]
    run_dir = out / name / family
    overrides = [f"train.max_steps={steps}", *cfg["set"]]
    train_args = ["train", str(shipped_config(f"{cfg['configs']}/{family}.yaml")), "--out", str(run_dir), "--quiet"]
    for o in overrides:
        train_args += ["--set", o]
    row: dict = {"set": name, "family": family, "train_steps": steps, "overrides": overrides}
    row["train_wall_s"], row["train_cpu_s"], _ = genlab(*train_args)
    sample_file = run_dir / "samples" / "bench.npz"
    sample_args = ["sample", str(run_dir), "--n", str(cfg["n"]), "--out", str(sample_file), "--seed", "0", "--no-plot"]
    if family in cfg["sample_steps"]:
        sample_args += ["--steps", str(cfg["sample_steps"][family])]
    row["sample_wall_s"], row["sample_cpu_s"], _ = genlab(*sample_args)
    row["sample_command"] = "genlab " + " ".join(sample_args)
    eval_json = run_dir / "eval.json"
    genlab("evaluate", str(sample_file), "--reference", str(run_dir), "--json", str(eval_json))
    row["eval"] = json.loads(eval_json.read_text())
    row["nfe"] = row["eval"]["nfe"]
    if family in LIKELIHOOD:
        row["nll_nats"], row["bits_per_dim"], row["nll_wall_s"] = held_out_nll(run_dir, cfg["nll_items"])
        row["nll_items"] = cfg["nll_items"]
    return row


def table(rows: list[dict], baselines: dict) -> str:
    lines = []
    for name in dict.fromkeys(r["set"] for r in rows):
        digits = name == "digits"
        head = ("| family | FD ↓ | bits/dim (held-out) | NFE | train s (wall / CPU) | sample s (wall / CPU) |" if digits
                else "| family | sliced W1 ↓ | MMD² ↓ | far | NLL nats (held-out) | NFE | train s (wall / CPU) | sample s (wall / CPU) |")
        lines += [f"**{name}**", "", head, "|" + "---|" * (head.count("|") - 1)]
        for r in (r for r in rows if r["set"] == name):
            e = r["eval"]
            t = f"{r['train_wall_s']:.0f} / {r['train_cpu_s']:.0f}"
            s = f"{r['sample_wall_s']:.1f} / {r['sample_cpu_s']:.1f}"
            if digits:
                bpd = f"{r['bits_per_dim']:.3f}" if "bits_per_dim" in r else "-"
                lines.append(f"| {r['family']} | {e['fd']:.2f} | {bpd} | {r['nfe']} | {t} | {s} |")
            else:
                nll = f"{r['nll_nats']:.3f}" if "nll_nats" in r else "-"
                lines.append(f"| {r['family']} | {e['sliced_w1']:.4f} | {e['mmd2']:.5f} | {e['far_fraction']:.3f} "
                             f"| {nll} | {r['nfe']} | {t} | {s} |")
        b = baselines.get(name)
        if b is not None:
            lines.append(f"| *data vs data* | {b['fd']:.2f} | - | - | - | - |" if digits else
                         f"| *data vs data* | {b['sliced_w1']:.4f} | {b['mmd2']:.5f} | {b['far_fraction']:.3f} | - | - | - | - |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="/tmp/genlab_bench_points_digits")
    parser.add_argument("--sets", nargs="+", default=["points", "digits"], choices=list(SETTINGS))
    parser.add_argument("--families", nargs="+", default=FAMILIES, choices=FAMILIES)
    parser.add_argument("--steps", type=int, default=None, help="override every set's training steps")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    rows = json.loads(results_file.read_text())["rows"] if results_file.is_file() else []
    baselines = {}
    for name in args.sets:
        baselines[name] = baseline(name, out)
        for family in args.families:
            rows = [r for r in rows if (r["set"], r["family"]) != (name, family)]
            row = bench_one(name, family, out, args.steps or SETTINGS[name]["steps"])
            rows.append(row)
            print(f"{name} {family}: train {row['train_wall_s']:.0f}s, NFE {row['nfe']}", file=sys.stderr, flush=True)
            results_file.write_text(json.dumps({"rows": rows, "baselines": baselines}, indent=1))
    print(table(rows, baselines))


if __name__ == "__main__":
    main()
