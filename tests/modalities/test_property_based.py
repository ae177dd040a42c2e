"""Property-based checks (hypothesis) that no input makes a reader raise anything unexpected.

* the molecule-file reader, on arbitrary bytes in every format it reads: records or
  :class:`DataError` (a file-level problem), nothing else;
* the graph decoder, on arbitrary integer tensors inside and outside the class ranges: a
  molecule, ``None`` or :class:`VocabularyError`;
* the config loader and the train section, on arbitrary YAML: a mapping / a TrainConfig, or
  :class:`ConfigError`.

``pytest tests/test_property_based.py --hypothesis-show-statistics`` prints how many examples
each property tried.
"""

from __future__ import annotations

import gzip
import string

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rdkit import Chem, RDLogger

from genlab.build import check_sections
from genlab.chem.graph import build_mol, decode_graph
from genlab.chem.vocab import AtomVocab
from genlab.config import load_config
from genlab.data.smiles_io import read_molecule_file
from genlab.errors import ConfigError, DataError, VocabularyError
from genlab.training.config import TrainConfig

RDLogger.DisableLog("rdApp.*")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: bytes that look like molecule files often enough to reach the parsers' deeper branches
SMILES_ALPHABET = st.sampled_from([b"C", b"c", b"O", b"N", b"1", b"(", b")", b"=", b"#", b"[", b"]", b"+", b"-",
                                   b"\n", b"\r\n", b" ", b"\t", b",", b'"', b"smiles", b"\xef\xbb\xbf", b"\xff",
                                   b"$$$$\n", b"M  END\n", b"\x00"])
FILE_BYTES = st.one_of(st.binary(max_size=400), st.lists(SMILES_ALPHABET, max_size=80).map(b"".join))


def read_all(path) -> int:
    return sum(1 for _ in read_molecule_file(path))


@SETTINGS
@given(content=FILE_BYTES, suffix=st.sampled_from([".smi", ".txt", ".csv", ".sdf", ".dat"]),
       compress=st.sampled_from(["no", "gzip", "raw-as-gz"]))
def test_reader_raises_only_data_errors(tmp_path_factory, content, suffix, compress):
    folder = tmp_path_factory.mktemp("reader", numbered=True)
    name = "f" + suffix + (".gz" if compress != "no" else "")
    path = folder / name
    path.write_bytes(gzip.compress(content) if compress == "gzip" else content)
    try:
        for record in read_molecule_file(path):
            assert isinstance(record.line, int) and record.line >= 1
            assert (record.smiles is None) != (record.error is None)
            assert record.smiles is None or isinstance(record.smiles, str)
    except DataError as exc:
        assert str(exc).startswith(str(path))  # file-level problems name the file


VOCAB = AtomVocab.from_pairs([("C", 0), ("N", 0), ("O", 0), ("F", 0), ("N", 1), ("O", -1)], 9)


@st.composite
def graphs(draw):
    n = draw(st.integers(0, 9))
    atoms = draw(arrays(np.int64, (n,), elements=st.integers(-3, len(VOCAB.atoms) + 3)))
    adj = draw(arrays(np.int64, (n, n), elements=st.integers(-2, 6)))
    if draw(st.booleans()):  # often symmetric and within range, as samplers produce
        adj = np.triu(np.clip(adj, 0, 3), 1)
        adj = adj + adj.T
        atoms = np.clip(atoms, 0, len(VOCAB.atoms))
    return atoms, adj


@settings(max_examples=500, deadline=None)
@given(graph=graphs())
def test_decoder_gives_a_molecule_none_or_a_vocabulary_error(graph):
    atoms, adj = graph
    try:
        mol = decode_graph(atoms, adj, VOCAB)
    except VocabularyError:
        out_of_range = (atoms > len(VOCAB.atoms)).any() or ((np.triu(adj, 1) > 3) | (np.triu(adj, 1) < 0)).any()
        assert out_of_range
        return
    if mol is not None:
        assert isinstance(mol, Chem.Mol) and mol.GetNumAtoms() == int((atoms > 0).sum())
        assert Chem.MolFromSmiles(Chem.MolToSmiles(mol)) is not None
    else:
        assert build_mol(atoms, adj, VOCAB).GetNumAtoms() == int((atoms > 0).sum())


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(string.printable, max_size=12))
KEYS = st.sampled_from(["train", "data", "family", "network", "process", "name", "max_steps", "lr", "betas",
                        "batch_size", "ema_decay", "grad_clip", "seed", "precision", "accelerator", "x"])
TREES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(KEYS, inner, max_size=5)), max_leaves=20)


@SETTINGS
@given(text=st.one_of(TREES.map(lambda t: yaml.safe_dump(t, allow_unicode=True)), st.text(max_size=200),
                      st.binary(max_size=200).map(lambda b: b.decode("latin-1"))),
       raw=st.one_of(st.none(), st.binary(max_size=60)))
def test_config_loader_gives_a_mapping_or_a_config_error(tmp_path_factory, text, raw):
    path = tmp_path_factory.mktemp("config", numbered=True) / "c.yaml"
    if raw is None:
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(raw)
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))
        return
    assert isinstance(config, dict)
    try:
        check_sections(config)
        train = TrainConfig.from_dict(config.get("train"))
    except ConfigError:
        return
    assert TrainConfig.from_dict(train.to_dict()) == train
