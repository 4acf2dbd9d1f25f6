"""Realistic uploads made from MNIST test digits or handwriting-style fonts, per kind.

Each kind turns one digit's ink into the bytes of an image file such as people upload:
dark ink on paper, photos with uneven light and shadows, ruled or squared notebook paper,
faint pencil, thick marker, a small digit in a large frame, specks and JPEG noise, canvas
drawings with a transparent background, and unusual formats and colour modes. Everything is
seeded: the same (kind, index, seed) always gives the same bytes.

The evaluation (``training.evaluation.evaluate_preprocessing``) and the tests use these generators; the
serving code never imports them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

from recognizer.storage import NOT_A_DIGIT_LABEL
from recognizer.vision.digit import crop_to_ink
from recognizer.vision.strokes import INK_LEVEL, slimmed, stroke_width, thickened
from training.data import hand_styles

Rng = np.random.Generator

# Handwriting-like fonts from Debian packages (fonts-dkg-handwriting, fonts-breip,
# fonts-rufscript, fonts-humor-sans, fonts-sjfonts, fonts-klee, fonts-comic-neue, fonts-bwht,
# fonts-dancingscript, fonts-kaushanscript); whichever are installed are used.
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
HANDWRITING_FONTS = (
    "fifthhorseman/dkg.ttf",
    "fifthhorseman/dkgBd.ttf",
    "fifthhorseman/dkgIt.ttf",
    "breip/Breip.ttf",
    "rufscript/Rufscript010.ttf",
    "humor-sans/Humor-Sans.ttf",
    "sjfonts/SteveHand.ttf",
    "sjfonts/Delphine.ttf",
    "klee/KleeOne-Regular.ttf",
    "klee/KleeOne-SemiBold.ttf",
    "comic-neue/ComicNeue-Regular.otf",
    "comic-neue/ComicNeue-Bold.otf",
    "comic-neue/ComicNeue-Italic.otf",
    "bwht/BecauseWeBuild-Regular.otf",
    "bwht/BecauseWeConnect-Regular.otf",
    "bwht/BecauseWeCreate-Regular.otf",
    "bwht/BecauseWeMentor-Regular.otf",
    "bwht/BecauseWeOrganize-Regular.otf",
    "dancingscript/DancingScript-Regular.otf",
    "kaushanscript/KaushanScript-Regular.otf",
)


# Reserved for the project's independent measurement: never installed, trained, tuned or
# evaluated on here. Any font of these families (Debian font folders) is refused.
RESERVED_FONT_FAMILIES = ("kristi", "ecolier", "kiloji")


def refuse_reserved(names: tuple[str, ...]) -> None:
    """Raise for any font of a reserved family."""
    reserved = [name for name in names if any(family in name.lower() for family in RESERVED_FONT_FAMILIES)]
    if reserved:
        raise ValueError(f"reserved for independent measurement, never used here: {reserved}")


def installed_fonts(names: tuple[str, ...]) -> list[Path]:
    """Those of the font files ``names`` (relative to a Debian font folder) installed here;
    a reserved font is refused."""
    refuse_reserved(names)
    found = []
    for name in names:
        for folder in FONT_DIRS:
            if (folder / name).is_file():
                found.append(folder / name)
                break
    return found


def handwriting_fonts() -> list[Path]:
    """The handwriting-style fonts installed on this machine (possibly none)."""
    return installed_fonts(HANDWRITING_FONTS)


# Digit ink -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Glyph:
    """One digit, able to draw itself as ink (float32 in [0, 1], 1 = ink) at any height."""

    label: int
    render: Callable[[int, Rng], np.ndarray]  # (digit height in px, rng) -> tight ink crop
    mnist28: np.ndarray  # a white-on-black 28x28 uint8 version, for the clean kind


def _pen_edges(ink: np.ndarray) -> np.ndarray:
    """Upscaled MNIST is blurry; real strokes have crisp, slightly soft edges."""
    return np.clip((ink - 0.2) / 0.45, 0.0, 1.0).astype(np.float32)


def mnist_glyph(image28: np.ndarray, label: int) -> Glyph:
    image28 = np.asarray(image28, dtype=np.uint8)
    tight = crop_to_ink(image28.astype(np.float32) / 255.0, level=0.02)
    source_height = tight.shape[0]

    def render(height: int, rng: Rng) -> np.ndarray:
        factor = max(height, 8) / source_height
        size = (max(1, round(tight.shape[1] * factor)), max(1, round(tight.shape[0] * factor)))
        up = Image.fromarray(tight, mode="F").resize(size, Image.Resampling.BICUBIC)
        return _pen_edges(np.asarray(up, dtype=np.float32))

    return Glyph(label=label, render=render, mnist28=image28)


def _fit_mnist(ink: np.ndarray) -> np.ndarray:
    """A simple MNIST look-alike of a font glyph: 20 px box, centred by its box, white on black."""
    ink = crop_to_ink(ink, level=0.02)
    factor = 20.0 / max(ink.shape)
    size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
    small = np.asarray(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.BOX))
    field = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - small.shape[0]) // 2, (28 - small.shape[1]) // 2
    field[top : top + small.shape[0], left : left + small.shape[1]] = small
    return np.rint(np.clip(field / max(field.max(), 1e-6), 0, 1) * 255).astype(np.uint8)


def ink_glyph(ink: np.ndarray) -> Glyph:
    """Any ink as a ``Glyph`` the upload kinds can draw (label 10: not a digit)."""
    ink = crop_to_ink(ink, level=0.02) if ink.max() > 0 else ink

    def render(height: int, rng: Rng) -> np.ndarray:
        # A digit's height becomes this ink's longest side: a dash is not drawn as tall as a digit.
        factor = height / max(1, *ink.shape)
        size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
        return np.asarray(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)

    preview = render(80, np.random.default_rng(0))
    mnist28 = _fit_mnist(preview) if preview.max() > 0 else np.zeros((28, 28), np.uint8)
    return Glyph(label=NOT_A_DIGIT_LABEL, render=render, mnist28=mnist28)


def font_glyph(label: int, font: Path, rng: Rng) -> Glyph:
    """A digit in a handwriting font, slightly rotated and sheared like a hand would."""
    angle = float(rng.uniform(-8, 8))
    shear = float(rng.uniform(-0.2, 0.2))
    weight = float(rng.uniform(-0.25, 0.35))  # stroke thinning/thickening, of the stroke width

    def render(height: int, rng_: Rng) -> np.ndarray:
        size = max(12, int(height * 1.45))
        face = ImageFont.truetype(str(font), size)
        canvas = Image.new("L", (size * 2, size * 2), 0)
        ImageDraw.Draw(canvas).text((size // 2, size // 4), str(label), font=face, fill=255)
        canvas = canvas.transform(
            canvas.size, Image.Transform.AFFINE, (1, shear, -shear * size, 0, 1, 0), Image.Resampling.BICUBIC
        )
        canvas = canvas.rotate(angle, Image.Resampling.BICUBIC)
        ink = crop_to_ink(np.asarray(canvas, dtype=np.float32) / 255.0, level=0.02)
        stroke = stroke_px(ink)
        radius = weight * stroke / 2
        if abs(radius) >= 0.5:
            ink = thicken(ink, radius)
        factor = height / ink.shape[0]
        out = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
        return np.asarray(Image.fromarray(ink, mode="F").resize(out, Image.Resampling.BILINEAR), dtype=np.float32)

    preview = render(80, rng)
    return Glyph(label=label, render=render, mnist28=_fit_mnist(preview))


def stroke_px(ink: np.ndarray) -> float:
    """The strokes' width as the service measures it (at least a pixel)."""
    return max(1.0, stroke_width(ink))


