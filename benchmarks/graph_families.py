"""One-shot graph families on QM9 under a small CPU budget: GraphNVP, MPGVAE, graph AAE, MolGAN.

    OMP_NUM_THREADS=1 python benchmarks/graph_families.py --family graphnvp --out runs/bench
    OMP_NUM_THREADS=1 python benchmarks/graph_families.py --family graphnvp --out runs/bench --eval-only

Each family trains from ``configs/qm9/<config>.yaml`` through genlab's trainer with the CPU-budget
overrides of :data:`BUDGET` (fewer/narrower layers, smaller batches, 250-3,000 steps: minutes
on one CPU thread, where the papers train for hours on a GPU), then draws ``--n`` samples with a
fixed seed and judges the raw graphs (no valency fixing) with
:func:`genlab.metrics.samples.judge_graphs`. Uniqueness and novelty follow ``genlab evaluate``:
over the strictly valid molecules, novelty against the full QM9 training split. The result is
printed and written to ``OUT/<family>/metrics.json``. For a family with a Gaussian posterior
(MPGVAE) it also reports, over the first 1,000 held-out molecules, the mean KL(q(z | G) ‖ N(0, I))
in nats and the active latent units (Burda et al. 2016, §5.2: Cov_G(E_q[z_j]) > 0.01); a collapsed
posterior has KL ≈ 0 and no active units.

``--set section.key=value`` changes the config after the budget overrides (e.g.
``--set family.kl_warmup=300``), so settings can be compared without editing :data:`BUDGET`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import yaml

from genlab.api import load, read_config, train
from genlab.data.molecule_cache import load_molecules
from genlab.generative.families.kl_schedule import gaussian_kl
from genlab.metrics.samples import judge_graphs
from genlab.paths import shipped_config

#: family -> (config file, overrides applied to it for the CPU budget)
BUDGET: dict[str, tuple[str, dict]] = {
    "graphnvp": ("graphnvp", {"network": {"adj_couplings": 9, "node_couplings": 18},
                              "train": {"batch_size": 64, "max_steps": 250, "warmup_steps": 20}}),
    # free bits and lr 3e-3 over 3,000 steps: the best of the settings measured on 2026-11-21 (600 steps
    # at lr 1e-3 with β = 1 or a 300-step KL warm-up collapsed the posterior to KL ≈ 0.004 nats)
    "mpgvae": ("mpgvae", {"family": {"free_bits": 0.1},
                          "network": {"encoder": {"hidden": 64}, "decoder": {"hidden": 64, "edge_hidden": 32}},
                          "train": {"batch_size": 32, "max_steps": 3000, "lr": 0.003}}),
    "aae": ("aae", {"network": {"encoder": {"hidden": 64}, "decoder": {"hidden": 64, "edge_hidden": 32}},
                    "train": {"batch_size": 32, "max_steps": 600, "lr": 0.001}}),
    "molgan": ("molgan", {"train": {"batch_size": 32, "max_steps": 1500}}),
}


def merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base.get(k, {}), v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def judge(atoms, adj, vocab, train_smiles: set[str]) -> dict[str, float]:
    judged = judge_graphs(atoms, adj, vocab, workers=1)
    scored = [v.smiles for v in judged.verdicts if v.valid]
    distinct = set(scored)
    return {"n_samples": judged.n, "validity": judged.fraction("valid"),
            "validity_relaxed": judged.fraction("valid_relaxed"),
            "validity_fragment_free": judged.fraction("valid_fragment_free"),
            "uniqueness": len(distinct) / len(scored) if scored else 0.0,
            "novelty": len(distinct - train_smiles) / len(distinct) if distinct else 0.0,
            "mean_atoms": float((atoms > 0).sum(1).mean())}


@torch.no_grad()
def posterior_stats(run, n: int = 1000) -> dict[str, float]:
    """Mean KL(q(z | G) ‖ N(0, I)) in nats and the number of active units over ``n`` held-out graphs."""
    mu, log_sigma = run.family.posterior(run.reference(n))  # (n, L), (n, L)
    return {"kl_nats": float(gaussian_kl(mu, log_sigma).sum(1).mean()),
            "active_units": int((mu.var(0) > 0.01).sum()), "latent_dim": mu.shape[1]}


def load_raw_weights(run, run_dir: Path) -> None:
    """Replace a run's EMA weights by the optimizer's own, kept in its last checkpoint."""
    from safetensors import safe_open

    prefix = "/current_model_state/family."
    with safe_open(str(run_dir / "checkpoints" / "last.safetensors"), "pt") as f:
        raw = {k[len(prefix):]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}
    if not raw:
        raise SystemExit(f"{run_dir} has no optimizer weights beside its EMA weights")
    run.family.load_state_dict(raw, strict=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", choices=sorted(BUDGET), required=True)
    p.add_argument("--out", default="runs/graph_families")
    p.add_argument("--n", type=int, default=1000, help="samples to judge")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="train.max_steps instead of BUDGET's")
    p.add_argument("--eval-only", action="store_true", help="sample an existing run")
    p.add_argument("--raw-weights", action="store_true",
                   help="with --eval-only: sample the last optimizer weights of a run trained with EMA")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override after BUDGET's, e.g. family.kl_warmup=300 (repeatable)")
    args = p.parse_args()
    torch.set_num_threads(1)
    config_name, overrides = BUDGET[args.family]
    steps = args.steps or overrides["train"]["max_steps"]
    # no EMA: at a few hundred steps an EMA of decay 0.999 is still mostly the initial weights
    overrides = merge(overrides, {"train": {"max_steps": steps, "checkpoint_every": steps, "ema_decay": None}})
    run_dir = Path(args.out) / args.family
    start, start_cpu = time.perf_counter(), time.process_time()
    if not args.eval_only:
        config = merge(yaml.safe_load(shipped_config(f"qm9/{config_name}.yaml").read_text()), overrides)
        train(read_config(config, args.set), run_dir, progress=False)
    train_seconds, train_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    run = load(run_dir)
    if args.raw_weights:
        load_raw_weights(run, run_dir)
    result = run.sample(args.n, seed=args.seed)
    train_set = load_molecules("qm9", "train")
    metrics = judge(result.samples.atoms.numpy(), result.samples.adj.numpy(), train_set.vocab, set(train_set.smiles))
    if hasattr(run.family, "posterior"):
        metrics.update(posterior_stats(run))
    metrics.update(family=args.family, train_seconds=None if args.eval_only else round(train_seconds),
                   train_cpu_seconds=None if args.eval_only else round(train_cpu), max_steps=steps,
                   seed=args.seed, overrides=args.set, family_config=run.config["family"])
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
