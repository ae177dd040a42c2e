"""What the few-shot transfer tests share: the tiny teacher's config and tiny student configs."""

from __future__ import annotations

NETWORK = {"name": "small_cnn", "classes": 10, "channels": [4, 8], "hidden": 16}
TEACHER = {
    "data": {"name": "mnist", "limit": 2000, "limit_heldout": 200},
    "family": {"name": "classifier"},
    "network": NETWORK,
    "train": {"max_steps": 40, "batch_size": 64, "lr": 3e-3, "ema_decay": None, "grad_clip": None,
              "accelerator": "cpu", "log_every": 20, "checkpoint_every": 40},
}
DATA = {"name": "few_shot_transfer", "base": {"name": "mnist", "limit": 2000, "limit_heldout": 200},
        "pool_fraction": 0.5, "split_seed": 0, "seed": 0}


def student_config(teacher_run, family: str = "startup", **keys) -> dict:
    """A tiny student config: ``family`` (startup, with ``teacher_run`` as its teacher, or simclr)
    with ``keys``, 6 steps of 32 + 32 images."""
    section = {"name": family, **({"teacher": str(teacher_run)} if family == "startup" else {}), **keys}
    return {"data": DATA, "family": section, "network": NETWORK,
            "train": {"max_steps": 6, "batch_size": 32, "lr": 1e-3, "ema_decay": None, "grad_clip": None,
                      "accelerator": "cpu", "log_every": 3, "checkpoint_every": 6}}
