"""Registries: names in configs map to classes, never to if/elif chains.

``NETWORKS.register("mlp")`` decorates a class; ``NETWORKS.build({"name": "mlp", "hidden": 64})``
constructs it, rejecting keys that are not constructor arguments (config keys equal constructor
arguments).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, Generic, Mapping, TypeVar

from genlab.config import typed_kwargs
from genlab.errors import ConfigError
from genlab.utils.checks import ImpossibleValue

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of constructors for one axis (modality, process, network, family, ...)."""

    def __init__(self, kind: str, providers: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._table: dict[str, Callable[..., T]] = {}
        self._providers = providers  # modules whose import registers more entries
        self._providers_loaded = False

    def load_providers(self) -> None:
        """Import the provider modules once (each registers its entries on import)."""
        if self._providers_loaded:
            return
        self._providers_loaded = True  # set first: a provider may look entries up while importing
        for module in self._providers:
            importlib.import_module(module)

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorate(obj: Callable[..., T]) -> Callable[..., T]:
            if name in self._table:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._table[name] = obj
            return obj

        return decorate

    def names(self) -> list[str]:
        self.load_providers()
        return sorted(self._table)

    def __contains__(self, name: str) -> bool:
        self.load_providers()
        return name in self._table

    def get(self, name: str) -> Callable[..., T]:
        self.load_providers()
        try:
            return self._table[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} '{name}'; known: {', '.join(self.names()) or '(none)'}",
                key=f"{self.kind}.name",
            ) from None

    def build(self, config: Mapping[str, Any], **injected: Any) -> T:
        """Construct ``config["name"]`` with the remaining keys as keyword arguments.

        ``injected`` are objects built elsewhere (a modality, a network) that the constructor
        needs; they are not config keys.
        """
        if not isinstance(config, Mapping):
            raise ConfigError(f"the {self.kind} section must be a mapping, got {config!r}", key=self.kind)
        if "name" not in config:
            raise ConfigError(f"the {self.kind} section needs a 'name'", key=self.kind)
        cls = self.get(str(config["name"]))
        kwargs = {k: v for k, v in config.items() if k != "name"}
        check_kwargs(cls, kwargs, section=self.kind)
        kwargs = typed_kwargs(cls, kwargs, section=self.kind)
        try:
            return cls(**kwargs, **injected)
        except ImpossibleValue as exc:  # a checked argument: its config key is section.argument
            if exc.argument in inspect.signature(cls).parameters:
                raise ConfigError(exc.reason, key=f"{self.kind}.{exc.argument}") from exc
            raise ConfigError(f"{config['name']} cannot be built with these values: {exc.argument} {exc.reason}",
                              key=self.kind) from exc
        except (ValueError, RuntimeError) as exc:  # an impossible value the constructor (or torch) refused
            message = " ".join(str(exc).split()) or type(exc).__name__
            raise ConfigError(f"{config['name']} cannot be built with these values: {message}", key=self.kind) from exc

    def defaults(self, name: str) -> dict[str, Any]:
        """The constructor's default arguments: what a resolved config records."""
        sig = inspect.signature(self.get(name))
        return {
            p.name: p.default
            for p in sig.parameters.values()
            if p.default is not inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }


def check_kwargs(cls: Callable[..., Any], kwargs: Mapping[str, Any], *, section: str) -> None:
    """Raise :class:`ConfigError` for a key that ``cls`` does not accept."""
    sig = inspect.signature(cls)
    params = sig.parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    for key in kwargs:
        if key not in params or params[key].kind is inspect.Parameter.VAR_POSITIONAL:
            allowed = sorted(
                n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            )
            raise ConfigError(
                f"unknown key; {getattr(cls, '__name__', cls)} accepts: {', '.join(allowed)}",
                key=f"{section}.{key}",
            )
