"""Configs: YAML or JSON files, ``--set key=value`` overrides, strict keys and types.

A config is a mapping of sections (``data``, ``family``, ``process``, ``network``, ``train``);
each section's keys are the constructor arguments of the class its ``name`` selects
(:mod:`genlab.registry`). Files are read with the YAML *safe* loader: nothing is unpickled.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from genlab.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, also reading ``1e-4`` (no dot) as a float, as YAML 1.2 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def safe_yaml(text: str) -> Any:
    """Parse YAML with the safe loader (nothing is constructed but plain data)."""
    return yaml.load(text, Loader=_Loader)


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON config; errors name the file and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such config file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", path=path) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else safe_yaml(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=path, line=line) from None
    if data is None:
        raise ConfigError("config file is empty", path=path)
    if not isinstance(data, dict):
        raise ConfigError("a config must be a mapping of sections", path=path)
    return data


def apply_overrides(config: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides; values are parsed as YAML scalars."""
    out = json.loads(json.dumps(config))  # deep copy of a JSON-like tree
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not of the form key=value", key=item)
        dotted, raw = item.split("=", 1)
        keys = dotted.strip().split(".")
        if not all(keys):
            raise ConfigError(f"override '{item}' has an empty key", key=dotted)
        try:
            value = safe_yaml(raw)
        except yaml.YAMLError:
            value = raw
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"'{k}' is not a section", key=dotted)
        node[keys[-1]] = value
    return out


def check_value_type(value: Any, annotation: Any, *, key: str) -> Any:
    """Check ``value`` against a simple annotation; ints are accepted where floats are."""
    if annotation is Any or annotation is None or annotation is typing.Any:
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        errors = []
        for arm in args:
            try:
                return check_value_type(value, arm, key=key)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(f"expected {_type_name(annotation)}, got {value!r}", key=key)
    if annotation is type(None):
        if value is None:
            return value
        raise ConfigError(f"expected null, got {value!r}", key=key)
    if origin in (list, tuple, typing.Sequence) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"expected a list, got {value!r}", key=key)
        return value
    if origin is dict or annotation is dict or origin is typing.Mapping:
        if not isinstance(value, dict):
            raise ConfigError(f"expected a mapping, got {value!r}", key=key)
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {value!r}", key=key)
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"expected an integer, got {value!r}", key=key)
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {value!r}", key=key)
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, got {value!r}", key=key)
        return value
    if typing.get_origin(annotation) is typing.Literal:
        if value not in args:
            raise ConfigError(f"expected one of {list(args)}, got {value!r}", key=key)
        return value
    return value


def typed_kwargs(cls: Callable[..., Any], kwargs: Mapping[str, Any], *, section: str) -> dict[str, Any]:
    """Check each keyword against ``cls``'s annotations; return the (coerced) keywords."""
    target = cls.__init__ if isinstance(cls, type) else cls
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: skip type checks, keep key checks
        hints = {}
    return {
        k: (check_value_type(v, hints[k], key=f"{section}.{k}") if k in hints else v)
        for k, v in kwargs.items()
    }


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))
