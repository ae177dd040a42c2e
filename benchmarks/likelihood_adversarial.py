"""Likelihood and adversarial families on 2D points (8gaussians): held-out NLL, sliced
Wasserstein-1 and mode coverage; on 8×8 digits: Fréchet distance and bits/dim.

    OMP_NUM_THREADS=1 python benchmarks/likelihood_adversarial.py --out runs/bench_la

Each shipped config ``configs/points/<name>.yaml`` is trained with ``genlab.api.train`` (its
``train.max_steps`` replaced by ``--steps`` when given, so the script fits a small CPU budget),
then 5,000 samples (seed 0) are compared with the 5,000 held-out points:

* ``nll``: mean −log p(x) in nats over the first ``--n-nll`` held-out points — exact for RealNVP,
  the ODE with exact trace for FFJORD, the IWAE bound with K = 256 for the VAE (an upper bound on
  the true NLL). The data-generating mixture itself scores ≈ 1.70 nats (printed as ``truth``).
* ``sw1``: sliced Wasserstein-1 to the held-out set (:mod:`genlab.metrics.points`); ``truth`` is
  a fresh draw of 5,000 points from the data distribution.
* ``coverage``: the fraction of samples whose nearest of the 8 mode centres (radius 2.5, angles
  kπ/4) is each mode, and ``min_mode`` = the smallest of the 8 (1/8 = 0.125 is perfect balance);
  ``on_mode`` is the fraction of samples within 3σ = 0.6 of their nearest centre.

Results go to ``OUT/results.json`` and are printed as a table.

``--data digits`` runs the same families on 8×8 digits (``configs/digits/<name>.yaml``; no weight-
clipping WGAN config there) with the protocol of the digits table of ``points_digits.py``, whose
commands it reuses: ``genlab train`` with batch 64 and a 50-step warm-up, ``genlab sample`` 297
digits (seed 0), ``genlab evaluate`` against the run's 297 held-out digits (Fréchet distance of
the digits CNN's features), each command's wall and CPU time. Where the family has a likelihood,
bits/dim of the first ``--n-nll`` (default 64) held-out digits per stored-integer dimension (17
grey levels): RealNVP exact and FFJORD through the ODE with the exact trace, both on dequantised
digits (a lower bound on the bins' log-probability); the VAE's IWAE bound with K = 256 on the
discretised logistic's bin probabilities. Results go to ``OUT/digits_results.json``.

    OMP_NUM_THREADS=1 python benchmarks/likelihood_adversarial.py --data digits --out runs/bench_la_d
    OMP_NUM_THREADS=1 python benchmarks/likelihood_adversarial.py --data digits --out runs/bench_la_d1k \
        --only vae aae gan wgan_gp --steps '{"vae": 1000, "aae": 1000, "gan": 1000, "wgan_gp": 1000}'
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from pathlib import Path

import numpy as np
import torch

from genlab.api import read_config, train
from genlab.data.points import make_points
from genlab.metrics.points import sliced_wasserstein
from genlab.paths import shipped_config
NAMES = ("realnvp", "ffjord", "vae", "aae", "gan", "wgan", "wgan_gp")
DIGITS_NAMES = ("realnvp", "ffjord", "vae", "aae", "gan", "wgan_gp")  # configs/digits/ has no "wgan"
DIGITS_STEPS = 300  # the digits table's training steps (batch 64)
CENTRES = 2.5 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=1)  # (8, 2)


def mixture_nll(x: np.ndarray, std: float = 0.2) -> float:
    """Mean −log p(x) under the true 8-Gaussian mixture (equal weights, std 0.2)."""
    sq = ((x[:, None, :] - CENTRES[None]) ** 2).sum(-1)  # (N, 8)
    log_comp = -0.5 * sq / std**2 - math.log(2 * math.pi * std**2) - math.log(8)
    m = log_comp.max(1, keepdims=True)
    return float(-(m[:, 0] + np.log(np.exp(log_comp - m).sum(1))).mean())


def coverage(samples: np.ndarray) -> dict[str, float | list[float]]:
    sq = ((samples[:, None, :] - CENTRES[None]) ** 2).sum(-1)  # (N, 8)
    nearest = sq.argmin(1)
    fractions = np.bincount(nearest, minlength=8) / len(samples)
    on_mode = float((np.sqrt(sq.min(1)) < 0.6).mean())
    return {"per_mode": [round(float(f), 4) for f in fractions], "min_mode": float(fractions.min()), "on_mode": on_mode}


def held_out_likelihood(run, heldout: torch.Tensor):
    """The family's ``LikelihoodResult`` on ``heldout`` (the VAE's IWAE bound with K = 256;
    dequantisation noise and probes seeded), or ``None`` for a family without a likelihood."""
    family = run.family
    if not hasattr(family, "log_likelihood"):
        return None
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if type(family).__name__ == "VAEFamily":
            return family.log_likelihood(heldout, n_importance=256, generator=generator)
        return family.log_likelihood(heldout, generator=generator)


def held_out_nll(run, heldout: torch.Tensor) -> float | None:
    result = held_out_likelihood(run, heldout)
    return None if result is None else float(result.nll_nats.mean())


def bench_digits(args: argparse.Namespace) -> None:
    """The ``--data digits`` table: see the module docstring."""
    from genlab.api import load
    from points_digits import baseline, bench_one  # the digits table's commands and timing

    results_path = args.out / "digits_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["data vs data"] = {"eval": baseline("digits", args.out)}
    for name in args.only:
        row = bench_one("digits", name, args.out, args.steps.get(name, DIGITS_STEPS))
        start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        run = load(args.out / "digits" / name)
        likelihood = held_out_likelihood(run, run.reference(args.n_nll))
        if likelihood is not None:
            after = resource.getrusage(resource.RUSAGE_SELF)
            row.update(nll_nats=float(likelihood.nll_nats.mean()), bits_per_dim=float(likelihood.bits_per_dim.mean()),
                       nll_items=args.n_nll, nll_nfe=int(likelihood.nfe),
                       nll_wall_s=time.perf_counter() - start,
                       nll_cpu_s=(after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime))
        results[name] = row
        results_path.write_text(json.dumps(results, indent=1))
        print(name, f"FD {row['eval']['fd']:.2f}", f"bits/dim {row.get('bits_per_dim', '-')}", flush=True)

    print("\n| model | steps | FD ↓ | bits/dim (held-out) | NFE | train s (wall / CPU) | sample s (wall / CPU) "
          "| bits/dim s (wall / CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if "train_steps" not in r:
            continue
        bpd = f"{r['bits_per_dim']:.3f}" if "bits_per_dim" in r else "–"
        nll_s = f"{r['nll_wall_s']:.1f} / {r['nll_cpu_s']:.1f}" if "nll_wall_s" in r else "–"
        print(f"| {name} | {r['train_steps']} | {r['eval']['fd']:.2f} | {bpd} | {r['nfe']} "
              f"| {r['train_wall_s']:.0f} / {r['train_cpu_s']:.0f} | {r['sample_wall_s']:.1f} / {r['sample_cpu_s']:.1f} "
              f"| {nll_s} |")
    print(f"| *data vs data* | – | {results['data vs data']['eval']['fd']:.2f} | – | – | – | – | – |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_likelihood_adversarial"))
    parser.add_argument("--data", choices=("points", "digits"), default="points")
    parser.add_argument("--only", nargs="*", default=None, choices=NAMES,
                        help="families (default: all of the data set's)")
    parser.add_argument("--steps", type=json.loads, default={},
                        help='per-config train.max_steps, JSON: \'{"ffjord": 500}\' (default: the configs\' '
                             f'for points, {DIGITS_STEPS} for digits)')
    parser.add_argument("--n-nll", type=int, default=None, help="held-out items for the NLL (points 2000, digits 64)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.data == "digits":
        args.only = list(DIGITS_NAMES) if args.only is None else args.only
        args.n_nll = args.n_nll or 64
        if "wgan" in args.only:
            parser.error("configs/digits/ has no weight-clipping WGAN config")
        return bench_digits(args)
    args.only = list(NAMES) if args.only is None else args.only
    args.n_nll = args.n_nll or 2000
    results_path = args.out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}

    fresh = make_points("8gaussians", 5000, np.random.default_rng(123)).astype(np.float32)
    for name in args.only:
        overrides = {"train.max_steps": args.steps[name]} if name in args.steps else {}
        config = read_config(shipped_config(f"points/{name}.yaml"), overrides)
        start = time.time()
        run = train(config, args.out / f"{name}_{config['train']['max_steps']}", progress=False)
        train_s = time.time() - start
        heldout = run.reference(5000)  # (5000, 2)
        samples = run.sample(5000, seed=0).samples.numpy()
        if name == NAMES[0] or "truth" not in results:
            results["truth"] = {"nll": mixture_nll(heldout[: args.n_nll].numpy()),
                                "sw1": sliced_wasserstein(fresh, heldout.numpy()), **coverage(fresh)}
        results[name] = {
            "max_steps": config["train"]["max_steps"], "train_s": round(train_s, 1),
            "nll": held_out_nll(run, heldout[: args.n_nll]),
            "sw1": sliced_wasserstein(samples, heldout.numpy()), **coverage(samples),
        }
        results_path.write_text(json.dumps(results, indent=2))
        print(name, json.dumps(results[name]), flush=True)

    print(f"\n{'model':10s} {'steps':>6s} {'nll':>7s} {'sw1':>7s} {'min_mode':>8s} {'on_mode':>7s} {'train_s':>8s}")
    for name, r in results.items():
        nll = "-" if r.get("nll") is None else f"{r['nll']:.3f}"
        print(f"{name:10s} {r.get('max_steps', '-')!s:>6s} {nll:>7s} {r['sw1']:7.4f} {r['min_mode']:8.3f} "
              f"{r['on_mode']:7.3f} {r.get('train_s', '-')!s:>8s}")


if __name__ == "__main__":
    main()
