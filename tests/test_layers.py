"""The import graph of ``src/genlab`` (imports inside functions included) has no cycle, and every
import points down the layers that docs/architecture.md draws:

    foundation → chem → axes (modalities, networks, processes, flows) → trainable → data, samplers
    → families, classifiers → build → training, sampling, metrics → evaluation → api, bench → cli

and the sampling and evaluation commands run without Lightning (the trainer's library)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from support import SRC


#: module prefixes in layer order; a module may import its own layer or lower ones
LAYERS = [
    ["genlab.errors", "genlab.registry", "genlab.paths", "genlab.config", "genlab.utils"],
    ["genlab.chem"],
    ["genlab.modalities", "genlab.generative.processes", "genlab.generative.flows", "genlab.networks"],
    ["genlab.trainable"],  # the trainer's contract and the FAMILIES registry
    ["genlab.data", "genlab.generative.samplers"],
    ["genlab.generative.families", "genlab.classifiers"],
    ["genlab.build"],
    ["genlab.metrics", "genlab.sampling", "genlab.training"],
    ["genlab.evaluation"],
    ["genlab.api", "genlab.evaluation.bench"],  # workflows: train, sample and evaluate together
    ["genlab.cli"],
]
#: packages whose __init__ holds only a docstring (or lazy attribute access): not a layer
NEUTRAL = {"genlab", "genlab.generative"}


def import_graph() -> nx.DiGraph:
    modules = {}
    for f in (SRC / "genlab").rglob("*.py"):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = f
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, f in modules.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            graph.add_edges_from((name, t) for t in targets if t in modules and t != name)
    return graph


def layer(module: str) -> int | None:
    """The layer of the longest prefix that names ``module`` or a package above it."""
    matches = [(len(p), rank) for rank, prefixes in enumerate(LAYERS) for p in prefixes
               if module == p or module.startswith(p + ".")]
    return max(matches)[1] if matches else None


def test_import_graph_has_no_cycle():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], f"import cycles: {cycles[:5]}"


def test_every_module_has_a_layer():
    assert [m for m in import_graph() if m not in NEUTRAL and layer(m) is None] == []


def test_imports_point_down_the_layers():
    upward = [(a, b) for a, b in import_graph().edges
              if a not in NEUTRAL and b not in NEUTRAL and layer(b) > layer(a)]
    assert upward == [], f"imports of a higher layer: {upward}"


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_sampling_and_evaluation_do_not_import_lightning(command):
    code = (f"import sys, genlab.cli.cmd_{command} as c, genlab.sampling.run, genlab.evaluation.registry; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
