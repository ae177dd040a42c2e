"""Checkpoints without pickle: tensors in ``*.safetensors``, everything else in ``*.json``.

:class:`SafetensorsCheckpointIO` is a Lightning ``CheckpointIO`` plugin, so the trainer's own
save and resume (``trainer.fit(ckpt_path=...)``) go through it. A checkpoint path ``DIR/last``
(a ``.ckpt`` suffix is dropped) becomes two files:

* ``DIR/last.safetensors``: every tensor of the checkpoint (weights, EMA weights, optimizer
  moments, the torch RNG state), named by where it sits in the checkpoint tree;
* ``DIR/last.json``: the rest of the tree (optimizer param groups, loop counters, callback
  state, numpy/python RNG states as lists and ints), with ``{"$tensor": name}`` where a tensor was.

Both files carry the same random token; a pair that was not written together is refused. Each
file is written atomically (:func:`genlab.utils.atomic.atomic_write`: a hidden temporary file
beside it, fsync, ``os.replace``), the tensors first; until the new JSON is in place the previous
tensors stay reachable as ``DIR/last.previous.safetensors`` (a hard link), so a process killed at
any moment of a save leaves a loadable checkpoint: the new pair or the previous one, plus at
worst a stray temporary that training removes when it next starts. The JSON also records the
genlab version that wrote it.

JSON encoding of what plain JSON cannot hold (each a one-key object whose key starts with ``$``):
``$tensor``, ``$tuple``, ``$dict`` (keys that are not strings, or that start with ``$``),
``$float`` (nan, inf), ``$ndarray``, ``$np`` (numpy scalars), ``$bytes`` (base64). Anything else
is refused with the place it was found, rather than pickled.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.pytorch.callbacks import Checkpoint
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from genlab import __version__
from genlab.errors import GenlabError
from genlab.sampling.weights import WEIGHTS_VERSION
from genlab.utils import atomic

FORMAT = "genlab-checkpoint"
VERSION = 1
_TOKEN_KEY = "genlab_token"


class SafetensorsCheckpointIO(CheckpointIO):
    """Lightning checkpoint IO that writes safetensors + JSON and never unpickles."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError("SafetensorsCheckpointIO takes no storage_options")
        save_tree(checkpoint, path)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        device = map_location if isinstance(map_location, (str, torch.device)) else "cpu"
        return load_tree(path, device=device)

    def remove_checkpoint(self, path: Any) -> None:
        for file in checkpoint_files(path):
            file.unlink(missing_ok=True)


class LastCheckpoint(Checkpoint):
    """Save the training state to ``path`` every ``every`` iterations and after the last one.

    A Lightning ``Checkpoint`` callback, so Lightning runs it after the other callbacks of a
    batch (the EMA update included). Iterations are counted by the module (``pl_module.iteration``),
    not by ``global_step``, which counts each optimizer of an adversarial family.
    """

    def __init__(self, path: str | Path, every: int, max_steps: int) -> None:
        self.path = Path(path)
        self.every = every
        self.max_steps = max_steps

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        it = pl_module.iteration
        if it % self.every == 0 or it >= self.max_steps or trainer.should_stop:  # should_stop: e.g. max_time
            # a finite loss can still give non-finite gradients: never overwrite a good state with one
            bad = next((name for name, p in pl_module.named_parameters() if not torch.isfinite(p).all()), None)
            if bad is not None:
                raise GenlabError(f"parameter '{bad}' is not finite after training step {it}; stopped, "
                                  f"{self.path.name} keeps the last saved state; lower train.lr or set train.grad_clip",
                                  path=self.path.parent)
            trainer.save_checkpoint(self.path, weights_only=False)


def checkpoint_files(path: str | Path) -> tuple[Path, Path]:
    """``(tensors, structure)`` files of the checkpoint at ``path`` (``.ckpt`` suffix ignored)."""
    path = Path(path)
    if path.suffix in (".ckpt", ".safetensors", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".safetensors"), path.with_name(path.name + ".json")


def checkpoint_exists(path: str | Path) -> bool:
    return all(f.is_file() for f in checkpoint_files(path))


def save_tree(tree: Mapping[str, Any], path: str | Path) -> None:
    """Write a checkpoint tree (nested dicts/lists of tensors and plain values) to ``path``."""
    tensor_file, json_file = checkpoint_files(path)
    tensor_file.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    encoded = _encode(tree, "", tensors)
    token = uuid.uuid4().hex
    backup = _backup_file(tensor_file)
    if _token_of(tensor_file) is not None and _token_of(tensor_file) == _json_token(json_file):
        # keep the complete pair's tensors under a second name until the new JSON is in place, so
        # a save killed between the two renames leaves the previous checkpoint loadable
        backup.unlink(missing_ok=True)
        try:
            os.link(tensor_file, backup)
        except OSError:  # a file system without hard links
            shutil.copyfile(tensor_file, backup)
    atomic.atomic_write(tensor_file, lambda tmp: save_file(tensors, str(tmp), metadata={_TOKEN_KEY: token}))
    document = {"format": FORMAT, "version": VERSION, "genlab_version": __version__, "token": token, "tree": encoded}
    write_json(json_file, document)
    backup.unlink(missing_ok=True)