def thicken(ink: np.ndarray, radius: float) -> np.ndarray:
    """Grow (radius > 0) or slim (radius < 0) strokes by ``radius`` px as the service does,
    on a canvas padded so that grown strokes are not cut; a slimming that would leave no ink
    keeps the strokes as they are."""
    pad = int(abs(radius)) + 2
    ink = np.pad(ink, pad)
    if radius > 0:
        return thickened(ink, radius)
    slim = slimmed(ink, -radius)
    return slim if (slim >= INK_LEVEL).any() else ink


# Scenes ------------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _jpeg(image: Image.Image, rng: Rng, low: int = 60, high: int = 92) -> bytes:
    return _encode(
        image.convert("RGB") if image.mode not in ("L", "RGB") else image,
        "JPEG",
        quality=int(rng.integers(low, high + 1)),
    )


def _to_image(pixels: np.ndarray) -> Image.Image:
    pixels = np.rint(np.clip(pixels, 0, 255)).astype(np.uint8)
    return Image.fromarray(pixels, mode="RGB" if pixels.ndim == 3 else "L")


def _place(shape: tuple[int, int], ink: np.ndarray, rng: Rng, margin: float = 0.05) -> np.ndarray:
    """A full-frame alpha with ``ink`` placed at a random spot inside the frame's margins."""
    height, width = shape
    h, w = ink.shape
    h, w = min(h, height), min(w, width)
    m_y, m_x = int(margin * height), int(margin * width)
    y = int(rng.integers(m_y, max(m_y + 1, height - h - m_y + 1)))
    x = int(rng.integers(m_x, max(m_x + 1, width - w - m_x + 1)))
    y, x = min(y, height - h), min(x, width - w)
    alpha = np.zeros(shape, dtype=np.float32)
    alpha[y : y + h, x : x + w] = ink[:h, :w]
    return alpha


