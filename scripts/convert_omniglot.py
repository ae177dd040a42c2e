"""Convert Omniglot's zip files into the file genlab ships, ``src/genlab/data/files/omniglot.npz``.

    python scripts/convert_omniglot.py FOLDER [--out PATH]

FOLDER holds three unchanged files of the repository brendenlake/omniglot (commit 057f034, folder
``python/``): ``images_background_small1.zip``, ``images_background_small2.zip`` and
``one-shot-classification/all_runs.zip``. Every PNG is a 105×105 binary image, black ink on
white; the converter keeps it exactly, bit-packed with 1 = ink, and refuses any image that is not
binary or not 105×105. The background sets share characters (same alphabet, character folder and
drawer): those are stored once, after checking that both copies are the same image, and flagged
as members of both. For each run, ``class_labels.txt`` pairs every test item with its training
image; the answer stored is that image's position among the run's training files in name order.
The written file is read back through :func:`genlab.data.omniglot.read_archive` and compared with
what was read from the zips.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from genlab.data.omniglot import SIDE, pack_bits, read_archive
from genlab.utils.atomic import atomic_write

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPOSITORY / "src" / "genlab" / "data" / "files" / "omniglot.npz"
SMALL = ("images_background_small1", "images_background_small2")
RUNS = "all_runs"
SOURCE = "brendenlake/omniglot@057f034"
BACKGROUND_NAME = re.compile(r"(?P<alphabet>[^/]+)/(?P<character>character\d+)/(?P<code>\d+)_(?P<drawer>\d+)\.png")


def read_ink(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    """One PNG of ``archive`` as a (105, 105) bool array, True where the pixel is black (ink)."""
    with Image.open(io.BytesIO(archive.read(name))) as image:
        grey = np.asarray(image.convert("L"))  # (H, W) uint8
    if grey.shape != (SIDE, SIDE) or not np.isin(grey, (0, 255)).all():
        sys.exit(f"{archive.filename}: {name}: expected a binary {SIDE}×{SIDE} image, got {grey.shape} with "
                 f"{len(np.unique(grey))} grey levels")
    return grey == 0


def read_background(folder: Path) -> dict[tuple[str, str, int], dict]:
    """(alphabet, character folder, drawer) -> {"code", "ink", "small1", "small2"} over both sets."""
    found: dict[tuple[str, str, int], dict] = {}
    for split in SMALL:
        with zipfile.ZipFile(folder / f"{split}.zip") as archive:
            for name in archive.namelist():
                if name.endswith("/"):
                    continue
                match = BACKGROUND_NAME.fullmatch(name.removeprefix(f"{split}/"))
                if match is None:
                    sys.exit(f"{archive.filename}: unexpected entry {name}")
                code, ink = int(match["code"]), read_ink(archive, name)
                key = (match["alphabet"], match["character"], int(match["drawer"]))
                record = found.setdefault(key, {"code": code, "ink": ink, "small1": False, "small2": False})
                if record["code"] != code or not np.array_equal(record["ink"], ink):
                    sys.exit(f"{archive.filename}: {name} differs from the image of the same name in another set")
                record[split.removeprefix("images_background_")] = True
    return found


def read_runs(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training images (R, n, 105, 105), test items (R, n, 105, 105) in file-name order, and
    answers (R, n): the index of each test item's training image."""
    train, test, answers = [], [], []
    with zipfile.ZipFile(folder / f"{RUNS}.zip") as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        for run in sorted({n.split("/")[0] for n in names}):
            train_files = sorted(n for n in names if n.startswith(f"{run}/training/"))
            test_files = sorted(n for n in names if n.startswith(f"{run}/test/"))
            pairs = dict(line.split() for line in archive.read(f"{run}/class_labels.txt").decode().splitlines()
                         if line.strip())
            if sorted(pairs) != test_files or not set(pairs.values()) <= set(train_files):
                sys.exit(f"{archive.filename}: {run}/class_labels.txt does not pair each test item with a training image")
            train.append([read_ink(archive, n) for n in train_files])
            test.append([read_ink(archive, n) for n in test_files])
            answers.append([train_files.index(pairs[n]) for n in test_files])
    return np.array(train), np.array(test), np.array(answers, dtype=np.int8)


def arrays(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """What the shipped file holds (OMNIGLOT.md beside it lists the keys), and the images read,
    unpacked, to check the written file against."""
    background = read_background(folder)
    keys = sorted(background)  # by alphabet, character folder, drawer
    alphabets = sorted({a for a, _, _ in keys})
    characters = sorted({(a, c) for a, c, _ in keys})
    index = {ac: i for i, ac in enumerate(characters)}
    codes = {k[:2]: background[k]["code"] for k in keys}
    images = {"background": np.array([background[k]["ink"] for k in keys])}  # (N, 105, 105)
    images["runs_train"], images["runs_test"], runs_answers = read_runs(folder)
    data = {
        "side": np.array(SIDE),
        "source": np.array(SOURCE),
        **{f"{key}_bits": pack_bits(ink) for key, ink in images.items()},
        "character": np.array([index[(a, c)] for a, c, _ in keys], dtype=np.int16),
        "drawer": np.array([d for _, _, d in keys], dtype=np.int8),
        "in_small1": np.array([background[k]["small1"] for k in keys]),
        "in_small2": np.array([background[k]["small2"] for k in keys]),
        "character_names": np.array([c for _, c in characters]),
        "character_alphabet": np.array([alphabets.index(a) for a, _ in characters], dtype=np.int16),
        "character_codes": np.array([codes[ac] for ac in characters], dtype=np.int16),
        "alphabet_names": np.array(alphabets),
        "runs_answers": runs_answers,
    }
    return data, images


def convert(folder: Path, out: Path = DEFAULT_OUT) -> Path:
    """Write ``out`` from the zips in ``folder`` and check that it reads back to the same images."""
    data, images = arrays(Path(folder))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            np.savez_compressed(f, **data)

    atomic_write(out, write)
    back = read_archive(out)
    for key, ink in images.items():
        if not np.array_equal(getattr(back, key), ink):
            sys.exit(f"{out}: {key} does not read back as the images of the zip files")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder with the three Omniglot zip files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    out = convert(args.folder, args.out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
