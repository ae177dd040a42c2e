"""Wall time of genlab's attacks against the same attacks in torchattacks, same model, same batches,
same process, interleaved.

    OMP_NUM_THREADS=1 python benchmarks/attack_speed.py [--n 10000] [--batch-size 1000] [--repeats 3]
        [--cw-steps 10] [--only fgsm,pgd,cw]

Attacks: FGSM (ε = 0.3), PGD-40 (ε = 0.3, α = 0.01, random start) and CW-L2 (c = 100, κ = 0,
``--cw-steps`` Adam steps of lr 0.01, one binary-search step — torchattacks has no binary search;
so large a c keeps torchattacks' CW, which stops when its loss rises, from stopping after a step or
two, so both do the same work). The model is genlab's ``small_cnn`` (Wong et al.'s MNIST CNN: two
4×4 stride-2 convolutions of 16 and 32 channels, 100 hidden units) with fixed random weights: an
attack's speed does not depend on what the model learned. The inputs are ``--n`` MNIST test
images (all 10,000 by default) when the ``mnist`` dataset is available, else uniform noise of the
same shape (the script says which). After one untimed batch of each, every repeat times every
attack in both libraries, alternating which goes first; the table gives the median over repeats
and the model calls each made.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from genlab.classifiers.attacks.registry import ATTACKS
from genlab.data.registry import DATASETS
from genlab.errors import GenlabError
from genlab.networks.registry import NETWORKS


def small_cnn() -> nn.Module:
    """genlab's ``small_cnn`` on (1, 28, 28) inputs, weights drawn with seed 0, in eval mode."""
    torch.manual_seed(0)
    return NETWORKS.build({"name": "small_cnn"}, shapes={"x": (1, 28, 28)}).eval()


def mnist_test(n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(inputs (n, 1, 28, 28) in [0, 1], labels, what they are)."""
    try:
        bundle = DATASETS.build({"name": "mnist", "limit": 1, "limit_heldout": n})
    except GenlabError as exc:
        g = torch.Generator().manual_seed(0)
        return (torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g),
                f"uniform noise in [0, 1] (MNIST unavailable: {exc})")
    batch = bundle.collate([bundle.heldout[i] for i in range(n)])
    x = bundle.modality.to_inputs(bundle.modality.encode(batch.inputs))
    return x, batch.labels.long(), f"{n} MNIST test images"


def main() -> None:
    import torchattacks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cw-steps", type=int, default=10)
    parser.add_argument("--only", default="fgsm,pgd,cw", help="attacks to time, of fgsm, pgd, cw")
    args = parser.parse_args()

    model = small_cnn()
    calls = [0]
    model.register_forward_pre_hook(lambda module, inputs: calls.__setitem__(0, calls[0] + 1))
    x, y, what = mnist_test(args.n)
    print(f"inputs: {what}; batches of {args.batch_size}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, torchattacks {torchattacks.__version__}", flush=True)

    everything = {
        ("fgsm", "FGSM"): lambda: (ATTACKS.build({"name": "fgsm", "eps": 0.3}), torchattacks.FGSM(model, eps=0.3)),
        ("pgd", "PGD-40"): lambda: (ATTACKS.build({"name": "pgd", "eps": 0.3, "alpha": 0.01, "steps": 40}),
                                    torchattacks.PGD(model, eps=0.3, alpha=0.01, steps=40, random_start=True)),
        ("cw", f"CW-L2 ({args.cw_steps} steps)"): lambda: (
            ATTACKS.build({"name": "cw_l2", "c": 100.0, "kappa": 0.0, "steps": args.cw_steps, "lr": 0.01,
                           "binary_search_steps": 1, "abort_early": False}),
            torchattacks.CW(model, c=100.0, kappa=0.0, steps=args.cw_steps, lr=0.01)),
    }
    chosen = args.only.split(",")
    pairs = {name: make() for (key, name), make in everything.items() if key in chosen}
    runners = {
        "genlab": lambda attack, xb, yb: attack(model, xb, yb, bounds=(0.0, 1.0)),
        "torchattacks": lambda attack, xb, yb: attack(xb, yb),
    }
    for attacks in pairs.values():  # warm-up
        for lib, attack in zip(runners, attacks):
            runners[lib](attack, x[:args.batch_size], y[:args.batch_size])
    times = {(name, lib): [] for name in pairs for lib in runners}
    counts = {}
    for repeat in range(args.repeats):
        for name, attacks in pairs.items():
            order = list(zip(runners, attacks))
            for lib, attack in (order if repeat % 2 == 0 else order[::-1]):
                calls[0] = 0
                start = time.perf_counter()
                for i in range(0, args.n, args.batch_size):
                    runners[lib](attack, x[i:i + args.batch_size], y[i:i + args.batch_size])
                times[name, lib].append(time.perf_counter() - start)
                counts[name, lib] = calls[0]
                print(f"repeat {repeat}: {name:<18} {lib:<12} {times[name, lib][-1]:8.2f} s, "
                      f"{calls[0]} model calls", flush=True)

    print("\n| attack | genlab s | torchattacks s | genlab / torchattacks | model calls (genlab / torchattacks) |")
    print("|---|---|---|---|---|")
    for name in pairs:
        ours, theirs = (statistics.median(times[name, lib]) for lib in runners)
        print(f"| {name} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} | "
              f"{counts[name, 'genlab']} / {counts[name, 'torchattacks']} |")


if __name__ == "__main__":
    main()