def _ink_onto(paper: np.ndarray, alpha: np.ndarray, colour) -> np.ndarray:
    """Paint ``colour`` (grey or RGB) with coverage ``alpha`` onto ``paper`` (grey or RGB)."""
    colour = np.asarray(colour, dtype=np.float32)
    if paper.ndim == 3:
        return paper * (1 - alpha[..., None]) + colour * alpha[..., None]
    return paper * (1 - alpha) + float(colour.mean()) * alpha


def _rgb_paper(shape: tuple[int, int], rng: Rng, base: float = 235.0, spread: float = 20.0) -> np.ndarray:
    level = base + rng.uniform(-spread, min(spread, 255 - base))
    tint = rng.uniform(-8, 8, size=3)
    return np.full((*shape, 3), level, dtype=np.float32) + tint


def _grain(shape: tuple[int, int], rng: Rng, sigma: float) -> np.ndarray:
    return rng.normal(0.0, sigma, size=shape).astype(np.float32)


def _frame_for(digit_height: int, fill: float, aspect: float) -> tuple[int, int]:
    height = int(digit_height / fill)
    return height, int(height * aspect)


def _dark_ink_colour(rng: Rng):
    choices = [(20, 20, 25), (25, 35, 110), (10, 10, 10), (60, 60, 70)]
    base = np.array(choices[int(rng.integers(len(choices)))], dtype=np.float32)
    return base + rng.uniform(-10, 10, size=3)


def lighting_field(shape: tuple[int, int], rng: Rng, strength: float) -> np.ndarray:
    """A smooth illumination field: a tilted plane times a vignette, in (1-strength, 1]."""
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy, xx = yy / height - 0.5, xx / width - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    plane = (np.cos(angle) * xx + np.sin(angle) * yy) + 0.5  # 0..1 across the frame
    cy, cx = rng.uniform(-0.3, 0.3, size=2)
    vignette = ((yy - cy) ** 2 + (xx - cx) ** 2) / 0.5
    field = 1.0 - strength * (0.6 * plane + 0.4 * np.clip(vignette, 0, 1))
    return field.astype(np.float32)


def shadow_field(shape: tuple[int, int], rng: Rng, depth: float) -> np.ndarray:
    """A soft shadow of a hand or phone: a polygon from one edge, darkening by ``depth``."""
    height, width = shape
    mask = Image.new("L", (width, height), 0)
    side = int(rng.integers(4))
    reach = rng.uniform(0.15, 0.45)
    points = {
        0: [
            (0, 0),
            (width * rng.uniform(0.3, 1), 0),
            (width * rng.uniform(0, 0.6), height * reach),
            (0, height * reach * 1.4),
        ],
        1: [
            (width, 0),
            (width, height * rng.uniform(0.3, 1)),
            (width * (1 - reach), height * rng.uniform(0, 0.6)),
            (width * (1 - reach * 1.4), 0),
        ],
        2: [
            (0, height),
            (width * rng.uniform(0.3, 1), height),
            (width * rng.uniform(0, 0.6), height * (1 - reach)),
            (0, height * (1 - reach * 1.4)),
        ],
        3: [(0, 0), (width * reach, 0), (width * reach * rng.uniform(0.6, 1.6), height), (0, height)],
    }[side]
    ImageDraw.Draw(mask).polygon(points, fill=255)
    soft = np.asarray(mask, dtype=np.float32) / 255.0
    soft = ndi.gaussian_filter(soft, sigma=max(1.0, rng.uniform(0.005, 0.04) * max(shape)))
    return (1.0 - depth * soft).astype(np.float32)


def kind_clean_mnist(glyph: Glyph, rng: Rng) -> bytes:
    """The MNIST image itself, white on black, 28x28 PNG: the baseline."""
    return _encode(Image.fromarray(glyph.mnist28, mode="L"), "PNG")


