"""``syn_digits``: digits rendered from fonts, in the manner of SynDigits (Ganin & Lempitsky 2015).

Ganin & Lempitsky's synthetic numbers vary "the text (one-, two- and three-digit numbers),
positioning, orientation, background and stroke colours, and the amount of blur". Each image here
is one rendering with Pillow in one of matplotlib's fonts (:data:`FONTS`; DejaVu, STIX and
Computer Modern families):

1. the labelled digit d with, each with probability 1/2, a random digit on its left and on its
   right (so neighbours show at the edges, as in SVHN's crops), in a random font and size, stroke
   colour and background colour drawn until their luminances differ by at least
   :data:`MIN_CONTRAST` of the range;
2. a rotation by an angle in ±:data:`MAX_ANGLE` degrees about the centre of d;
3. a square crop centred on d (jittered by up to 8 % of its side) whose side is d's height divided
   by a ratio in [0.55, 0.85], resized to 32 × 32;
4. a Gaussian blur of radius in [0, :data:`MAX_BLUR`] pixels.

Every random choice comes from ``np.random.default_rng([seed, split, i])``, so image i of a split
is the same on every machine with the same fonts and Pillow.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from genlab.data.digit_domains.registry import DOMAINS, SIZE, DomainArrays
from genlab.errors import DataError

#: text fonts of matplotlib's ``mpl-data/fonts/ttf`` that draw the ten digits
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmti10.ttf",
)
#: images per split (the sizes of SynDigits in the Digit-Five benchmark)
N_TRAIN, N_TEST = 25_000, 9_000
MIN_CONTRAST = 0.3
MAX_ANGLE = 15.0
MAX_BLUR = 1.0
#: font sizes in pixels (the crop rescales, so this mostly varies stroke width and hinting)
FONT_SIZES = (28, 44)


def font_folder() -> Path:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    missing = [name for name in FONTS if not (folder / name).is_file()]
    if missing:
        raise DataError(f"matplotlib's fonts are missing {', '.join(missing)}", path=folder)
    return folder


@lru_cache(maxsize=64)
def _font(name: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(font_folder() / name), size)


@DOMAINS.register("syn_digits")
def syn_digits(seed: int = 0) -> DomainArrays:
    out = []
    for split, n in enumerate((N_TRAIN, N_TEST)):
        labels = np.random.default_rng([seed, split, 0x5359]).integers(10, size=n)
        images = np.stack([render(int(d), np.random.default_rng([seed, split, i])) for i, d in enumerate(labels)])
        out += [images, labels.astype(np.int64)]
    return DomainArrays(*out)


def render(digit: int, rng: np.random.Generator) -> np.ndarray:
    """One (32, 32, 3) uint8 image of ``digit`` (the module's recipe, steps 1-4)."""
    from PIL import Image, ImageDraw, ImageFilter

    font = _font(FONTS[rng.integers(len(FONTS))], int(rng.integers(FONT_SIZES[0], FONT_SIZES[1] + 1)))
    left = str(rng.integers(10)) if rng.random() < 0.5 else ""
    right = str(rng.integers(10)) if rng.random() < 0.5 else ""
    stroke, ground = _colours(rng)
    text = left + str(digit) + right
    x0, y0, x1, y1 = font.getbbox(text)
    pad = 2 * (y1 - y0)
    canvas = Image.new("RGB", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), ground)
    ImageDraw.Draw(canvas).text((pad - x0, pad - y0), text, font=font, fill=stroke)
    # the labelled digit's box on the canvas
    start = font.getlength(left)
    bx0, by0, bx1, by1 = font.getbbox(str(digit))
    cx = pad - x0 + start + (bx0 + bx1) / 2
    cy = pad - y0 + (by0 + by1) / 2
    angle = float(rng.uniform(-MAX_ANGLE, MAX_ANGLE))
    canvas = canvas.rotate(angle, resample=Image.Resampling.BILINEAR, center=(cx, cy), fillcolor=ground)
    side = (by1 - by0) / rng.uniform(0.55, 0.85)
    cx += rng.uniform(-0.08, 0.08) * side
    cy += rng.uniform(-0.08, 0.08) * side
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    image = canvas.resize((SIZE, SIZE), resample=Image.Resampling.LANCZOS, box=box)
    image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.0, MAX_BLUR))))
    return np.asarray(image, dtype=np.uint8)


def _colours(rng: np.random.Generator) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(stroke, background) RGB colours whose luminances differ by at least MIN_CONTRAST."""
    weights = np.array([0.299, 0.587, 0.114])
    while True:
        stroke, ground = rng.integers(0, 256, size=(2, 3))
        if abs(float(weights @ (stroke - ground))) >= MIN_CONTRAST * 255:
            return tuple(int(v) for v in stroke), tuple(int(v) for v in ground)
