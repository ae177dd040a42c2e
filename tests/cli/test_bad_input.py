"""Nothing unclear: every bad input gives one line naming the file, the line or key, and what was
wrong; a non-zero exit where the command cannot go on; no traceback unless ``--debug``.

Everything goes through ``genlab.cli.main.main`` with stderr captured. (Reader-level details,
the train section's own checks and registry key checks are in test_smiles_io.py and
test_config.py.)
"""

from __future__ import annotations

import gzip
import json
import re
import resource
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

from genlab.chem.vocab import AtomVocab
from genlab.cli.main import main
from genlab.data import graph_samples
from genlab.data.smiles_io import read_molecule_file
from support import CONFIGS, QM9_SMALL, SRC, points_flow_config

POINTS = points_flow_config(checkpoint_every=2)
REFERENCE = "CCO\nCC\nCCN\nCCC\nCCCC\nCCCO\nOCC\nNCC\nCNC\nCOC\nc1ccccc1\nCC(=O)O\n"


def one_line_error(capsys, *fragments: str) -> str:
    """The captured stderr is one ``genlab: error:`` line holding every fragment."""
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith("genlab: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ref") / "ref.smi"
    path.write_text(REFERENCE)
    return path


# --- SMILES files as generated samples (genlab evaluate) ------------------------------------


def evaluate(path: Path, reference: Path, *extra: str) -> int:
    return main(["evaluate", str(path), "--reference", str(reference), "--no-nspdk", *extra])


def test_malformed_and_non_utf8_lines_are_invalid_samples_named_by_line(tmp_path, reference, capsys):
    path = tmp_path / "gen.smi"
    path.write_bytes(b"CCO\nC1CC\n\xff\xfeCC\nCC(=O)O\nc1ccccc1\n")
    assert evaluate(path, reference, "--json", str(tmp_path / "r.json")) == 0
    err = capsys.readouterr().err
    assert "line 2 (RDKit cannot parse this SMILES)" in err and "line 3 (not valid UTF-8" in err
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["n_samples"] == 5 and result["n_valid"] == 3 and result["n_malformed"] == 2


def test_crlf_bom_and_gzip_are_read_like_plain_files(tmp_path, reference, capsys):
    plain = "CCO\nCC\nCCN\nc1ccccc1\n"
    (tmp_path / "a.smi").write_bytes(b"\xef\xbb\xbf" + plain.replace("\n", "\r\n").encode())
    with gzip.open(tmp_path / "b.smi.gz", "wt") as f:
        f.write(plain)
    for name in ("a.smi", "b.smi.gz"):
        assert evaluate(tmp_path / name, reference, "--json", str(tmp_path / f"{name}.json")) == 0
        result = json.loads((tmp_path / f"{name}.json").read_text())
        assert result["n_samples"] == 4 and result["validity"] == 1.0, name


@pytest.mark.parametrize("name, content, fragments", [
    ("empty.smi", b"", ["empty.smi: no molecules in the file"]),
    ("absent.smi", None, ["absent.smi: no such file"]),
    ("nocol.csv", b"id,name\n1,x\n", ["nocol.csv:1: no 'smiles' column"]),
    ("broken.smi.gz", b"not gzip at all", ["broken.smi.gz: cannot read"]),
    ("cut.smi.gz", gzip.compress(b"".join(b"CCO m%d\n" % i for i in range(20_000)))[:20_000],
     ["cut.smi.gz: cannot read"]),
])
def test_unreadable_sample_files_stop_with_one_line(tmp_path, reference, capsys, name, content, fragments):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert evaluate(path, reference) == 2
    one_line_error(capsys, *fragments)


def test_graph_sample_file_outside_its_vocabulary(tmp_path, reference, capsys):
    vocab = AtomVocab.from_pairs([("C", 0), ("O", 0)], 3)
    atoms = np.array([[1, 2, 7]], dtype=np.uint8)  # class 7 > the 2 atoms of the vocabulary
    adj = np.zeros((1, 3, 3), dtype=np.uint8)
    path = tmp_path / "g.safetensors"
    save_numpy({"atoms": atoms, "adj": adj}, str(path),
               metadata={"format": graph_samples.FORMAT, "vocab": json.dumps(vocab.to_json())})
    assert evaluate(path, reference) == 2
    one_line_error(capsys, "g.safetensors", "outside the vocabulary")


