"""Synthetic training digits rendered from fonts that are NOT used by the evaluation.

MNIST is one population's handwriting; uploads also come in other hands (flagged 1s, open 4s,
script 3s and 9s). Digits drawn in a few dozen other typefaces, each slanted, rotated,
stretched and thickened at random and then normalised exactly as the service normalises an
upload (``recognizer.vision.digit.normalize_digit``), widen what the network has seen.

The evaluation fonts (``training.data.realistic.HANDWRITING_FONTS``) and every other face of their
families are never used here: ``check_disjoint`` refuses them, as ``installed_fonts`` refuses
the fonts reserved for independent measurement. A further handwriting font
(``VALIDATION_FONTS``) is held out of training to measure, on fonts the network never saw,
whether font digits help; they join the validation split, never the training split.

Fonts come from Debian packages (listed in models/README.md). Whichever are installed are
used; with none installed, training goes on with MNIST alone and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from recognizer.vision.digit import crop_to_ink, normalize_digit
from training.data.realistic import (
    HANDWRITING_FONTS,
    installed_fonts,
    stroke_px,
    thicken,
)

# Debian packages: fonts-seto, fonts-cabinsketch,
# fonts-leckerli-one, fonts-lobster, fonts-havana, fonts-isabella,
# fonts-sil-andika, fonts-opendyslexic, fonts-urw-base35, fonts-freefont-ttf, fonts-mplus,
# fonts-dejavu-core, fonts-liberation; handwriting and brush: fonts-tlwg-purisa-ttf,
# fonts-nanum-extra, fonts-tomsontalks, fonts-fantasque-sans, fonts-aoyagi-kouzan-t,
# fonts-staypuft, fonts-dustin.
TRAINING_FONTS = (
    "seto/setofont.ttf",
    "cabinsketch/CabinSketch-Regular.ttf",
    "cabinsketch/CabinSketch-Bold.ttf",
    "leckerli-one/LeckerliOne-Regular.ttf",
    "lobster/lobster.otf",
    "havana/Havana-Regular.otf",
    "isabella/Isabella.ttf",
    "andika/Andika-Regular.ttf",
    "andika/Andika-Italic.ttf",
    "andika/Andika-Bold.ttf",
    "opendyslexic/OpenDyslexic-Regular.otf",
    "opendyslexic/OpenDyslexic-Italic.otf",
    "urw-base35/Z003-MediumItalic.otf",
    "urw-base35/URWGothic-Book.otf",
    "urw-base35/URWBookman-LightItalic.otf",
    "urw-base35/C059-Italic.otf",
    "urw-base35/NimbusRoman-Italic.otf",
    "urw-base35/NimbusSans-Regular.otf",
    "freefont/FreeSans.ttf",
    "freefont/FreeSerifItalic.ttf",
    "mplus/Mplus1-Regular.otf",
    "mplus/Mplus1-Light.otf",
    "dejavu/DejaVuSans.ttf",
    "dejavu/DejaVuSans-Bold.ttf",
    "dejavu/DejaVuSerif-Italic.ttf",
    "liberation/LiberationSans-Regular.ttf",
    "liberation/LiberationSerif-Italic.ttf",
    "tlwg/Purisa.ttf",
    "tlwg/Purisa-Bold.ttf",
    "tlwg/Purisa-Oblique.ttf",
    "nanum/NanumPen.ttf",
    "nanum/NanumBrush.ttf",
    "nanum/NanumBarunpenR.ttf",
    "tomsontalks/TomsonTalks.ttf",
    "fantasque-sans/Normal/TTF/FantasqueSansMono-Italic.ttf",
    "aoyagi-kouzan-t/AoyagiKouzanT.ttf",
    "staypuft/StayPuft.ttf",
    "dustin/Domestic_Manners.ttf",
    "dustin/El_Abogado_Loco.ttf",
    "dustin/Junkyard.ttf",
)

REPO = Path(__file__).resolve().parents[2]
# Handwriting fonts held out of training: validation only (fonts-yusei-magic,
# fonts-yozvox-yozfont-standard-kana). Fonts reserved for the project's independent measurement
# are refused (realistic.RESERVED_FONT_FAMILIES).
# (femkeklaver is an outline font: hollow digits, not a hand.)
VALIDATION_FONTS = ("yusei-magic/YuseiMagic-Regular.ttf", "yozvox-yozfont/YOzRSFi.ttf")
# Letters and symbols of these, never trained on, validate "not a digit" (fonts-comfortaa,
# fonts-quicksand, fonts-yusei-magic).
NON_DIGIT_VALIDATION_FONTS = (
    *VALIDATION_FONTS,
    "comfortaa/Comfortaa-Regular.ttf",
    "quicksand/Quicksand-Medium.ttf",
)


def _family(name: str) -> str:
    return name.split("/")[0]


def check_disjoint(names: tuple[str, ...]) -> None:
    """Refuse any font whose family (package folder) the evaluation uses."""
    evaluation = {_family(name) for name in HANDWRITING_FONTS}
    clash = [name for name in names if _family(name) in evaluation]
    if clash:
        raise ValueError(f"evaluation font families must never be trained on: {clash}")


def installed(names: tuple[str, ...]) -> list[Path]:
    """The fonts of ``names`` installed here, after refusing any the evaluation uses."""
    check_disjoint(names)
    return installed_fonts(names)


@dataclass(frozen=True)
class FontDigits:
    images: np.ndarray  # float32 [N, 28, 28] in [0, 1], white on black, as served
    labels: np.ndarray  # int64 [N]
    fonts: list[str]  # font file names used


def _glyph_ink(label: int, face: ImageFont.FreeTypeFont, size: int) -> np.ndarray:
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 4), str(label), font=face, fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def render_digit(label: int, face: ImageFont.FreeTypeFont, size: int, rng: np.random.Generator) -> np.ndarray:
    """One digit as a hand might vary it: slant, rotation, width and stroke weight at random;
    then the service's own normalisation (20x20 box, MNIST stroke widths, centre of mass)."""
    shear = float(rng.uniform(-0.35, 0.35))
    angle = float(rng.uniform(-12, 12))
    stretch = float(rng.uniform(0.75, 1.25))  # width / height
    weight = float(rng.uniform(-0.3, 0.6))  # of the stroke width
    canvas = Image.fromarray(np.rint(_glyph_ink(label, face, size) * 255).astype(np.uint8))
    canvas = canvas.transform(
        canvas.size, Image.Transform.AFFINE, (1 / stretch, shear, -shear * size, 0, 1, 0), Image.Resampling.BICUBIC
    )
    canvas = canvas.rotate(angle, Image.Resampling.BICUBIC)
    ink = crop_to_ink(np.asarray(canvas, dtype=np.float32) / 255.0, level=0.02)
    radius = weight * stroke_px(ink) / 2
    if abs(radius) >= 0.5:
        ink = thicken(ink, radius)
    return normalize_digit(ink)


def _has_digits(face: ImageFont.FreeTypeFont, size: int) -> bool:
    """A font without digit glyphs draws the same box (or nothing) for all ten."""
    shapes = {_glyph_ink(label, face, size).tobytes() for label in range(10)}
    return len(shapes) == 10


def font_digit_set(fonts: list[Path], per_digit: int, seed: int, size: int = 64) -> FontDigits:
    """``per_digit`` random renderings of each digit in each font (seeded)."""
    rng = np.random.default_rng(seed)
    images, labels, used = [], [], []
    for font in fonts:
        face = ImageFont.truetype(str(font), size)
        if not _has_digits(face, size):
            continue
        used.append(font.name)
        for label in range(10):
            for _ in range(per_digit):
                images.append(render_digit(label, face, size, rng))
                labels.append(label)
    if not images:
        return FontDigits(np.zeros((0, 28, 28), np.float32), np.zeros((0,), np.int64), [])
    return FontDigits(np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64), used)
