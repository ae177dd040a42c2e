"""Nothing lost: a killed run resumes to the same weights, a killed save leaves a loadable
checkpoint, a non-finite loss stops training without overwriting the last good state.

The kills are real: ``genlab train`` runs in a subprocess that is sent SIGKILL (at a random
moment after its first checkpoint), or that kills itself at a chosen point inside a checkpoint
save (the subprocess wraps ``genlab.utils.atomic.atomic_write``; nothing in the library is
there for tests). What a killed save leaves behind (a hidden temporary file) is removed when
training next starts.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import genlab.build
from genlab.cli.main import main
from genlab.data.bundle import DataBundle
from genlab.generative.families.base import Family, SampleResult
from genlab.modalities.points import PointsModality
from genlab.training.checkpoint import load_tree

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def config(max_steps: int, checkpoint_every: int) -> dict:
    return {
        "data": {"name": "points", "dataset": "moons", "n_train": 1024, "n_heldout": 128},
        "family": {"name": "flow_matching", "ode_method": "euler", "sample_steps": 4},
        "process": {"name": "flow_matching"},
        "network": {"name": "mlp", "hidden": 32, "depth": 2},
        "train": {"max_steps": max_steps, "batch_size": 64, "accelerator": "cpu", "ema_decay": 0.9,
                  "checkpoint_every": checkpoint_every, "log_every": 5, "deterministic": True},
    }


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(json.dumps(cfg))
    return path


def genlab_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "genlab.cli.main", *args]


def child_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_file(a / "weights.safetensors"), load_file(b / "weights.safetensors")
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


# --- (a) SIGKILL at a random moment, then --resume -------------------------------------------


@pytest.mark.slow
def test_sigkill_at_a_random_moment_then_resume_is_bit_identical(tmp_path):
    max_steps, every = 100, 10
    cfg = write_config(tmp_path / "points.json", config(max_steps, every))
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)

    run = tmp_path / "killed"
    proc = subprocess.Popen(genlab_cli("train", str(cfg), "--out", str(run), "--quiet"), env=child_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # time the first checkpoint interval, then kill at a random moment of the expected remainder
    # (so the kill lands before the end on a fast machine as on a slow one)
    first = wait_for_checkpoint(proc, run, every)
    second = wait_for_checkpoint(proc, run, 2 * every)
    remaining = (second - first) * (max_steps / every - 2)
    delay = rng.uniform(0.0, 0.6 * remaining)
    note = f"(kill {delay:.3f} s after the checkpoint of iteration {2 * every}; seed {seed})"
    time.sleep(delay)
    assert proc.poll() is None, f"training finished before the kill {note}"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    proc.stderr.close()
    assert not (run / "weights.safetensors").exists(), note
    saved = load_tree(run / "checkpoints" / "last")["genlab"]["iteration"]
    assert 2 * every <= saved < max_steps and saved % every == 0, note

    resumed = subprocess.run(genlab_cli("train", "--resume", str(run), "--quiet"), env=child_env(),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert main(["train", str(cfg), "--out", str(tmp_path / "full"), "--quiet"]) == 0
    assert same_weights(run, tmp_path / "full"), f"resumed from iteration {saved} {note}"
    assert load_tree(run / "checkpoints" / "last")["genlab"]["iteration"] == max_steps


def wait_for_checkpoint(proc: subprocess.Popen, run: Path, iteration: int, timeout: float = 300) -> float:
    """Poll until ``run``'s last checkpoint is at least ``iteration``; return the time it was seen."""
    path = run / "checkpoints" / "last.json"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if json.loads(path.read_text())["tree"]["genlab"]["iteration"] >= iteration:
                return time.monotonic()
        except (OSError, ValueError, KeyError):
            pass
        assert proc.poll() is None, f"training ended before iteration {iteration}: {proc.stderr.read()!r}"
        assert time.monotonic() < deadline, f"no checkpoint of iteration {iteration} within {timeout} s"
        time.sleep(0.005)


# --- (b) a kill inside a checkpoint save -----------------------------------------------------