def test_empty_reference_file(tmp_path, capsys):
    (tmp_path / "gen.smi").write_text("CCO\n")
    (tmp_path / "ref.smi").write_text("not_a_smiles\n")
    assert evaluate(tmp_path / "gen.smi", tmp_path / "ref.smi") == 2
    one_line_error(capsys, "ref.smi: no valid molecule in the file")


# --- SMILES files as training data (genlab train, data.name: smiles) ------------------------


@pytest.mark.parametrize("content, fragments", [
    (b"CCO\nC1CC\nCC\n", [":2: RDKit cannot parse this SMILES: 'C1CC'"]),
    (b"CCO\n\xff\xfeCC\nCC\n", [":2: not valid UTF-8"]),
    (b"CCO\nCC\n" + b"C" * 300 + b"\n", [":3: molecule 'CCCC", "...' has 300 heavy atoms, more than the 255 allowed"]),
    (b"CC\n[C+16]C\n", [":2: molecule '[C+16]C' has an atom with charge +16, outside -15..+15"]),
    (b"CC\n[CH3]\n", [":2: molecule '[CH3]' has a radical"]),
    (b"", [": no molecules in the file"]),
])
def test_unusable_training_molecules_name_the_line(tmp_path, capsys, content, fragments):
    data = tmp_path / "mols.smi"
    data.write_bytes(content)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"name": "smiles", "path": str(data)},
        "family": {"name": "flow_matching", "ode_method": "euler", "sample_steps": 2},
        "process": {"name": "flow_matching"}, "network": {"name": "graph_transformer"},
        "train": {"max_steps": 1, "batch_size": 2, "accelerator": "cpu"}}))
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    one_line_error(capsys, str(data), *fragments)


# --- configs ---------------------------------------------------------------------------------


def with_change(section: str, key: str | None, value) -> dict:
    config = json.loads(json.dumps(POINTS))
    if key is None:
        config[section] = value
    else:
        config[section][key] = value
    return config


@pytest.mark.parametrize("config, fragments", [
    (with_change("network", "hiden", 8), ["key 'network.hiden': unknown key; TimeMLP accepts"]),
    (with_change("data", "n_train", "many"), ["key 'data.n_train': expected an integer, got 'many'"]),
    (with_change("train", "lr", "fast"), ["key 'train.lr': expected a number"]),
    (with_change("network", "hidden", -3), ["key 'network.hidden': must be at least 1, got -3"]),
    (with_change("data", "n_train", 0), ["key 'data': the training set is empty"]),
    (with_change("train", "precision", "bogus"), ["key 'train.precision': expected one of"]),
    (with_change("train", "accelerator", "tpu9"), ["key 'train.accelerator': expected one of"]),
    (with_change("train", None, [1, 2]), ["key 'train': the train section must be a mapping"]),
    (with_change("optimizer", None, {"lr": 1}), ["key 'optimizer': unknown section"]),
    (with_change("family", "name", "flow_matchin"), ["key 'family.name': unknown family 'flow_matchin'"]),
])
def test_bad_configs_name_the_file_and_key(tmp_path, capsys, config, fragments):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    one_line_error(capsys, str(path), *fragments)
    assert not (tmp_path / "run" / "weights.safetensors").exists()


@pytest.mark.parametrize("content, fragments", [
    (b"", ["config file is empty"]),
    (b"train:\n  lr: [0.1\n", [":3: invalid YAML"]),
    (b"train: {lr: 0.1}\n\xff\n", ["cannot read config"]),
    (b"- 1\n- 2\n", ["a config must be a mapping of sections"]),
    (b"!!python/object:os.system {}\n", ["invalid YAML"]),  # the safe loader constructs nothing
])
def test_unreadable_config_files(tmp_path, capsys, content, fragments):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 2
    one_line_error(capsys, str(path), *fragments)


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(with_change("data", "n_train", "many")))
    with pytest.raises(Exception, match="expected an integer"):
        main(["--debug", "train", str(path), "--out", str(tmp_path / "run")])