def kind_dark_on_light(glyph: Glyph, rng: Rng) -> bytes:
    """A scan or screenshot: dark ink on white paper, the digit filling much of the frame."""
    digit = int(rng.integers(24, 240))
    ink = glyph.render(digit, rng)
    shape = _frame_for(digit, rng.uniform(0.45, 0.85), rng.uniform(0.8, 1.3))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    paper = np.full(shape, rng.uniform(225, 255), dtype=np.float32)
    pixels = _ink_onto(paper, _place(shape, ink, rng), rng.uniform(0, 60))
    image = _to_image(pixels + _grain(shape, rng, rng.uniform(0, 3)))
    return _encode(image, "PNG") if rng.random() < 0.5 else _jpeg(image, rng, 75, 95)


def kind_light_on_dark(glyph: Glyph, rng: Rng) -> bytes:
    """Chalk on a blackboard or light pen on dark paper, unevenly lit, photographed."""
    digit = int(rng.integers(40, 220))
    ink = glyph.render(digit, rng)
    shape = _frame_for(digit, rng.uniform(0.3, 0.7), rng.uniform(1.0, 1.5))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    board = np.array([rng.uniform(20, 60), rng.uniform(30, 80), rng.uniform(20, 60)], dtype=np.float32)
    paper = np.broadcast_to(board, (*shape, 3)).copy()
    texture = np.clip(1.0 - 0.35 * rng.random(ink.shape), 0, 1).astype(np.float32)
    alpha = _place(shape, ink * ndi.uniform_filter(texture, 2), rng)
    pixels = _ink_onto(paper, alpha, rng.uniform(190, 245, size=3))
    pixels *= lighting_field(shape, rng, rng.uniform(0.1, 0.4))[..., None]
    pixels += _grain((*shape, 3), rng, rng.uniform(2, 5))
    return _jpeg(_to_image(pixels), rng, 60, 90)


def kind_photo(glyph: Glyph, rng: Rng) -> bytes:
    """A phone photo of a page: tinted paper, uneven light, a shadow, slight blur, JPEG."""
    digit = int(rng.integers(60, 320))
    ink = glyph.render(digit, rng)
    ink = ndi.rotate(ink, rng.uniform(-6, 6), reshape=True, order=1)
    shape = _frame_for(digit, rng.uniform(0.25, 0.6), rng.choice([0.75, 1.33, 1.0]))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    paper = _rgb_paper(shape, rng, base=225, spread=25)
    pixels = _ink_onto(paper, _place(shape, ink, rng, margin=0.1), _dark_ink_colour(rng))
    light = lighting_field(shape, rng, rng.uniform(0.15, 0.45)) * shadow_field(shape, rng, rng.uniform(0.25, 0.55))
    pixels *= light[..., None]
    pixels = ndi.gaussian_filter(pixels, sigma=(rng.uniform(0.3, 1.2), rng.uniform(0.3, 1.2), 0))
    pixels += _grain((*shape, 3), rng, rng.uniform(2, 7))
    return _jpeg(_to_image(pixels), rng, 55, 90)


def ruled_lines(shape: tuple[int, int], rng: Rng, spacing: float, vertical: bool, angle: float) -> np.ndarray:
    """Alpha of printed lines every ``spacing`` px, 1-3 px thick, the page turned ``angle``."""
    height, width = shape
    canvas = Image.new("L", (width * 2, height * 2), 0)
    draw = ImageDraw.Draw(canvas)
    thickness = int(rng.integers(1, 4))
    level = int(rng.integers(120, 256))
    offset = rng.uniform(0, spacing)
    y = offset
    while y < height * 2:
        draw.line([(0, y), (width * 2, y)], fill=level, width=thickness)
        y += spacing
    if vertical:
        x = rng.uniform(0, spacing)
        while x < width * 2:
            draw.line([(x, 0), (x, height * 2)], fill=level, width=thickness)
            x += spacing
    canvas = canvas.rotate(angle, Image.Resampling.BILINEAR)
    left, top = width // 2, height // 2
    return np.asarray(canvas.crop((left, top, left + width, top + height)), dtype=np.float32) / 255.0


