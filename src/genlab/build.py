"""From a config to objects: ``build_family(config) -> (family, bundle)``.

The order is the one :mod:`genlab.generative.families.registry` documents: the dataset gives the modality;
the process is built alone (no weights); the network learns its input shapes from the modality;
the family gets all three injected::

    bundle  = DATASETS.build(cfg["data"])
    process = PROCESSES.build(cfg["process"])
    network = NETWORKS.build(cfg["network"], shapes=bundle.modality.shapes())
    family  = FAMILIES.build(cfg["family"], modality=bundle.modality, process=process, network=network)

A continual-learning config adds a ``stream`` section (:data:`~genlab.classifiers.continual.streams.STREAMS`):
:func:`build_stream` cuts the data bundle into experiences, and ``genlab train`` hands such a
config to the stream runner (:mod:`genlab.training.continual`) instead of the one-set trainer.

Families without a process (flows, VAEs, GANs) omit the ``process`` section and get no
``process`` argument. A family with several networks writes the ``network`` section as a mapping
of roles, each an ordinary network section, and gets one argument per role::

    network:
      generator: {name: mlp_decoder, latent_dim: 2}
      critic: {name: mlp_encoder, hidden: 256}

:func:`resolve_config` writes out every constructor default, so ``RUN/config.json`` rebuilds the
same objects even if a default changes later.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from genlab.classifiers.continual.experience import Stream
from genlab.classifiers.continual.streams import STREAMS
from genlab.data.bundle import DataBundle
from genlab.data.registry import DATASETS
from genlab.errors import ConfigError
from genlab.trainable import Trainable
from genlab.trainable import FAMILIES
from genlab.generative.processes.registry import PROCESSES
from genlab.modalities.base import Modality
from genlab.networks.registry import NETWORKS

#: top-level sections of a config; anything else is a misspelling
SECTIONS = ("data", "family", "process", "network", "train", "stream")


def build_family(config: Mapping[str, Any]) -> tuple[Trainable, DataBundle]:
    """Build the data bundle, then the process and network, then the family around them."""
    check_sections(config)
    if "stream" in config:
        raise ConfigError("a config with a stream trains experience by experience: genlab train (or "
                          "genlab.training.continual.train_stream) runs it", key="stream")
    DATASETS.load_providers()
    bundle = DATASETS.build(_section(config, "data"))
    return build_family_from_modality(config, bundle.modality), bundle


def build_family_from_modality(config: Mapping[str, Any], modality: Modality) -> Trainable:
    """The process and network, then the family around them, for a ready ``modality`` (e.g. one
    rebuilt from a run directory's ``modality.json``); the ``data`` section is not read."""
    check_sections(config)
    FAMILIES.load_providers()
    injected: dict[str, Any] = {}
    if "process" in config:
        injected["process"] = PROCESSES.build(config["process"])
    sections = _section(config, "network")
    for role, section in network_roles(sections).items():
        try:
            injected[role] = NETWORKS.build(section, shapes=network_shapes(modality, section))
        except ConfigError as exc:  # name the role's key: network.<role>.<argument>
            if "name" not in sections and exc.key and exc.key.startswith("network."):
                exc.key = f"network.{role}.{exc.key[len('network.'):]}"
            raise
    return FAMILIES.build(_section(config, "family"), modality=modality, **injected)


def build_stream(config: Mapping[str, Any], bundle: DataBundle) -> Stream:
    """The experiences of the config's ``stream`` section, cut from ``bundle`` (built from ``data``)."""
    check_sections(config)
    return STREAMS.build(_section(config, "stream"), bundle=bundle)


def network_shapes(modality: Modality, section: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shapes of the view the network reads or emits (its class's ``view``, default "state")."""
    view = getattr(NETWORKS.get(section["name"]), "view", "state")
    try:
        return modality.view_shapes(view)
    except ValueError as exc:
        raise ConfigError(str(exc), key="network.name") from None


def network_roles(section: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``{"network": section}`` for one network; ``{role: subsection}`` for a mapping of roles."""
    if "name" in section:
        return {"network": section}
    for role, sub in section.items():
        if not isinstance(sub, Mapping) or "name" not in sub:
            raise ConfigError("expected a network section with a 'name' (or a mapping of roles to "
                              "network sections)", key=f"network.{role}")
    if not section:
        raise ConfigError("the network section needs a 'name'", key="network")
    return dict(section)


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with every constructor default written out (what ``RUN/config.json`` holds)."""
    DATASETS.load_providers()
    FAMILIES.load_providers()
    out = json.loads(json.dumps(dict(config)))
    tables = {"data": DATASETS, "family": FAMILIES, "process": PROCESSES, "stream": STREAMS}
    for name, table in tables.items():
        if name in out:
            out[name] = _resolved(table, out[name])
    if "family" in out:  # nested sections a family declares (a continual learner's method)
        for key, table in getattr(FAMILIES.get(out["family"]["name"]), "subsections", {}).items():
            value = out["family"].get(key)
            section = {"name": value} if isinstance(value, str) else value
            if isinstance(section, Mapping) and "name" in section:
                out["family"][key] = _resolved(table, section)
    if "network" in out:
        roles = network_roles(out["network"])
        if "name" in out["network"]:
            out["network"] = _resolved(NETWORKS, out["network"])
        else:
            out["network"] = {role: _resolved(NETWORKS, sub) for role, sub in roles.items()}
    return out


def _resolved(table: Any, section: Mapping[str, Any]) -> dict[str, Any]:
    defaults = {k: _plain(v) for k, v in table.defaults(section["name"]).items()}
    return {"name": section["name"], **defaults, **{k: v for k, v in section.items() if k != "name"}}


def check_sections(config: Mapping[str, Any]) -> None:
    for key, value in config.items():
        if key not in SECTIONS:
            raise ConfigError(f"unknown section; sections are {', '.join(SECTIONS)}", key=key)
        if not isinstance(value, Mapping):
            raise ConfigError("a section must be a mapping", key=key)


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    if name not in config:
        raise ConfigError("missing section", key=name)
    return config[name]


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a default value (tuples become lists)."""
    return json.loads(json.dumps(value))
