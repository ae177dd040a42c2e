"""Checkpoints without pickle: tensors in ``*.safetensors``, everything else in ``*.json``.

:class:`SafetensorsCheckpointIO` is a Lightning ``CheckpointIO`` plugin, so the trainer's own
save and resume (``trainer.fit(ckpt_path=...)``) go through it. A checkpoint path ``DIR/last``
(a ``.ckpt`` suffix is dropped) becomes two files:

* ``DIR/last.safetensors``: every tensor of the checkpoint (weights, EMA weights, optimizer
  moments, the torch RNG state), named by where it sits in the checkpoint tree;
* ``DIR/last.json``: the rest of the tree (optimizer param groups, loop counters, callback
  state, numpy/python RNG states as lists and ints), with ``{"$tensor": name}`` where a tensor was.

Both files carry the same random token; a pair that was not written together is refused. Each
file is written atomically (temporary file, flush, fsync, ``os.replace``), the tensors first.

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
import uuid
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.pytorch.callbacks import Checkpoint
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from genlab.errors import GenlabError

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
        if it % self.every == 0 or it >= self.max_steps:
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
    _atomic(tensor_file, lambda tmp: save_file(tensors, str(tmp), metadata={_TOKEN_KEY: token}))
    document = {"format": FORMAT, "version": VERSION, "token": token, "tree": encoded}
    write_json(json_file, document)


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
        raise GenlabError(f"checkpoint format version {document.get('version')} is not {VERSION}", path=json_file)
    try:
        with safe_open(str(tensor_file), framework="pt") as f:
            token = (f.metadata() or {}).get(_TOKEN_KEY)
        tensors = load_file(str(tensor_file), device=str(device))
    except (SafetensorError, OSError) as exc:
        raise GenlabError(f"cannot read checkpoint tensors: {exc}", path=tensor_file) from None
    if token != document.get("token"):
        raise GenlabError(f"does not belong with {json_file.name} (written by a different save)", path=tensor_file)
    return _decode(document["tree"], tensors)


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=1, allow_nan=False) + "\n"
    _atomic(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def save_weights(state_dict: Mapping[str, torch.Tensor], path: str | Path, metadata: Mapping[str, str] | None = None) -> None:
    """A plain safetensors file of model weights (e.g. ``RUN/weights.safetensors``), atomically."""
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state_dict.items()}
    _atomic(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=dict(metadata or {})))


def _atomic(path: Path, write: Any) -> None:
    """Write through ``write(tmp_path)``, fsync, then rename over ``path``; fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # platforms without directory handles
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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