def _notebook(glyph: Glyph, rng: Rng, squared: bool) -> bytes:
    spacing = float(rng.integers(18, 60))
    digit = int(spacing * (rng.uniform(1.5, 3.0) if squared else rng.uniform(1.0, 2.0)))
    ink = glyph.render(digit, rng)
    shape = _frame_for(digit, rng.uniform(0.3, 0.6), rng.uniform(0.9, 1.4))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    angle = rng.uniform(-2, 2)
    paper = _rgb_paper(shape, rng, base=240, spread=12)
    line_colour = [(120, 170, 230), (150, 150, 150), (100, 150, 200), (170, 190, 220)][int(rng.integers(4))]
    lines = ruled_lines(shape, rng, spacing, squared, angle)
    pixels = _ink_onto(paper, lines, line_colour)
    if not squared and rng.random() < 0.5:  # the red margin
        margin = np.zeros(shape, dtype=np.float32)
        x = int(rng.uniform(0.05, 0.2) * shape[1])
        margin[:, x : x + int(rng.integers(1, 3))] = 0.8
        pixels = _ink_onto(pixels, margin, (220, 80, 80))
    pixels = _ink_onto(pixels, _place(shape, ink, rng, margin=0.08), _dark_ink_colour(rng))
    pixels *= lighting_field(shape, rng, rng.uniform(0.0, 0.25))[..., None]
    pixels += _grain((*shape, 3), rng, rng.uniform(1, 4))
    image = _to_image(pixels)
    return _jpeg(image, rng, 70, 92) if rng.random() < 0.7 else _encode(image, "PNG")


def kind_ruled(glyph: Glyph, rng: Rng) -> bytes:
    """A digit on ruled notebook paper (blue or grey lines, maybe a red margin)."""
    return _notebook(glyph, rng, squared=False)


def kind_squared(glyph: Glyph, rng: Rng) -> bytes:
    """A digit on squared (grid) paper, lines crossing the strokes."""
    return _notebook(glyph, rng, squared=True)


def kind_pencil(glyph: Glyph, rng: Rng) -> bytes:
    """Soft pencil: grainy grey strokes with low contrast on slightly textured paper."""
    digit = int(rng.integers(40, 260))
    ink = glyph.render(digit, rng)
    if rng.random() < 0.6:
        ink = thicken(ink, -0.25 * stroke_px(ink))  # pencil lines are thin
    shape = _frame_for(digit, rng.uniform(0.35, 0.8), rng.uniform(0.8, 1.3))
    shape = (max(shape[0], ink.shape[0] + 4), max(shape[1], ink.shape[1] + 4))
    grain = np.clip(rng.uniform(0.4, 1.0, size=ink.shape), 0, 1).astype(np.float32)
    ink = ink * ndi.uniform_filter(grain, 2)
    paper_level = rng.uniform(215, 250)
    paper = np.full(shape, paper_level, dtype=np.float32)
    contrast = rng.uniform(0.12, 0.35)
    pixels = _ink_onto(paper, _place(shape, ink, rng), paper_level * (1 - contrast) - 10)
    pixels = pixels * lighting_field(shape, rng, rng.uniform(0.0, 0.15)) + _grain(shape, rng, rng.uniform(1, 3))
    image = _to_image(pixels)
    return _jpeg(image, rng, 75, 95) if rng.random() < 0.6 else _encode(image, "PNG")


def kind_marker(glyph: Glyph, rng: Rng) -> bytes:
    """A thick felt-tip marker: heavy strokes, black or coloured, on white."""
    digit = int(rng.integers(50, 260))
    ink = glyph.render(digit, rng)
    ink = thicken(ink, rng.uniform(0.02, 0.06) * digit)  # strokes about 1/5 to 1/4 of the height
    shape = _frame_for(ink.shape[0], rng.uniform(0.45, 0.8), rng.uniform(0.8, 1.3))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    colours = [(15, 15, 15), (20, 40, 160), (180, 20, 30), (20, 110, 50), (90, 20, 120)]
    colour = np.array(colours[int(rng.integers(len(colours)))], dtype=np.float32)
    pixels = _ink_onto(_rgb_paper(shape, rng, base=240, spread=15), _place(shape, ink, rng), colour)
    pixels += _grain((*shape, 3), rng, rng.uniform(0, 3))
    image = _to_image(pixels)
    return _jpeg(image, rng, 70, 95) if rng.random() < 0.5 else _encode(image, "PNG")