#: run in a subprocess: wrap the atomic writer so the process kills itself during save number
#: ``save`` (1-based), at ``stage``
KILL_DURING_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from genlab.utils import atomic as atomic_module

    stage, save, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    real = atomic_module.atomic_write
    saves = 0

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def atomic(path, write):
        global saves
        path = Path(path)
        tensors = path.name.endswith(".safetensors") and path.parent.name == "checkpoints"
        structure = path.name.endswith(".json") and path.parent.name == "checkpoints"
        if tensors:
            saves += 1
        if saves == save:
            if stage == "tensors-half-written" and tensors:
                tmp = atomic_module.temporary_path(path)
                write(tmp)
                os.truncate(tmp, tmp.stat().st_size // 2)
                die()
            if stage == "between-tensors-and-json" and structure:
                die()
            if stage == "json-half-written" and structure:
                tmp = atomic_module.temporary_path(path)
                write(tmp)
                os.truncate(tmp, tmp.stat().st_size // 2)
                die()
        result = real(path, write)
        if saves == save and stage == "after-json" and structure:
            die()
        return result

    atomic_module.atomic_write = atomic
    from genlab.cli.main import main
    sys.exit(main(argv))
    """
)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reference")
    cfg = write_config(root / "points.json", config(max_steps=20, checkpoint_every=5))
    assert main(["train", str(cfg), "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run"


@pytest.mark.parametrize(
    "stage, survivor",
    [("tensors-half-written", 5), ("between-tensors-and-json", 5), ("json-half-written", 5), ("after-json", 10)],
)
def test_kill_during_a_checkpoint_save_leaves_a_loadable_checkpoint(tmp_path, reference_run, stage, survivor):
    cfg = write_config(tmp_path / "points.json", config(max_steps=20, checkpoint_every=5))
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", KILL_DURING_SAVE, stage, "2",
                           "train", str(cfg), "--out", str(run), "--quiet"],
                          env=child_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    state = load_tree(run / "checkpoints" / "last")  # the pair of save 1 (or of save 2 once complete)
    assert state["genlab"]["iteration"] == survivor
    assert bool(temporaries(run)) == stage.endswith("half-written")
    # and training goes on from it to the weights of an uninterrupted run, removing the temporary
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert same_weights(run, reference_run)
    assert not (run / "checkpoints" / "last.previous.safetensors").exists()
    assert temporaries(run) == []


def temporaries(run: Path) -> list[str]:
    """Hidden ``.*.tmp`` files an interrupted atomic write left in the run or its checkpoints."""
    return sorted(p.name for folder in (run, run / "checkpoints") for p in folder.glob(".*.tmp"))


def test_stray_temporaries_are_removed_when_training_starts_and_the_checkpoint_is_untouched(
        tmp_path, reference_run):
    cfg = write_config(tmp_path / "points.json", config(max_steps=10, checkpoint_every=5))
    run = tmp_path / "run"
    # a new run into a folder where a killed start left temporaries (but no config.json yet)
    run.mkdir()
    (run / ".config.json.31337.tmp").write_text('{"half": ')
    assert main(["train", str(cfg), "--out", str(run), "--quiet"]) == 0
    assert temporaries(run) == []

    files = {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()}
    before = load_tree(run / "checkpoints" / "last")
    strays = {run / "checkpoints" / ".last.safetensors.4242.tmp": b"\x00" * 100,
              run / "checkpoints" / ".last.json.4243.tmp": b'{"format": "genlab-chec',
              run / ".weights.safetensors.4244.tmp": b"junk",
              run / ".config.json.4245.tmp": b"{"}
    for path, data in strays.items():
        path.write_bytes(data)
    assert len(temporaries(run)) == 4
    # nothing is left to do at max_steps 10: resuming only cleans up, the checkpoint stays as it was
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert temporaries(run) == []
    assert {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()} == files
    after = load_tree(run / "checkpoints" / "last")
    assert after["genlab"]["iteration"] == before["genlab"]["iteration"] == 10
    assert before["state_dict"].keys() == after["state_dict"].keys()
    assert all(torch.equal(before["state_dict"][k], after["state_dict"][k]) for k in before["state_dict"])
    # with temporaries again, resuming to 20 continues bit-identically to an uninterrupted run
    for path, data in strays.items():
        path.write_bytes(data)
    assert main(["train", "--resume", str(run), "--set", "train.max_steps=20", "--quiet"]) == 0
    assert temporaries(run) == []
    assert same_weights(run, reference_run)


# --- (c) non-finite loss or weights ----------------------------------------------------------


class Diverging(Family):
    """A linear map fitted to the identity, whose training goes wrong after ``good`` iterations:
    ``"loss"``: the loss becomes NaN; ``"gradient"``: the loss stays finite but its gradient is
    infinite (sqrt at 0), so gradient clipping turns the weights into NaN."""

    def __init__(self, modality, good: int, how: str) -> None:
        super().__init__(modality)
        self.linear = nn.Linear(2, 2)
        self.good, self.how, self.calls = good, how, 0

    def forward(self, batch):
        self.calls += 1
        loss = ((self.linear(batch) - batch) ** 2).mean()
        if self.calls > self.good:
            if self.how == "loss":
                loss = loss * float("nan")
            else:
                w = self.linear.weight
                loss = loss + torch.sqrt((w - w.detach()).abs()).sum()
        return loss, {}

    @torch.no_grad()
    def sample(self, n, *, sampler=None, steps=None, generator=None):
        return SampleResult(self.linear(torch.randn(n, 2, generator=generator)), nfe=1)


@pytest.mark.parametrize("how, good, message", [
    ("loss", 7, r"loss is nan at training step 7; stopped"),
    # the weights turn NaN in the step that ends at iteration 10, a checkpoint iteration
    ("gradient", 9, r"parameter 'family\.linear\.\w+' is not finite after training step 10; stopped"),
])
def test_non_finite_training_stops_with_one_line_and_keeps_the_good_checkpoint(
        tmp_path, monkeypatch, capsys, how, good, message):
    data = list(torch.randn(256, 2))
    monkeypatch.setattr(genlab.build, "build_family", lambda c: (
        Diverging(PointsModality(2), good, how), DataBundle(PointsModality(2), data, data[:32])))
    monkeypatch.setattr(genlab.build, "resolve_config", lambda c: dict(c))
    cfg = write_config(tmp_path / "c.json", {"family": {"name": "diverging"}, "train": {
        "max_steps": 20, "batch_size": 32, "checkpoint_every": 5, "accelerator": "cpu", "ema_decay": 0.9}})
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith("genlab: error: ") and __import__("re").search(message, err), err
    state = load_tree(tmp_path / "run" / "checkpoints" / "last")
    assert state["genlab"]["iteration"] == 5
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values())
    assert not (tmp_path / "run" / "weights.safetensors").exists()


# --- (d) sampling in chunks, interrupted and resumed -----------------------------------------


def test_interrupted_chunked_sampling_resumes_without_redoing_chunks(tmp_path, reference_run, monkeypatch, capsys):
    from genlab.sampling.run import Run

    def sample(out, *extra):
        return main(["sample", str(reference_run), "--n", "50", "--seed", "3", "--no-plot",
                     "--out", str(out), *extra])

    assert sample(tmp_path / "whole.npz", "--chunk-size", "16") == 0
    assert not (tmp_path / "whole.npz.chunks").exists()  # joined, then removed
    assert sample(tmp_path / "plain.npz") == 0
    assert sample(tmp_path / "one-chunk.npz", "--chunk-size", "64") == 0

    calls = []
    real = Run.sample

    def interrupted(self, n, **kw):
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, n, **kw)

    monkeypatch.setattr(Run, "sample", interrupted)
    assert sample(tmp_path / "s.npz", "--chunk-size", "16") == 130
    assert sorted(p.name for p in (tmp_path / "s.npz.chunks").iterdir()) == [
        "chunk-00000.safetensors", "chunk-00001.safetensors", "manifest.json"]
    assert sample(tmp_path / "s.npz", "--chunk-size", "16") == 2  # no silent restart
    assert "--resume" in capsys.readouterr().err
    calls.clear()
    assert sample(tmp_path / "s.npz", "--resume") == 0  # the chunk size comes from the manifest
    assert calls == [16, 2]  # chunks 2 and 3 only
    assert "4 chunks, 2 from an earlier run" in capsys.readouterr().out

    whole, resumed = np.load(tmp_path / "whole.npz"), np.load(tmp_path / "s.npz")
    assert resumed["samples"].shape == (50, 2)
    assert np.array_equal(whole["samples"], resumed["samples"]) and int(whole["nfe"]) == int(resumed["nfe"])
    # chunk 0 uses the run's seed itself: one chunk is a plain `genlab sample`
    assert np.array_equal(np.load(tmp_path / "plain.npz")["samples"], np.load(tmp_path / "one-chunk.npz")["samples"])
    assert not np.array_equal(whole["samples"][16:32], whole["samples"][:16])


def test_chunked_resume_refuses_changed_settings(tmp_path, reference_run, monkeypatch, capsys):
    from genlab.sampling.run import Run

    monkeypatch.setattr(Run, "sample", lambda self, n, **kw: (_ for _ in ()).throw(KeyboardInterrupt))
    args = ["sample", str(reference_run), "--n", "20", "--no-plot", "--out", str(tmp_path / "s.npz")]
    assert main(args + ["--chunk-size", "8"]) == 130
    capsys.readouterr()
    assert main(args + ["--resume", "--steps", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "manifest.json: key 'steps': cannot change on resume" in err
    assert main(["sample", str(reference_run), "--n", "20", "--resume", "--out", str(tmp_path / "other.npz")]) == 2
    assert "nothing to resume" in capsys.readouterr().err