# --- checkpoints and weights -----------------------------------------------------------------


@pytest.fixture()
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    config = root / "c.yaml"
    config.write_text(yaml.safe_dump(POINTS))
    assert main(["train", str(config), "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run"


def test_truncated_weights(run, capsys):
    weights = run / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert main(["sample", str(run), "--n", "4"]) == 2
    one_line_error(capsys, str(weights), "cannot read weights")


def test_weights_from_another_format_version(run, capsys):
    weights = run / "weights.safetensors"
    save_file(load_file(weights), str(weights), metadata={"format_version": "2", "genlab_version": "9.0.0"})
    assert main(["sample", str(run), "--n", "4"]) == 2
    one_line_error(capsys, str(weights), "weights format version 2 (written by genlab 9.0.0) is not version 1")


def test_weights_of_another_config(run, capsys):
    weights = run / "weights.safetensors"
    tensors = load_file(weights)
    name = next(k for k, v in tensors.items() if v.ndim == 2)
    tensors[name] = tensors[name][:, :-1].contiguous()
    save_file(tensors, str(weights))
    assert main(["sample", str(run), "--n", "4"]) == 2
    one_line_error(capsys, str(weights), f"tensor '{name}' has shape")


@pytest.mark.parametrize("damage, fragments", [
    ("truncate-tensors", ["last.safetensors", "cannot read checkpoint tensors"]),
    ("truncate-json", ["last.json", "cannot read checkpoint structure"]),
    ("other-version", ["last.json", "checkpoint format version 7 (written by genlab 7.1.0) is not version 1"]),
    ("remove-json", ["nothing to resume"]),
])
def test_damaged_checkpoints_refuse_to_resume(run, capsys, damage, fragments):
    tensors, structure = run / "checkpoints" / "last.safetensors", run / "checkpoints" / "last.json"
    if damage == "truncate-tensors":
        tensors.write_bytes(tensors.read_bytes()[: tensors.stat().st_size // 2])
    elif damage == "truncate-json":
        structure.write_text(structure.read_text()[:300])
    elif damage == "other-version":
        document = json.loads(structure.read_text())
        document.update(version=7, genlab_version="7.1.0")
        structure.write_text(json.dumps(document))
    else:
        structure.unlink()
    assert main(["train", "--resume", str(run), "--set", "train.max_steps=6", "--quiet"]) == 2
    one_line_error(capsys, *fragments)


# --- a large file is streamed ----------------------------------------------------------------


def test_reader_streams_a_large_file_in_bounded_memory(tmp_path):
    """200,000 lines (benchmarks/million_smiles.py measures 1,000,000): the reader's own memory
    does not grow with the file (ru_maxrss is the process's peak, so compare before and after)."""
    path = tmp_path / "big.smi.gz"
    lines = ["CCO", "c1ccccc1", "CC(=O)O", "C1CC", "CCN(CC)CC"]
    with gzip.open(path, "wt", compresslevel=1) as f:
        for i in range(200_000):
            f.write(lines[i % 5] + "\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    count = sum(1 for record in read_molecule_file(path) if record.smiles)
    seconds = time.perf_counter() - start
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert count == 200_000
    assert grown_mib < 20, f"peak RSS grew by {grown_mib:.1f} MiB reading 200k lines in {seconds:.1f} s"


# --- nothing loaded from a user file is unpickled ----------------------------------------------


def test_source_never_unpickles():
    """No pickle, torch.load or numpy loading with pickles anywhere in genlab's source, but for the
    allow-list unpickler of MNIST's bundled file (numpy arrays only; tests/data/test_mnist.py)."""
    src = SRC / "genlab"
    for path in src.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        unpickles = re.search(r"\bimport (c?pickle|dill|joblib)\b|\bfrom (c?pickle|dill|joblib) import", code)
        assert not unpickles or path == src / "data" / "mnist.py", path
        assert "torch.load(" not in code and "allow_pickle=True" not in code, path
        for call in re.findall(r"np\.load\([^)]*\)", code):
            assert "allow_pickle=False" in call, (path, call)


def test_impossible_sampler_settings_are_one_line_config_errors(tmp_path, capsys):
    """sample_steps < 1 and an unknown ODE method are refused when the family is built."""
    for override, words in [("family.sample_steps=-1", "key 'family.sample_steps': must be at least 1"),
                            ("family.ode_method=rk99", "key 'family.ode_method': expected one of 'euler'")]:
        config = CONFIGS / "points" / "flow_matching.yaml"
        code = main(["train", str(config), "--out", str(tmp_path / override.split("=")[1]),
                     "--set", override, "--set", "train.max_steps=1"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and words in err[0] and "Traceback" not in err[0], err


# --- impossible constructor values name their key -----------------------------------------------


#: (shipped config, key, impossible value, what the one line says after the key)
IMPOSSIBLE = [
    ("points/flow_matching.yaml", "network.depth", "0", "must be at least 1, got 0"),
    ("points/flow_matching.yaml", "network.depth", "-2", "must be at least 1, got -2"),
    ("points/flow_matching.yaml", "network.hidden", "0", "must be at least 1, got 0"),
    ("points/flow_matching.yaml", "network.time_dim", "7", "must be even, got 7"),
    ("points/flow_matching.yaml", "network.time_dim", "0", "must be at least 2, got 0"),
    ("points/flow_matching.yaml", "network.aux_dim", "-1", "must not be negative"),
    ("points/flow_matching.yaml", "network.time_embedding", "wavelet", "expected one of 'fourier', 'sinusoidal'"),
    ("points/flow_matching.yaml", "process.sigma_min", "1.0", "must be in [0, 1), got 1.0"),
    ("points/flow_matching.yaml", "process.sigma_min", "-0.1", "must be in [0, 1)"),
    ("points/flow_matching.yaml", "process.coupling", "sinkhorn", "expected one of 'independent', 'ot'"),
    ("points/flow_matching.yaml", "family.sample_steps", "0", "must be at least 1, got 0"),
    ("points/flow_matching.yaml", "train.lr", "0", "must be positive, got 0.0"),
    ("points/flow_matching.yaml", "train.lr", "-1e-3", "must be positive"),
    ("points/flow_matching.yaml", "train.lr", ".inf", "must be finite"),
    ("points/flow_matching.yaml", "train.batch_size", "0", "must be at least 1, got 0"),
    ("points/flow_matching.yaml", "train.max_steps", "-5", "must be at least 1"),
    ("points/flow_matching.yaml", "train.seed", "-1", "must not be negative"),
    ("points/flow_matching.yaml", "train.seed", "4294967296", "must be at most 4294967295"),
    ("points/flow_matching.yaml", "train.ema_decay", "1.0", "must be in [0, 1)"),
    ("points/flow_matching.yaml", "train.lr_final_ratio", "1.5", "must be in [0, 1]"),
    ("points/flow_matching.yaml", "train.weight_decay", ".nan", "must not be negative, got nan"),
    ("points/flow_matching.yaml", "train.grad_clip", "0", "must be positive"),
    ("points/ncsn.yaml", "process.sigma_min", "10.0", "must be less than sigma_max (5.0), got 10.0"),
    ("points/ncsn.yaml", "process.sigma_min", "0", "must be positive"),
    ("points/ncsn.yaml", "process.n_levels", "1", "must be at least 2, got 1"),
    ("points/ddpm.yaml", "process.n_steps", "0", "must be at least 1, got 0"),
    ("points/ddpm.yaml", "process.beta_min", "-0.1", "must not be negative"),
    ("points/ddpm.yaml", "process.beta_max", "1.0", "must be less than 1.0, got 1.0"),
    ("points/ddpm.yaml", "process.beta_min", "0.5", "must be at most beta_max"),
    ("points/ddpm.yaml", "process.schedule", "quadratic", "expected one of"),
    ("points/score_sde_vp.yaml", "process.beta_min", "-1", "must not be negative"),
    ("points/score_sde_vp.yaml", "process.beta_max", "0", "must be positive"),
    ("points/score_sde_ve.yaml", "process.sigma_min", "0", "must be positive"),
    ("points/score_sde_ve.yaml", "process.sigma_min", "100", "must be less than sigma_max"),
    ("points/pfgm.yaml", "process.z_min", "0", "must be positive"),
    ("points/pfgm.yaml", "process.tau", "-1", "must be positive"),
    ("points/pfgm.yaml", "process.max_prior_norm", "0", "must be positive"),
    ("points/pfgm.yaml", "process.sigma_data", "0", "must be positive"),
    ("points/realnvp.yaml", "network.n_couplings", "0", "must be at least 1, got 0"),
    ("points/realnvp.yaml", "network.depth", "-1", "must not be negative, got -1"),
    ("points/ffjord.yaml", "network.depth", "-1", "must be at least 0, got -1"),
    ("points/ffjord.yaml", "network.activation", "relu", "expected one of 'softplus', 'tanh'"),
    ("digits/ddpm.yaml", "network.groups", "0", "must be at least 1, got 0"),
    ("digits/ddpm.yaml", "network.dropout", "1.0", "must be in [0, 1), got 1.0"),
    ("digits/ddpm.yaml", "network.channel_mults", "[]", "must be a non-empty list of integers"),
    ("digits/ddpm.yaml", "network.base_channels", "0", "must be at least 1, got 0"),
    ("qm9/demo.yaml", "network.heads", "3", "must divide hidden (64), got 3"),
    ("qm9/demo.yaml", "network.heads", "0", "must be at least 1, got 0"),
    ("qm9/demo.yaml", "network.layers", "0", "must be at least 1, got 0"),
    ("qm9/demo.yaml", "network.edge_hidden", "0", "must be at least 1, got 0"),
    ("qm9/demo.yaml", "network.reach_hops", "-1", "must not be negative"),
    ("qm9/mpgvae.yaml", "network.encoder.steps", "0", "must be at least 1, got 0"),
    ("qm9/mpgvae.yaml", "network.decoder.latent_dim", "0", "must be at least 1, got 0"),
    ("qm9/mpgvae.yaml", "family.n_importance", "0", "must be at least 1, got 0"),
    ("qm9/molgan.yaml", "network.critic.hidden", "[]", "must be at least one layer"),
    ("qm9/molgan.yaml", "network.generator.dropout", "1.0", "must be in [0, 1), got 1.0"),
    ("qm9/graphnvp.yaml", "network.adj_couplings", "0", "must be at least 1, got 0"),
    ("qm9/graphnvp.yaml", "family.dequant_scale", "1.0", "must be in (0, 1), got 1.0"),
    ("qm9/mpgvae.yaml", "family.free_bits", "-0.1", "must not be negative, got -0.1"),
    ("qm9/aae.yaml", "family.disc_hidden", "0", "must be at least 1, got 0"),
    ("qm9/ddpm.yaml", "family.eta", "-0.5", "must not be negative, got -0.5"),
    ("qm9/ncsn.yaml", "family.step_lr", "0", "must be positive"),
    ("qm9/score_sde_vp.yaml", "family.t_eps", "0", "must be positive"),
]


@pytest.mark.parametrize("name, key, value, reason", IMPOSSIBLE)
def test_impossible_values_are_refused_with_their_key(tmp_path, capsys, name, key, value, reason):
    """``genlab train CONFIG --set KEY=VALUE`` stops with one line naming the key; no run is made."""
    config = yaml.safe_load((CONFIGS / name).read_text())
    if config["data"]["name"] == "qm9":  # a small file in place of the QM9 cache
        config["data"] = {"name": "smiles", "path": str(QM9_SMALL)}
    elif config["data"]["name"] == "points":
        config["data"].update(n_train=256, n_heldout=64)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--quiet", "--set", f"{key}={value}"]) == 2
    one_line_error(capsys, f"{path}: key '{key}': {reason}")
    assert not (tmp_path / "run" / "checkpoints").exists()


# --- classifier runs under attack (genlab evaluate RUN --attack ...) -----------------------------


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("classifier")
    config = folder / "c.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"name": "digits", "labels": True}, "family": {"name": "classifier"},
        "network": {"name": "mlp_classifier", "hidden": 16, "depth": 1},
        "train": {"max_steps": 3, "batch_size": 32, "accelerator": "cpu", "checkpoint_every": 3}}))
    assert main(["train", str(config), "--out", str(folder / "run"), "--quiet"]) == 0
    return folder / "run"


@pytest.mark.parametrize("options, fragments", [
    (["--attack", "nope"], ["key 'attack.name': unknown attack 'nope'; known: ", "pgd"]),
    (["--attack", "pgd", "--eps", "0.1,-0.3"], ["--eps: a radius must not be negative, got -0.3"]),
    (["--attack", "pgd", "--eps", "0.1,big"], ["--eps: expected numbers separated by commas, got '0.1,big'"]),
    (["--attack", "pgd", "--steps", "0"], ["key 'attack.steps': must be at least 1, got 0"]),
    (["--attack", "cw_l2", "--eps", "0.1"], ["key 'attack.eps': unknown key; CarliniWagnerL2 accepts"]),
    (["--attack", "pgd", "--n", "0"], ["--n: must be at least 1, got 0"]),
    (["--steps", "3"], ["--eps, --steps, --alpha, --restarts and --norm set the keys of --attack NAME"]),
    (["--attack", "transfer"], ["the transfer attack crafts its inputs on another model; give --surrogate RUN"]),
])
def test_bad_attack_options_stop_with_one_line(classifier_run, capsys, options, fragments):
    assert main(["evaluate", str(classifier_run), *options]) == 2
    one_line_error(capsys, *fragments)


def test_an_attack_on_a_generative_run_or_a_sample_file(tmp_path, capsys):
    config = tmp_path / "points.yaml"
    config.write_text(yaml.safe_dump(POINTS))
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--attack", "pgd", "--eps", "0.1"]) == 2
    one_line_error(capsys, f"{tmp_path / 'run'}: holds a flow_matching model, not a classifier")
    assert main(["sample", str(tmp_path / "run"), "--n", "8", "--out", str(tmp_path / "s.npz")]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "s.npz"), "--attack", "pgd"]) == 2
    one_line_error(capsys, "s.npz: --attack evaluates a classifier run directory; this is not a run")


def test_images_of_the_wrong_shape(classifier_run, tmp_path, capsys):
    path = tmp_path / "small.npz"
    np.savez(path, images=np.zeros((5, 4, 4), dtype=np.uint8), labels=np.arange(5))
    assert main(["evaluate", str(classifier_run), "--images", str(path)]) == 2
    one_line_error(capsys, "small.npz: images are 1×4×4 (C×H×W); the run's classifier reads 1×8×8")
    np.savez(path, images=np.zeros((5, 8, 8), dtype=np.uint8))
    assert main(["evaluate", str(classifier_run), "--images", str(path)]) == 2
    one_line_error(capsys, "small.npz: no array 'labels' in archive", "--images needs uint8 images and an integer "
                   "array 'labels'")


@pytest.mark.parametrize("content, fragments", [
    ({"atacks": []}, ["expected a mapping with a list of attack sections under 'attacks'"]),
    ({"attacks": [], "samples": 3}, ["key 'samples': unknown key; a robustness config has attacks, n"]),
    ({"attacks": [{"eps": 0.3}]}, ["key 'attack': an attack section needs a 'name'"]),
    ({"attacks": [{"name": "fgsm", "eps": []}]}, ["key 'attack.eps': an empty list of radii"]),
    ({"attacks": [], "n": "all"}, ["robustness.yaml: key 'n': expected int | None, got 'all'"]),
])
def test_bad_robustness_configs(classifier_run, tmp_path, capsys, content, fragments):
    path = tmp_path / "robustness.yaml"
    path.write_text(yaml.safe_dump(content))
    assert main(["evaluate", str(classifier_run), "--attacks", str(path)]) == 2
    one_line_error(capsys, *fragments)