def kind_small_in_large(glyph: Glyph, rng: Rng) -> bytes:
    """A photo of a whole page with a small digit somewhere in it."""
    short = int(rng.integers(700, 1600))
    shape = (short, int(short * rng.choice([1.0, 1.33, 0.75])))
    digit = int(max(36, rng.uniform(0.04, 0.12) * short))
    ink = glyph.render(digit, rng)
    paper = _rgb_paper(shape, rng, base=232, spread=18)
    pixels = _ink_onto(paper, _place(shape, ink, rng, margin=0.04), _dark_ink_colour(rng))
    pixels *= lighting_field(shape, rng, rng.uniform(0.05, 0.3))[..., None]
    pixels += _grain((*shape, 3), rng, rng.uniform(1, 4))
    return _jpeg(_to_image(pixels), rng, 70, 92)


def kind_specks(glyph: Glyph, rng: Rng) -> bytes:
    """Dust, pepper noise and small blots around the digit, heavy JPEG."""
    digit = int(rng.integers(50, 240))
    ink = glyph.render(digit, rng)
    shape = _frame_for(digit, rng.uniform(0.35, 0.7), rng.uniform(0.8, 1.3))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    alpha = _place(shape, ink, rng)
    dust = (rng.random(shape) < rng.uniform(0.002, 0.01)).astype(np.float32)
    blots = np.zeros(shape, dtype=np.float32)
    for _ in range(int(rng.integers(3, 12))):
        y, x = int(rng.integers(shape[0])), int(rng.integers(shape[1]))
        r = max(1, int(rng.uniform(0.005, 0.02) * max(shape)))
        blots[max(0, y - r) : y + r, max(0, x - r) : x + r] = rng.uniform(0.4, 1.0)
    specks = np.maximum(dust * rng.uniform(0.4, 1.0), ndi.gaussian_filter(blots, 1.0))
    paper = np.full(shape, rng.uniform(215, 250), dtype=np.float32)
    pixels = _ink_onto(paper, np.maximum(alpha, specks), rng.uniform(0, 60))
    pixels += _grain(shape, rng, rng.uniform(3, 9))
    return _jpeg(_to_image(pixels), rng, 35, 70)


def kind_canvas_rgba(glyph: Glyph, rng: Rng) -> bytes:
    """A browser canvas export: strokes on a fully transparent background (RGBA PNG)."""
    side = int(rng.integers(140, 420))
    digit = int(side * rng.uniform(0.45, 0.8))
    ink = glyph.render(digit, rng)
    alpha = _place((side, side), ink, rng, margin=0.06)
    stroke = [(0, 0, 0), (0, 0, 0), (255, 255, 255), (30, 60, 200)][int(rng.integers(4))]
    under = (0, 0, 0) if rng.random() < 0.6 else (255, 255, 255)
    rgba = np.zeros((side, side, 4), dtype=np.uint8)
    rgba[..., :3] = np.where(alpha[..., None] > 0, stroke, under)
    rgba[..., 3] = np.rint(alpha * 255).astype(np.uint8)
    return _encode(Image.fromarray(rgba, mode="RGBA"), "PNG")


def _page(glyph: Glyph, rng: Rng) -> tuple[np.ndarray, np.ndarray]:
    """A plain grey page with dark ink: (grey pixels float, ink alpha)."""
    digit = int(rng.integers(40, 200))
    ink = glyph.render(digit, rng)
    shape = _frame_for(digit, rng.uniform(0.4, 0.8), rng.uniform(0.8, 1.3))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    alpha = _place(shape, ink, rng)
    paper = np.full(shape, rng.uniform(220, 250), dtype=np.float32)
    return _ink_onto(paper, alpha, rng.uniform(0, 50)) + _grain(shape, rng, 2), alpha


