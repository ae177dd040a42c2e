"""The molecule-file reader: formats, encodings, line numbers, clear errors."""

import gzip

import pytest
from rdkit import Chem

from genlab.data.smiles_io import read_molecule_file, write_smiles
from genlab.errors import DataError


def records(path):
    return [(r.line, r.smiles, r.error) for r in read_molecule_file(path)]


def test_smi_with_names_blank_lines_crlf_and_bom(tmp_path):
    p = tmp_path / "a.smi"
    p.write_bytes(b"\xef\xbb\xbfCCO ethanol\r\n\r\nc1ccccc1\tbenzene\r\nC#N\n")
    assert records(p) == [(1, "CCO", None), (3, "c1ccccc1", None), (4, "C#N", None)]


def test_header_line_is_skipped(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("SMILES\nCC\n")
    assert records(p) == [(2, "CC", None)]


def test_non_utf8_line_is_an_error_record_not_an_exception(tmp_path):
    p = tmp_path / "a.smi"
    p.write_bytes(b"CC\n\xff\xfeO\nCO\n")
    out = records(p)
    assert out[0] == (1, "CC", None) and out[2] == (3, "CO", None)
    assert out[1][0] == 2 and out[1][1] is None and "UTF-8" in out[1][2]


def test_gzip_and_roundtrip_through_writer(tmp_path):
    p = tmp_path / "out.smi.gz"
    assert write_smiles(p, ["CCO", "C1CC1"]) == 2
    with gzip.open(p, "rt") as f:
        assert f.read() == "CCO\nC1CC1\n"
    assert records(p) == [(1, "CCO", None), (2, "C1CC1", None)]


def test_csv_smiles_column_any_case(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text('id,SMILES,score\n1,CCO,0.5\n2,"C(=O)O",1\n3,,2\n')
    assert records(p) == [(2, "CCO", None), (3, "C(=O)O", None), (4, None, "no SMILES in this row")]


def test_csv_without_smiles_column_names_file_and_line(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("id,name\n1,x\n")
    with pytest.raises(DataError, match=r"a\.csv:1: no 'smiles' column"):
        records(p)


def test_sdf_records(tmp_path):
    p = tmp_path / "a.sdf"
    w = Chem.SDWriter(str(p))
    for s in ("CCO", "c1ccccc1"):
        w.write(Chem.MolFromSmiles(s))
    w.close()
    assert [s for _, s, _ in records(p)] == ["CCO", "c1ccccc1"]


def test_missing_file_and_directory_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="nope.smi: no such file"):
        records(tmp_path / "nope.smi")
    with pytest.raises(DataError, match="is a directory"):
        records(tmp_path)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.smi.gz"
    p.write_bytes(b"this is not gzip")
    with pytest.raises(DataError, match="bad.smi.gz: cannot read"):
        records(p)
