"""From a config to objects: ``build_family(config) -> (family, bundle)``.

The order is the one :mod:`genlab.families.registry` documents: the dataset gives the modality;
the process is built alone (no weights); the network learns its input shapes from the modality;
the family gets all three injected::

    bundle  = DATASETS.build(cfg["data"])
    process = PROCESSES.build(cfg["process"])
    network = NETWORKS.build(cfg["network"], shapes=bundle.modality.shapes())
    family  = FAMILIES.build(cfg["family"], modality=bundle.modality, process=process, network=network)

:func:`resolve_config` writes out every constructor default, so ``RUN/config.json`` rebuilds the
same objects even if a default changes later.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from genlab.data.bundle import DataBundle
from genlab.errors import ConfigError
from genlab.families.base import Family

#: top-level sections of a config; anything else is a misspelling
SECTIONS = ("data", "family", "process", "network", "train")


def build_family(config: Mapping[str, Any]) -> tuple[Family, DataBundle]:
    """Build the data bundle, then the process and network, then the family around them."""
    from genlab.data.registry import DATASETS, load_providers
    from genlab.families.registry import FAMILIES
    from genlab.families.registry import load_providers as load_families
    from genlab.networks.registry import NETWORKS
    from genlab.processes.registry import PROCESSES

    check_sections(config)
    load_providers()
    load_families()
    bundle = DATASETS.build(_section(config, "data"))
    process = PROCESSES.build(_section(config, "process"))
    network = NETWORKS.build(_section(config, "network"), shapes=bundle.modality.shapes())
    family = FAMILIES.build(_section(config, "family"), modality=bundle.modality, process=process, network=network)
    return family, bundle


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with every constructor default written out (what ``RUN/config.json`` holds)."""
    from genlab.data.registry import DATASETS, load_providers
    from genlab.families.registry import FAMILIES
    from genlab.families.registry import load_providers as load_families
    from genlab.networks.registry import NETWORKS
    from genlab.processes.registry import PROCESSES

    load_providers()
    load_families()
    out = json.loads(json.dumps(dict(config)))
    tables = {"data": DATASETS, "family": FAMILIES, "process": PROCESSES, "network": NETWORKS}
    for name, table in tables.items():
        if name in out:
            section = out[name]
            defaults = {k: _plain(v) for k, v in table.defaults(section["name"]).items()}
            out[name] = {"name": section["name"], **defaults, **{k: v for k, v in section.items() if k != "name"}}
    return out


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