def _exotic_png16(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    values = np.rint(np.clip(grey, 0, 255) * 257).astype(np.uint16)
    return _encode(Image.fromarray(values), "PNG")


def _exotic_cmyk_jpeg(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    return _encode(_to_image(grey).convert("RGB").convert("CMYK"), "JPEG", quality=90)


def _exotic_palette(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    image = _to_image(np.stack([grey] * 3, axis=-1)).quantize(colors=int(rng.integers(4, 64)))
    return _encode(image, "PNG")


def _exotic_palette_transparent(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    """Strokes in palette colours over a transparent palette entry (a GIF-style drawing)."""
    indices = np.where(alpha > 0.5, 1, 0).astype(np.uint8)
    image = Image.fromarray(indices, mode="P")
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    return _encode(image, "PNG", transparency=0)


def _exotic_la(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    la = np.stack([np.zeros_like(alpha), alpha * 255], axis=-1)
    return _encode(Image.fromarray(np.rint(la).astype(np.uint8), mode="LA"), "PNG")


def _exotic_gif(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    first = _to_image(grey).convert("P")
    other = Image.new("P", first.size, 0)  # a second frame that must be ignored
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[other], duration=100)
    return buffer.getvalue()


def _exotic_webp(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    return _encode(_to_image(np.stack([grey] * 3, axis=-1)), "WEBP", quality=int(rng.integers(50, 90)))


def _exotic_tiff(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    compression = ["raw", "tiff_lzw", "tiff_adobe_deflate", "packbits"][int(rng.integers(4))]
    first = _to_image(grey)
    buffer = io.BytesIO()
    first.save(
        buffer, format="TIFF", compression=compression, save_all=True, append_images=[Image.new("L", first.size, 0)]
    )
    return buffer.getvalue()


def _exotic_float_tiff(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    return _encode(Image.fromarray((np.clip(grey, 0, 255) / 255.0).astype(np.float32)), "TIFF")


def _exotic_bmp(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    return _encode(_to_image(np.stack([grey] * 3, axis=-1)), "BMP")


def _exotic_bilevel(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    return _encode(_to_image(grey).convert("1"), "PNG")


def _exotic_exif_rotated(grey: np.ndarray, alpha: np.ndarray, rng: Rng) -> bytes:
    """A phone JPEG stored sideways with an EXIF orientation that puts it upright."""
    orientation = int(rng.choice([3, 6, 8, 2, 4, 5, 7]))
    upright = _to_image(np.stack([grey] * 3, axis=-1))
    # Store the inverse of the transform that exif_transpose applies for this tag.
    inverse = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = upright.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(stored, "JPEG", quality=90, exif=exif.tobytes())


EXOTIC_FORMATS: dict[str, Callable[[np.ndarray, np.ndarray, Rng], bytes]] = {
    "png16": _exotic_png16,
    "cmyk_jpeg": _exotic_cmyk_jpeg,
    "palette_png": _exotic_palette,
    "palette_transparent_png": _exotic_palette_transparent,
    "la_png": _exotic_la,
    "gif_two_frames": _exotic_gif,
    "webp": _exotic_webp,
    "tiff_two_pages": _exotic_tiff,
    "float_tiff": _exotic_float_tiff,
    "bmp": _exotic_bmp,
    "bilevel_png": _exotic_bilevel,
    "exif_rotated_jpeg": _exotic_exif_rotated,
}


def kind_exotic_format(glyph: Glyph, rng: Rng, fmt: str | None = None) -> bytes:
    """The same page saved in an unusual format or colour mode (one chosen per image)."""
    names = sorted(EXOTIC_FORMATS)
    fmt = fmt or names[int(rng.integers(len(names)))]
    grey, alpha = _page(glyph, rng)
    return EXOTIC_FORMATS[fmt](grey, alpha, rng)


def kind_low_resolution(glyph: Glyph, rng: Rng) -> bytes:
    """Another writer's digit scanned in 7-10 pixels and enlarged again (blocky or blurry): the
    proxy for low-resolution scans of hands MNIST never saw."""
    small = int(rng.integers(7, 11))
    factor = float(rng.integers(4, 11))
    resample = ("nearest", "bilinear", "bicubic")[int(rng.integers(3))]
    ink = np.pad(glyph.render(64, rng), 4)
    border = int(rng.integers(0, 3))
    small_ink = hand_styles.shrunk_and_enlarged(ink, small, 1.0, "nearest")  # the scan's own pixels
    small_ink = np.pad(small_ink, border)
    height, width = small_ink.shape
    enlarged = hand_styles.shrunk_and_enlarged(small_ink, height, factor, resample)
    if rng.random() < 0.5:
        pixels = _ink_onto(np.full(enlarged.shape, rng.uniform(225, 255), np.float32), enlarged, rng.uniform(0, 50))
    else:
        pixels = enlarged * rng.uniform(200, 255)
    image = _to_image(pixels)
    return _encode(image, "PNG") if rng.random() < 0.6 else _jpeg(image, rng, 70, 95)


def kind_cursive_slant(glyph: Glyph, rng: Rng) -> bytes:
    """An italic cursive hand: the digit leaning 17-31 degrees (mostly to the right) and
    narrower, in pen on paper, photographed or scanned."""
    digit = int(rng.integers(50, 220))
    shear = float(rng.uniform(0.3, 0.6)) * (1 if rng.random() < 0.85 else -1)
    ink = hand_styles.slanted(glyph.render(digit, rng), shear, float(rng.uniform(0.75, 1.0)))
    shape = _frame_for(digit, rng.uniform(0.4, 0.75), rng.uniform(1.0, 1.4))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    paper = _rgb_paper(shape, rng, base=235, spread=15)
    pixels = _ink_onto(paper, _place(shape, ink, rng), _dark_ink_colour(rng))
    pixels *= lighting_field(shape, rng, rng.uniform(0.0, 0.3))[..., None]
    pixels += _grain((*shape, 3), rng, rng.uniform(1, 4))
    return _jpeg(_to_image(pixels), rng, 65, 92)


def kind_hairline_pen(glyph: Glyph, rng: Rng) -> bytes:
    """A fine pen (strokes one or two pixels wide on a large digit) or a broad calligraphic nib
    (wide downstrokes, hairline joins), often in grey or blue ink: the thin parts are faint."""
    digit = int(rng.integers(80, 240))
    ink = glyph.render(digit, rng)
    if rng.random() < 0.5:
        ink = hand_styles.fine_pen(ink, float(rng.uniform(1.0, 2.0)), supersample=2)
    else:
        nib = float(rng.uniform(0.08, 0.16)) * digit
        ink = hand_styles.broad_nib(ink, nib, float(rng.uniform(25, 55)), hairline=float(rng.uniform(0.8, 1.5)))
    shape = _frame_for(digit, rng.uniform(0.45, 0.8), rng.uniform(0.9, 1.3))
    shape = (max(shape[0], ink.shape[0] + 2), max(shape[1], ink.shape[1] + 2))
    paper = _rgb_paper(shape, rng, base=238, spread=12)
    colour = [(30, 30, 35), (40, 50, 140), (90, 90, 100), (120, 120, 130)][int(rng.integers(4))]
    pixels = _ink_onto(paper, _place(shape, ink, rng), colour)
    pixels += _grain((*shape, 3), rng, rng.uniform(1, 5))
    image = _to_image(pixels)
    return _encode(image, "PNG") if rng.random() < 0.3 else _jpeg(image, rng, 70, 95)


# The names training/data/rows.py imports.
_lighting, _shadow, _ruled_lines = lighting_field, shadow_field, ruled_lines

KINDS: dict[str, Callable[[Glyph, Rng], bytes]] = {
    "clean_mnist": kind_clean_mnist,
    "dark_on_light": kind_dark_on_light,
    "light_on_dark": kind_light_on_dark,
    "photo_uneven_light": kind_photo,
    "ruled_paper": kind_ruled,
    "squared_paper": kind_squared,
    "pencil": kind_pencil,
    "thick_marker": kind_marker,
    "small_in_large": kind_small_in_large,
    "specks_noise": kind_specks,
    "canvas_rgba": kind_canvas_rgba,
    "exotic_format": kind_exotic_format,
    # Issue #16: hands and pens MNIST never showed (appended: the kinds above keep their seeds).
    "low_resolution": kind_low_resolution,
    "cursive_slant": kind_cursive_slant,
    "hairline_pen": kind_hairline_pen,
}
HARD_KINDS = ("low_resolution", "cursive_slant", "hairline_pen")  # issue #16's


# Sets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str
    source: str  # "mnist" or a font file name
    label: int
    data: bytes


def _rng(seed: int, kind: str, index: int) -> Rng:
    return np.random.default_rng([seed, list(KINDS).index(kind), index])


def mnist_samples(kind: str, images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0) -> Iterator[Sample]:
    """``count`` uploads of ``kind`` from MNIST digits (cycling through them in order)."""
    for index in range(count):
        position = index % len(images)
        glyph = mnist_glyph(images[position], int(labels[position]))
        yield Sample(kind, "mnist", glyph.label, KINDS[kind](glyph, _rng(seed, kind, index)))


def font_samples(kind: str, count: int, fonts: list[Path] | None = None, seed: int = 0) -> Iterator[Sample]:
    """``count`` uploads of ``kind`` from handwriting fonts, digits and fonts in turn."""
    fonts = handwriting_fonts() if fonts is None else fonts
    if not fonts:
        return
    for index in range(count):
        rng = _rng(seed + 1_000_003, kind, index)
        label = index % 10
        font = fonts[(index // 10) % len(fonts)]
        glyph = font_glyph(label, font, rng)
        yield Sample(kind, font.name, label, KINDS[kind](glyph, rng))