def load_tree(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_tree`; tensors are placed on ``device``."""
    tensor_file, json_file = checkpoint_files(path)
    for file in (tensor_file, json_file):
        if not file.is_file():
            raise GenlabError("checkpoint file is missing", path=file)
    try:
        document = json.loads(json_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GenlabError(f"cannot read checkpoint structure: {exc}", path=json_file) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise GenlabError(f"not a {FORMAT} file", path=json_file)
    if document.get("version") != VERSION:
        raise GenlabError(
            f"checkpoint format version {document.get('version')} (written by genlab "
            f"{document.get('genlab_version', '?')}) is not version {VERSION}, which genlab {__version__} reads",
            path=json_file,
        )
    backup = _backup_file(tensor_file)
    if _token_of(tensor_file) != document.get("token") and _token_of(backup) == document.get("token"):
        tensor_file = backup  # a save was killed after renaming its tensors, before its JSON
    try:
        with safe_open(str(tensor_file), framework="pt") as f:
            token = (f.metadata() or {}).get(_TOKEN_KEY)
        tensors = load_file(str(tensor_file), device=str(device))
    except (SafetensorError, OSError) as exc:
        raise GenlabError(f"cannot read checkpoint tensors: {exc}", path=tensor_file) from None
    if token != document.get("token"):
        raise GenlabError(f"does not belong with {json_file.name} (written by a different save)", path=tensor_file)
    return _decode(document["tree"], tensors)


def _backup_file(tensor_file: Path) -> Path:
    """Where :func:`save_tree` keeps the previous tensors while it replaces a checkpoint."""
    return tensor_file.with_name(tensor_file.stem + ".previous.safetensors")


def _token_of(tensor_file: Path) -> str | None:
    """The pairing token of a tensors file, or ``None`` if it is missing or unreadable."""
    try:
        with safe_open(str(tensor_file), framework="pt") as f:
            return (f.metadata() or {}).get(_TOKEN_KEY)
    except (SafetensorError, OSError):
        return None


def _json_token(json_file: Path) -> str | None:
    try:
        document = json.loads(json_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document.get("token") if isinstance(document, dict) else None


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON (NaN and infinities refused), atomically."""
    atomic.atomic_write_json(path, obj)


def save_weights(state_dict: Mapping[str, torch.Tensor], path: str | Path, metadata: Mapping[str, str] | None = None) -> None:
    """A plain safetensors file of model weights (e.g. ``RUN/weights.safetensors``), atomically.
    The metadata records the genlab version and :data:`WEIGHTS_VERSION`."""
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state_dict.items()}
    metadata = {"genlab_version": __version__, "format_version": str(WEIGHTS_VERSION), **(metadata or {})}
    atomic.atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


# --- the tree <-> JSON codec -------------------------------------------------------------------


def _encode(obj: Any, where: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        if obj.layout is not torch.strided or obj.is_quantized:
            raise TypeError(f"checkpoint entry {where or '/'}: only dense tensors can be stored")
        name = where or "/"
        while name in tensors:  # two paths that read the same
            name += "'"
        tensors[name] = obj.detach().to("cpu", copy=True).contiguous()
        return {"$tensor": name}
    if isinstance(obj, np.generic):  # before float: np.float64 is a float
        return {"$np": [obj.dtype.str, _encode(obj.item(), where, tensors)]}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"$float": repr(obj)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"checkpoint entry {where}: numpy arrays of {obj.dtype} are not stored")
        return {"$ndarray": [obj.dtype.str, list(obj.shape), obj.ravel().tolist()]}
    if isinstance(obj, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, f"{where}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{where}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: _encode(v, f"{where}/{k}", tensors) for k, v in obj.items()}
        return {"$dict": [[_encode(k, where, {}), _encode(v, f"{where}/{k}", tensors)] for k, v in obj.items()]}
    raise TypeError(
        f"checkpoint entry {where or '/'} is a {type(obj).__module__}.{type(obj).__qualname__}; "
        "only tensors, numbers, strings, lists, tuples and dicts are stored (never pickled)"
    )


def _decode(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (tag, value), = obj.items()
        if tag == "$tensor":
            return tensors[value]
        if tag == "$tuple":
            return tuple(_decode(v, tensors) for v in value)
        if tag == "$dict":
            return {_decode(k, tensors): _decode(v, tensors) for k, v in value}
        if tag == "$float":
            return float(value)
        if tag == "$np":
            return np.dtype(value[0]).type(_decode(value[1], tensors))
        if tag == "$ndarray":
            return np.asarray(value[2], dtype=np.dtype(value[0])).reshape(value[1])
        if tag == "$bytes":
            return base64.b64decode(value)
    return {k: _decode(v, tensors) for k, v in obj.items()}
