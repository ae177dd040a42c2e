"""``genlab evaluate FILE --reference {qm9,moses,PATH} [--train ...] [--correct] [--json OUT]`` and
``genlab evaluate RUN [--attack NAME --eps 0.1,0.3 ... | --attacks FILE] [--surrogate RUN2] [--json OUT]``.

A sample file's modality picks the evaluator (:func:`genlab.evaluation.registry.evaluator_for_file`):
molecule files are scored by the molecule suite (:mod:`genlab.metrics.evaluate`; in a SMILES file
every line is one sample, a blank line an invalid one); points and digits sample files
(``genlab sample`` output) against the held-out set named by ``--reference points:<dataset>``,
``digits`` or a run directory (:mod:`genlab.evaluation.heldout`).

A run directory is evaluated by the evaluator of what it holds
(:func:`genlab.evaluation.registry.evaluator_for_run`): a classifier run by
:mod:`genlab.evaluation.classifier` — clean accuracy on its held-out split and robust accuracy
under the attacks asked for — written to ``RUN/robustness.json`` (and the report's example images
to ``RUN/robustness_examples.safetensors``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genlab.errors import ConfigError, GenlabError

#: attack keys that have their own option; only those given reach the attack's constructor
ATTACK_OPTIONS = (("steps", int), ("alpha", float), ("restarts", int), ("norm", str))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score generated samples against held-out data, or a classifier run "
                       "under attacks")
    p.add_argument("file", help="a SMILES file (.smi/.txt/.csv/.sdf[.gz]), a genlab .safetensors graph-sample "
                   "file, a points/digits .npz/.safetensors from `genlab sample`, or a classifier run directory")
    p.add_argument("--reference", default=None, help="samples: molecules: qm9 or moses (their test split) or a "
                   "molecule file; points: points:<dataset>; digits: digits; or a run directory (its held-out split)")
    p.add_argument("--train", default=None, help="qm9, moses (their training split) or a file, for novelty")
    p.add_argument("--correct", action="store_true", help="apply the MoFlow/GDSS valency correction before scoring")
    p.add_argument("--json", default=None, help="write the full result as JSON here")
    p.add_argument("--nspdk", action=argparse.BooleanOptionalAction, default=None,
                   help="compute NSPDK MMD (default: only for references of at most 50,000 molecules)")
    p.add_argument("--plot", default=None, help="property-histogram PNG (default: next to --json)")
    attack = p.add_argument_group("classifier runs")
    attack.add_argument("--attack", default=None, help="an attack's name (pgd, fgsm, cw_l2, universal, ...)")
    attack.add_argument("--eps", default=None, help="the attack's radii, separated by commas (e.g. 0.1,0.2,0.3)")
    attack.add_argument("--steps", type=int, default=None, help="attack iterations")
    attack.add_argument("--alpha", type=float, default=None, help="attack step size")
    attack.add_argument("--restarts", type=int, default=None, help="random restarts (PGD)")
    attack.add_argument("--norm", default=None, help="linf or l2 (PGD)")
    attack.add_argument("--attacks", default=None, help="a robustness config (YAML): attack sections under "
                        "'attacks', and n, batch_size, seed, fit_images")
    attack.add_argument("--surrogate", default=None, help="a classifier run to craft transfer attacks on")
    attack.add_argument("--images", default=None, help="evaluate on this .npz (uint8 images, an integer array "
                        "'labels') instead of the run's held-out split")
    attack.add_argument("--n", type=int, default=None, help="evaluate the first N held-out images (default: all)")
    attack.add_argument("--batch-size", type=int, default=None, help="images per attack batch (default 500)")
    attack.add_argument("--seed", type=int, default=None, help="seed of the attacks' random starts (default 0)")
    attack.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--few-shot", nargs="?", const="", default=None, metavar="SOURCE", help="score the run's frozen "
                   "features on few-shot episodes of the held-out split of SOURCE's data section (a config or a run "
                   "directory; without SOURCE: the run's own), a logistic regression per episode")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from genlab.sampling.run_dir import RunDir

    if RunDir(Path(args.file)).config.is_file():
        return _evaluate_run(args)
    if args.attack or args.attacks:
        raise GenlabError("--attack evaluates a classifier run directory; this is not a run", path=args.file)
    if args.reference is None:
        raise GenlabError("sample files are scored against --reference (qm9, moses, points:<dataset>, digits, "
                          "a file or a run directory)", path=args.file)
    return _evaluate_samples(args)


def _evaluate_samples(args: argparse.Namespace) -> int:
    from genlab.evaluation.registry import evaluator_for_file
    from genlab.utils.atomic import atomic_write_json

    plot = args.plot
    if plot is None and args.json:
        plot = str(Path(args.json).with_suffix("")) + "_properties.png"
    evaluator = evaluator_for_file(args.file)
    result = evaluator.evaluate_file(Path(args.file), args.reference, train=args.train, correct=args.correct,
                                     plot=plot, nspdk=args.nspdk)
    print(evaluator.format(result))
    for line in evaluator.notes(result):
        print(line, file=sys.stderr)
    if args.json:
        atomic_write_json(args.json, result)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _evaluate_run(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from genlab.config import load_config
    from genlab.evaluation.classifier import (ROBUSTNESS_EXAMPLES, ROBUSTNESS_FILE, ClassifierEvaluator,
                                              RobustnessRequest)
    from genlab.evaluation.registry import evaluator_for_run
    from genlab.sampling.run import Run
    from genlab.utils.atomic import atomic_write, atomic_write_json

    request = _request(args, load_config(args.attacks) if args.attacks else None)  # bad options before loading
    target = Run(args.file, device=args.device)
    if args.few_shot is not None:  # any run whose network has a feature split, e.g. a teacher on its students' episodes
        from genlab.evaluation.few_shot_transfer import FewShotTransferEvaluator
        return FewShotTransferEvaluator().evaluate_command(target, args)
    evaluator = evaluator_for_run(target)
    if hasattr(evaluator, "evaluate_command"):  # a run evaluator with its own options (meta-learning)
        return evaluator.evaluate_command(target, args)
    if not isinstance(evaluator, ClassifierEvaluator):
        raise GenlabError(f"holds a {target.config['family']['name']} model, not a classifier: --attack evaluates "
                          "classifiers; score a generative run's samples with genlab sample, then genlab evaluate "
                          "FILE --reference RUN", path=args.file)
    surrogate = None
    if args.surrogate:
        surrogate = Run(args.surrogate, device=args.device)
        if not isinstance(evaluator_for_run(surrogate), ClassifierEvaluator):
            raise GenlabError("the surrogate is not a classifier run", path=args.surrogate)
        if surrogate.family.input_range != target.family.input_range:
            raise GenlabError(f"the surrogate's inputs lie in {surrogate.family.input_range}, the run's in "
                              f"{target.family.input_range}", path=args.surrogate)
        request = RobustnessRequest(**{**request.__dict__, "attacks": request.attacks + tuple(
            {"name": "transfer", "attack": a} for a in request.attacks
            if "surrogate" not in _constructor(a["name"]))})
    result, examples = evaluator.evaluate(target, request, surrogate=surrogate, images=args.images)
    print(evaluator.format(result))
    atomic_write_json(target.dir.root / ROBUSTNESS_FILE, result)
    if examples:
        atomic_write(target.dir.root / ROBUSTNESS_EXAMPLES,
                     lambda tmp: save_file(examples, str(tmp), metadata={"attack": _label(result)}))
    if args.json:
        atomic_write_json(args.json, result)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _request(args: argparse.Namespace, config: dict | None):
    """The robustness request of the options (or of the ``--attacks`` file, which the options amend)."""
    from genlab.evaluation.classifier import RobustnessRequest

    if args.attack and args.attacks:
        raise ConfigError("give --attack or --attacks, not both")
    base = RobustnessRequest() if config is None else RobustnessRequest.from_config(config, path=args.attacks)
    attacks = base.attacks
    if args.attack:
        section: dict = {"name": args.attack}
        if args.eps is not None:
            section["eps"] = _radii(args.eps)
        section.update({k: getattr(args, k) for k, _ in ATTACK_OPTIONS if getattr(args, k) is not None})
        attacks = (section,)
    elif any(getattr(args, k) is not None for k, _ in ATTACK_OPTIONS) or args.eps is not None:
        raise ConfigError("--eps, --steps, --alpha, --restarts and --norm set the keys of --attack NAME")
    changes = {k: v for k, v in (("n", args.n), ("batch_size", args.batch_size), ("seed", args.seed)) if v is not None}
    try:
        request = RobustnessRequest(**{**base.__dict__, **changes, "attacks": attacks})
    except ConfigError as exc:  # an impossible value: name the option
        raise ConfigError(f"--{str(exc.key).replace('_', '-')}: {getattr(exc, 'reason', exc.message)}") from None
    for section in request.attacks:  # unknown attacks, keys and impossible values, before any work
        _check_attack(section)
    return request


def _check_attack(section: dict) -> None:
    from genlab.classifiers.attacks.registry import ATTACKS
    from genlab.registry import check_kwargs

    cls = ATTACKS.get(str(section["name"]))
    if "surrogate" in _constructor(section["name"]):  # built once the surrogate run is loaded
        check_kwargs(cls, {k: v for k, v in section.items() if k != "name"}, section="attack")
        return
    ATTACKS.build(section)


def _constructor(name: str):
    import inspect

    from genlab.classifiers.attacks.registry import ATTACKS

    return inspect.signature(ATTACKS.get(name)).parameters


def _radii(text: str) -> list[float]:
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(f"--eps: expected numbers separated by commas, got {text!r}") from None
        if not value >= 0:
            raise ConfigError(f"--eps: a radius must not be negative, got {part.strip()}")
        values.append(value)
    return values


def _label(result: dict) -> str:
    from genlab.evaluation.classifier import describe

    white = [a for a in result["attacks"] if a["kind"] == "white-box"]
    worst = min(white, key=lambda a: a["robust_accuracy"], default=None)
    return "" if worst is None else describe(worst)
