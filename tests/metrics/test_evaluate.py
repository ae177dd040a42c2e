"""``genlab evaluate`` on sample sets whose metric values are known."""

import json

import numpy as np
import pytest

from genlab.chem.vocab import AtomVocab
from genlab.cli.main import main
from genlab.data.graph_samples import read_graph_samples, write_graph_samples
from genlab.errors import DataError
from genlab.metrics.evaluate import KEYS, evaluate

REFERENCE = ["CCO", "CC(C)O", "c1ccccc1", "CC(=O)O", "CCN", "C1CCCCC1", "OCCO", "CC#N", "CCOC", "NCC(=O)O",
             "c1ccc2ccccc2c1", "C1CC2CCC1C2"]  # the last two have two-ring scaffolds (MOSES Scaf needs >= 2 rings)


@pytest.fixture()
def files(tmp_path):
    ref = tmp_path / "ref.smi"
    ref.write_text("\n".join(REFERENCE) + "\n")
    train = tmp_path / "train.smi"
    train.write_text("OCC\nCCC\n")  # OCC is ethanol written another way
    gen = tmp_path / "gen.smi"
    # 6 samples: ethanol twice, benzene, a malformed SMILES, a non-UTF-8 line, two fragments
    gen.write_bytes(b"CCO\nOCC\nc1ccccc1\nC1CC\n\xff\xfe\nCC.O\n")
    return ref, train, gen


def test_counts_uniqueness_novelty_and_malformed_lines(files):
    ref, train, gen = files
    r = evaluate(gen, reference=str(ref), train=str(train))
    assert set(KEYS) <= set(r)
    assert r["n_samples"] == 6 and r["n_valid"] == 3
    assert r["validity"] == pytest.approx(3 / 6)
    assert r["validity_relaxed"] == pytest.approx(4 / 6)  # the two-fragment sample counts here
    assert r["validity_fragment_free"] == pytest.approx(3 / 6)
    assert r["uniqueness"] == pytest.approx(2 / 3)  # CCO, CCO, c1ccccc1
    assert r["novelty"] == pytest.approx(1 / 2)  # ethanol is in the training set, benzene is not
    assert [m["line"] for m in r["malformed"]] == [4, 5]
    assert r["protocol"]["correction"] == "none" and r["protocol"]["n_scored"] == 3
    assert r["intdiv1"] == pytest.approx(r["intdiv1"]) and 0 < r["intdiv1"] < 1
    assert r["filters"] is not None and set(r["properties"]) == {"logP_w1", "SA_w1", "QED_w1", "weight_w1"}
    assert r["scaf"] is None  # no generated molecule has a two-ring scaffold: undefined, reported as null


def test_correction_scores_the_largest_fragment(files):
    ref, train, gen = files
    r = evaluate(gen, reference=str(ref), train=str(train), correct=True)
    assert r["protocol"]["n_scored"] == 4  # the fragment sample becomes CC
    assert r["validity_corrected"] == pytest.approx(4 / 6)
    assert r["validity"] == pytest.approx(3 / 6)  # raw validity is unchanged by --correct


def test_reference_against_itself_gives_perfect_similarity(tmp_path):
    ref = tmp_path / "ref.smi"
    ref.write_text("\n".join(REFERENCE) + "\n")
    r = evaluate(ref, reference=str(ref))
    assert r["snn"] == pytest.approx(1.0)
    assert r["frag"] == pytest.approx(1.0) and r["scaf"] == pytest.approx(1.0)
    assert r["nspdk"] == pytest.approx(0.0, abs=1e-12)
    assert abs(r["fcd"]) < 1e-3
    assert all(v == pytest.approx(0.0, abs=1e-9) for v in r["properties"].values())
    assert r["novelty"] is None


def test_graph_samples_are_judged_on_the_raw_graph(tmp_path):
    vocab = AtomVocab.from_pairs([("C", 0), ("N", 0), ("O", 0)], 4)
    C, N, O = 1, 2, 3
    atoms = np.array([[C, C, O, 0], [N, C, C, C], [C, C, 0, 0]])
    adj = np.zeros((3, 4, 4), np.uint8)
    for b, i, j, c in [(0, 0, 1, 1), (0, 1, 2, 1), (1, 0, 1, 1), (1, 0, 2, 1), (1, 0, 3, 2), (2, 0, 1, 3)]:
        adj[b, i, j] = adj[b, j, i] = c
    path = write_graph_samples(tmp_path / "g.safetensors", atoms, adj, vocab)
    a2, e2, v2 = read_graph_samples(path)
    assert np.array_equal(a2, atoms) and np.array_equal(e2, adj) and v2 == vocab
    ref = tmp_path / "ref.smi"
    ref.write_text("\n".join(REFERENCE) + "\n")
    r = evaluate(path, reference=str(ref))
    # CCO valid; N with valence 4 invalid strictly but valid once charged; C#C valid
    assert r["n_valid"] == 2 and r["validity_relaxed"] == pytest.approx(1.0)
    assert r["protocol"]["input"] == "graphs"


def test_graph_sample_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataError, match="bad.safetensors"):
        read_graph_samples(bad)


def test_cli_writes_json_and_reports_missing_files(files, tmp_path, capsys):
    ref, train, gen = files
    out = tmp_path / "m.json"
    assert main(["evaluate", str(gen), "--reference", str(ref), "--train", str(train), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["n_valid"] == 3 and (tmp_path / "m_properties.png").stat().st_size > 1000
    assert main(["evaluate", str(tmp_path / "missing.smi"), "--reference", str(ref)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("genlab: error:") and "missing.smi: no such file" in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_cli_data_check_and_export(tmp_path, capsys):
    assert main(["data", "check", "qm9", "--limit", "300"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"] == "qm9" and report["total"] == 300 and report["roundtrip_exact"] == 300
    assert report["failures"] == []
    out = tmp_path / "t.smi"
    assert main(["data", "export", "qm9", "--split", "test", "--limit", "25", "--seed", "3", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 25 and len(set(lines)) == 25
