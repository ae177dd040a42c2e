"""utils/atomic.py: a file appears whole or not at all, with an ordinary file's permissions, and
the temporaries an interrupted write leaves are found and removed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from genlab.utils.atomic import (atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_text,
                                 remove_stray_temporaries, temporary_path)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_round_trip_of_bytes_text_and_json(tmp_path):
    data = bytes(range(256)) * 3
    assert atomic_write_bytes(tmp_path / "a" / "b.bin", data) == tmp_path / "a" / "b.bin"  # folders created
    assert (tmp_path / "a" / "b.bin").read_bytes() == data
    atomic_write_text(tmp_path / "t.txt", "héllo\nwörld\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo\nwörld\n"
    obj = {"x": [1, 2.5, None], "y": {"z": "é"}}
    atomic_write_json(tmp_path / "o.json", obj)
    assert json.loads((tmp_path / "o.json").read_text(encoding="utf-8")) == obj
    atomic_write_text(tmp_path / "t.txt", "replaced")  # over an existing file
    assert (tmp_path / "t.txt").read_text() == "replaced"
    assert listing(tmp_path) == ["a", "o.json", "t.txt"]  # no temporary left


def test_the_temporary_is_hidden_beside_the_target_and_named_by_process(tmp_path):
    seen = []
    atomic_write(tmp_path / "w.bin", lambda tmp: (seen.append(tmp), tmp.write_bytes(b"1")))
    assert seen == [temporary_path(tmp_path / "w.bin")]
    assert seen[0].parent == tmp_path and seen[0].name == f".w.bin.{os.getpid()}.tmp"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_permissions_equal_a_plain_write_under_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        with open(tmp_path / "plain.txt", "w") as f:
            f.write("x")
        atomic_write_text(tmp_path / "atomic.txt", "x")
        # a writer that creates its file with other permissions (as a library might) is overruled
        atomic_write(tmp_path / "private.txt", lambda tmp: os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600)))
    finally:
        os.umask(old)
    plain = stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert plain == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "atomic.txt").stat().st_mode) == plain
    assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == plain


def test_a_failing_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "state.json"
    atomic_write_text(target, "old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("new but cut sh")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["state.json"]
    with pytest.raises(ValueError):  # NaN is refused before anything is written
        atomic_write_json(target, {"loss": float("nan")})
    assert target.read_text() == "old" and listing(tmp_path) == ["state.json"]


def test_stray_temporaries_are_removed_and_nothing_else(tmp_path):
    keep = ["last.json", "last.safetensors", ".hidden", "notes.tmp"]
    stray = [".last.safetensors.4242.tmp", ".config.json.17.tmp"]
    for name in keep + stray:
        (tmp_path / name).write_text(name)
    (tmp_path / ".folder.1.tmp").mkdir()  # only files are temporaries
    removed = remove_stray_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted(stray)
    assert listing(tmp_path) == sorted(keep + [".folder.1.tmp"])
    assert remove_stray_temporaries(tmp_path / "absent") == []


def test_json_safe_replaces_every_non_finite_float_and_keeps_the_rest():
    from genlab.utils.atomic import json_safe

    value = {"a": float("nan"), "b": [1.5, float("inf"), {"c": -float("inf"), "d": "x"}], "e": (2, None)}
    assert json_safe(value) == {"a": None, "b": [1.5, None, {"c": None, "d": "x"}], "e": [2, None]}
