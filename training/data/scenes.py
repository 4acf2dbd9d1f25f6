"""Whole uploads for the scene judgement (``recognizer.networks.scene``): pictures of writing,
and photographs of the world. Each is an upload file, decoded by the service's own decoding and
shrunk by the service's own ``vision.scene.thumbnail``.

Writing (label 0), from training sources only:
- ``digit``: every upload kind of ``training.data.realistic`` holding a training-split MNIST
  digit, a digit in a training font, or a letter, symbol or scribble (they are writing: the
  digit network refuses them, not this judgement);
- ``row``: every row kind of ``training.data.rows`` of training-split digits;
- ``blank``: empty paper and canvases of those kinds;
- ``note_in_world``: a writing upload photographed lying in the world, a photograph around it.

Photographs (label 1), from Debian's wallpaper packages (``PHOTO_PACKAGES``; the held-out ones
are never trained or tuned on):
- ``photo``: crops at any scale and shape, colour or grey, JPEG or PNG;
- ``texture``: small crops enlarged (bark, sand, fabric, water);
- ``object``: a photographed thing (an animal, a kettle, a car, the moon: Tux Paint's stamps,
  ``tuxpaint-stamps-default``, four in five of them; the fifth held out) in front of a
  photograph, a blurred one, or a plain wall or table;
- ``graphic``: colour wheels, gradients, a bright disc on black, colour bars (drawn here);
- ``screenshot``: a page of an app or a site: bars, buttons, printed text, pictures (drawn here).
"""

from __future__ import annotations

import re
import subprocess
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from recognizer.decoding import decode_for_recognition
from recognizer.settings import Settings
from recognizer.vision.scene import thumbnail
from training.data import non_digits, realistic, rows

Rng = np.random.Generator

WRITING, PHOTOGRAPH = 0, 1
PHOTO_PACKAGES = {
    "training": (
        "gnome-backgrounds",
        "mate-backgrounds",
        "plasma-workspace-wallpapers",
        "sway-backgrounds",
        "lomiri-wallpapers-16.04",
    ),
    "held_out": ("ukui-wallpapers", "lomiri-wallpapers-20.04", "lomiri-wallpapers"),
}
LOWER = list("abcdefghijklmnopqrstuvwxyz")
RASTER = (".jpg", ".jpeg", ".png", ".webp")
OBJECT_PACKAGE = "tuxpaint-stamps-default"
# Not things: road signs, flags, letters and numbers (a stamp of a "3" is a digit).
OBJECT_LEFT_OUT = ("/symbols/", "_mirror", "/thumbs/")
PICTURE_SIDE = 1024  # pictures are kept this large: crops are uploads of 64 to 2,000 px
# Printed (not handwriting) typefaces for screenshots: Debian's defaults, never reserved.
SCREEN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


@dataclass(frozen=True)
class SceneSet:
    thumbnails: np.ndarray  # uint8 [N, 64, 64, 3]
    labels: np.ndarray  # int64 [N]: WRITING or PHOTOGRAPH
    kinds: tuple[str, ...]  # each upload's kind (``digit``, ``photo``, ...)


# Photographs --------------------------------------------------------------------------------


def _picture_key(path: Path) -> str:
    """One key per picture: Plasma and Sway ship each at several sizes (and a preview)."""
    text = str(path)
    if "/contents/" in text:
        return text.split("/contents/")[0]
    return str(path.parent / re.sub(r"([_-]?\d+x\d+|_Portrait)", "", path.stem))


def package_files(package: str) -> list[Path]:
    """The largest raster file of each picture a Debian package installed ([] if it is not)."""
    listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    files = [Path(line) for line in listed.stdout.splitlines() if line.lower().endswith(RASTER)]
    largest: dict[str, Path] = {}
    for path in (p for p in files if p.is_file()):
        key = _picture_key(path)
        if key not in largest or path.stat().st_size > largest[key].stat().st_size:
            largest[key] = path
    return sorted(largest.values())


@cache
def _picture(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        opened.draft("RGB", (PICTURE_SIDE, PICTURE_SIDE))
        picture = opened.convert("RGB")
    picture.thumbnail((PICTURE_SIDE, PICTURE_SIDE), Image.Resampling.BILINEAR)
    return picture


def pictures(packages: tuple[str, ...]) -> list[Image.Image]:
    return [_picture(path) for package in packages for path in package_files(package)]


def object_files(part: str) -> list[Path]:
    """Tux Paint's photographed stamps (RGBA PNGs), ``part`` "training" (four in five, by a hash
    of the name) or "held_out"; [] when the package is not installed."""
    listed = subprocess.run(["dpkg", "-L", OBJECT_PACKAGE], capture_output=True, text=True, check=False)
    files = [
        Path(line)
        for line in listed.stdout.splitlines()
        if line.endswith(".png") and not any(word in line for word in OBJECT_LEFT_OUT)
    ]
    held_out = [zlib.crc32(path.name.encode()) % 5 == 0 for path in files]
    return sorted(path for path, held in zip(files, held_out, strict=True) if held == (part == "held_out"))


@cache
def _stamp(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        stamp = opened.convert("RGBA")
    stamp.thumbnail((PICTURE_SIDE // 2, PICTURE_SIDE // 2), Image.Resampling.BILINEAR)
    return stamp


def photographed_object(stamps: list[Path], gallery: list[Image.Image], rng: Rng) -> bytes:
    """A thing in front of a photograph (sharp or blurred), or of a plain wall or table."""
    stamp = _stamp(stamps[int(rng.integers(len(stamps)))])
    side = int(rng.integers(160, 900))
    pick = rng.random()
    if pick < 0.6 and gallery:
        background = _crop(gallery[int(rng.integers(len(gallery)))], rng, (0.05, 1.0)).resize((side, side))
        if rng.random() < 0.5:
            background = background.filter(ImageFilter.GaussianBlur(float(rng.uniform(2, 12))))
    else:
        background = realistic._to_image(_gradient(side, rng) * 0.3 + rng.uniform(120, 245, 3) * 0.7)
    factor = float(rng.uniform(0.3, 0.95)) * side / max(stamp.size)
    thing = stamp.resize((max(4, int(stamp.width * factor)), max(4, int(stamp.height * factor))))
    left = int(rng.integers(0, max(1, side - thing.width + 1)))
    top = int(rng.integers(0, max(1, side - thing.height + 1)))
    background.paste(thing, (left, top), thing)
    return _as_upload(background, rng)


def _crop(picture: Image.Image, rng: Rng, area: tuple[float, float]) -> Image.Image:
    """A crop of ``area`` (a log-uniform share of the picture), of any shape from 1:2 to 2:1."""
    share = float(np.exp(rng.uniform(np.log(area[0]), np.log(area[1]))))
    aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    width, height = picture.size
    w = int(np.clip(np.sqrt(share * width * height * aspect), 8, width))
    h = int(np.clip(np.sqrt(share * width * height / aspect), 8, height))
    left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return picture.crop((left, top, left + w, top + h))


def _as_upload(image: Image.Image, rng: Rng, mirror: bool = True) -> bytes:
    """Resized to 64-2,000 px, maybe grey or (``mirror``) mirrored, as JPEG (mostly) or PNG."""
    longest = int(np.exp(rng.uniform(np.log(64), np.log(2000))))
    factor = longest / max(image.size)
    image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))))
    if rng.random() < 0.2:
        image = image.convert("L")
    if mirror and rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return realistic._jpeg(image, rng, 55, 95) if rng.random() < 0.75 else realistic._encode(image, "PNG")


def photo(gallery: list[Image.Image], rng: Rng) -> bytes:
    return _as_upload(_crop(gallery[int(rng.integers(len(gallery)))], rng, (0.05, 1.0)), rng)


def texture(gallery: list[Image.Image], rng: Rng) -> bytes:
    return _as_upload(_crop(gallery[int(rng.integers(len(gallery)))], rng, (0.002, 0.04)), rng)


def _hue_wheel(size: int, rng: Rng) -> np.ndarray:
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    hue = (np.arctan2(y, x) / (2 * np.pi) + float(rng.random())) % 1.0
    saturation = np.clip(np.hypot(x, y), 0, 1)
    hsv = np.stack([hue * 255, saturation * 255, np.full_like(hue, 255)], axis=-1).astype(np.uint8)
    rgb = np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"), np.float32)
    background = float(rng.choice([0.0, 255.0]))
    return np.where((np.hypot(x, y) <= 1)[..., None], rgb, background)


def _bright_disc(size: int, rng: Rng) -> np.ndarray:
    """A lit disc on black (a retina scan, the moon, a lamp), with vessels or craters of shade."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    radius = float(rng.uniform(0.6, 0.98))
    falloff = np.clip(1 - np.hypot(x, y) / radius, 0, 1) ** float(rng.uniform(0.2, 0.8))
    colour = rng.uniform(60, 255, size=3)
    shade = np.asarray(Image.fromarray(rng.uniform(0, 255, (8, 8)).astype(np.uint8)).resize((size, size), 3))
    return falloff[..., None] * colour * (0.6 + 0.4 * shade[..., None] / 255.0)


def _gradient(size: int, rng: Rng) -> np.ndarray:
    corners = rng.uniform(0, 255, size=(2, 2, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(corners, "RGB").resize((size, size), Image.Resampling.BILINEAR), np.float32)


def _colour_bars(size: int, rng: Rng) -> np.ndarray:
    count = int(rng.integers(3, 12))
    colours = rng.uniform(0, 255, size=(count, 3))
    bars = colours[(np.arange(size) * count // size)]
    image = np.repeat(bars[None], size, axis=0)
    return image.transpose(1, 0, 2) if rng.random() < 0.5 else image


GRAPHICS: dict[str, Callable[[int, Rng], np.ndarray]] = {
    "hue_wheel": _hue_wheel,
    "bright_disc": _bright_disc,
    "gradient": _gradient,
    "colour_bars": _colour_bars,
}


def graphic(rng: Rng) -> bytes:
    draw = list(GRAPHICS.values())[int(rng.integers(len(GRAPHICS)))]
    pixels = draw(int(rng.integers(96, 700)), rng) + rng.normal(0, float(rng.uniform(0, 6)), size=(1, 1, 1))
    return _as_upload(realistic._to_image(pixels), rng)


def _screen_font(rng: Rng, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    installed = [path for path in SCREEN_FONTS if Path(path).is_file()]
    if not installed:
        return ImageFont.load_default()
    return ImageFont.truetype(installed[int(rng.integers(len(installed)))], size)


def _colour(values: np.ndarray) -> tuple[int, int, int]:
    return (int(values[0]), int(values[1]), int(values[2]))


def screenshot(gallery: list[Image.Image], rng: Rng) -> bytes:
    """An app's or a site's window: a coloured bar, a side panel, pictures, buttons, text."""
    width, height = int(rng.integers(360, 1400)), int(rng.integers(360, 1000))
    light = rng.random() < 0.7
    background = rng.uniform(220, 255, 3) if light else rng.uniform(10, 60, 3)
    page = Image.new("RGB", (width, height), _colour(background))
    draw = ImageDraw.Draw(page)
    bar = int(rng.integers(30, 90))
    draw.rectangle((0, 0, width, bar), fill=_colour(rng.uniform(0, 255, 3)))
    side = int(rng.integers(0, width // 4)) if rng.random() < 0.6 else 0
    if side:
        draw.rectangle((0, bar, side, height), fill=_colour(rng.uniform(30, 240, 3)))
    ink = (20, 20, 20) if light else (230, 230, 230)
    y = bar + 10
    while y < height - 20:
        if rng.random() < 0.25 and gallery:
            w = int(rng.integers(80, max(81, (width - side) // 2)))
            h = int(w * rng.uniform(0.5, 0.9))
            crop = _crop(gallery[int(rng.integers(len(gallery)))], rng, (0.1, 1.0)).resize((w, h))
            page.paste(crop, (side + int(rng.integers(8, 30)), y))
            y += h + 10
        elif rng.random() < 0.2:
            left = side + int(rng.integers(8, 60))
            draw.rounded_rectangle(
                (left, y, left + int(rng.integers(60, 160)), y + 28), 6, fill=_colour(rng.uniform(0, 255, 3))
            )
            y += 40
        else:
            size = int(rng.integers(10, 22))
            words = " ".join("".join(rng.choice(LOWER, int(rng.integers(2, 9)))) for _ in range(12))
            draw.text((side + 12, y), words.capitalize(), fill=ink, font=_screen_font(rng, size))
            y += int(size * 1.6)
    return _as_upload(page, rng)


# Writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WritingSources:
    images: np.ndarray  # uint8 [N, 28, 28] MNIST digits of one split
    labels: np.ndarray
    fonts: list[Path]  # handwriting fonts of that split


def _glyph(sources: WritingSources, rng: Rng) -> realistic.Glyph:
    pick = rng.random()
    if pick < 0.55 or not sources.fonts:
        index = int(rng.integers(len(sources.images)))
        return realistic.mnist_glyph(sources.images[index], int(sources.labels[index]))
    if pick < 0.8:
        font = sources.fonts[int(rng.integers(len(sources.fonts)))]
        return realistic.font_glyph(int(rng.integers(10)), font, rng)
    names = list(non_digits.DRAWINGS)
    font = sources.fonts[int(rng.integers(len(sources.fonts)))]
    char = non_digits.CHARACTERS[int(rng.integers(len(non_digits.CHARACTERS)))]
    letters = non_digits.character_inks([font], char, 1, rng) if pick >= 0.9 else []
    if letters:
        return realistic.ink_glyph(letters[0])
    return realistic.ink_glyph(non_digits.drawing(names[int(rng.integers(len(names)))], rng, non_digits.TRAINING_STYLE))


def digit_upload(sources: WritingSources, rng: Rng) -> bytes:
    kinds = list(realistic.KINDS.values())
    return kinds[int(rng.integers(len(kinds)))](_glyph(sources, rng), rng)


def row_upload(sources: WritingSources, rng: Rng) -> bytes:
    count = int(rng.integers(rows.MIN_DIGITS, rows.MAX_DIGITS + 1))
    chosen = rng.choice(len(sources.images), size=count, replace=False)
    kind = rows.KINDS[int(rng.integers(len(rows.KINDS)))]
    return rows.make_row(kind, sources.images[chosen], sources.labels[chosen], rng).data


def blank_upload(rng: Rng) -> bytes:
    kinds = list(realistic.KINDS.values())
    empty = realistic.ink_glyph(np.zeros((int(rng.integers(30, 90)), int(rng.integers(30, 90))), np.float32))
    return kinds[int(rng.integers(len(kinds)))](empty, rng)


def note_in_world(sources: WritingSources, gallery: list[Image.Image], rng: Rng) -> bytes:
    """A page of writing photographed where it lies: the world around it, the page turned a
    little, taking 35-90% of the frame."""
    upload = digit_upload(sources, rng) if rng.random() < 0.7 else row_upload(sources, rng)
    note = decode_for_recognition(upload, SETTINGS).convert("RGB")
    world = _crop(gallery[int(rng.integers(len(gallery)))], rng, (0.2, 1.0))
    share = float(rng.uniform(0.35, 0.9))
    factor = min(
        float(np.sqrt(share * world.width * world.height / (note.width * note.height))),
        0.95 * world.width / note.width,
        0.95 * world.height / note.height,
    )
    size = (max(8, int(note.width * factor)), max(8, int(note.height * factor)))
    angle = float(rng.uniform(-10, 10))
    page = note.resize(size).rotate(angle, Image.Resampling.BILINEAR, expand=True)
    mask = Image.new("L", size, 255).rotate(angle, Image.Resampling.BILINEAR, expand=True)
    left = int(rng.integers(0, max(1, world.width - page.width + 1)))
    top = int(rng.integers(0, max(1, world.height - page.height + 1)))
    world.paste(page, (left, top), mask)
    return _as_upload(world, rng, mirror=False)


# Sets ---------------------------------------------------------------------------------------

SETTINGS = Settings()


FEATURELESS_STD = 0.04  # grey levels' spread under which a crop of sky or wall is blank paper


def _featureless(thumb: np.ndarray) -> bool:
    """A crop of plain sky or a wall: as blank as an empty page, so no photograph to learn."""
    return float(thumb.mean(axis=-1).std()) < FEATURELESS_STD


def _makers(sources: WritingSources, part: str, rng: Rng) -> list[tuple[str, int, Callable[[], bytes]]]:
    """(kind, label, make an upload) of every kind, in the shares ``scene_set`` makes them."""
    gallery = pictures(PHOTO_PACKAGES[part])
    stamps = object_files(part)
    makers: list[tuple[str, int, Callable[[], bytes]]] = [
        ("digit", WRITING, lambda: digit_upload(sources, rng)),
        ("digit", WRITING, lambda: digit_upload(sources, rng)),
        ("digit", WRITING, lambda: digit_upload(sources, rng)),
        ("row", WRITING, lambda: row_upload(sources, rng)),
        ("blank", WRITING, lambda: blank_upload(rng)),
        ("graphic", PHOTOGRAPH, lambda: graphic(rng)),
        ("screenshot", PHOTOGRAPH, lambda: screenshot(gallery, rng)),
    ]
    if gallery:
        makers += [
            ("note_in_world", WRITING, lambda: note_in_world(sources, gallery, rng)),
            ("photo", PHOTOGRAPH, lambda: photo(gallery, rng)),
            ("photo", PHOTOGRAPH, lambda: photo(gallery, rng)),
            ("texture", PHOTOGRAPH, lambda: texture(gallery, rng)),
            ("digit", WRITING, lambda: digit_upload(sources, rng)),
        ]
    if stamps:
        makers += [
            ("object", PHOTOGRAPH, lambda: photographed_object(stamps, gallery, rng)),
            ("object", PHOTOGRAPH, lambda: photographed_object(stamps, gallery, rng)),
            ("row", WRITING, lambda: row_upload(sources, rng)),
            ("digit", WRITING, lambda: digit_upload(sources, rng)),
        ]
    return makers


def _upload(make: Callable[[], bytes], label: int) -> tuple[bytes, np.ndarray]:
    """An upload and its thumbnail; a photograph as featureless as blank paper is made again."""
    data = make()
    thumb = thumbnail(decode_for_recognition(data, SETTINGS))
    while label == PHOTOGRAPH and _featureless(thumb):
        data = make()
        thumb = thumbnail(decode_for_recognition(data, SETTINGS))
    return data, thumb


def scene_set(sources: WritingSources, part: str, count: int, seed: int) -> SceneSet:
    """``count`` uploads, half writing and half photographs (kinds in turn), as thumbnails.
    Photographs come from the ``part`` ("training" or "held_out") of ``PHOTO_PACKAGES`` and of
    the objects; with none installed, they are only graphics and screenshots."""
    rng = np.random.default_rng(seed)
    makers = _makers(sources, part, rng)
    thumbs, labels, kinds = [], [], []
    for index in range(count):
        kind, label, make = makers[index % len(makers)]
        thumbs.append(np.rint(_upload(make, label)[1] * 255).astype(np.uint8))
        labels.append(label)
        kinds.append(kind)
    return SceneSet(np.stack(thumbs), np.asarray(labels, np.int64), tuple(kinds))


def writing_uploads(sources: WritingSources, part: str, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """``count`` pictures of writing as upload files (kind, data), the kinds in turn, notes
    photographed on ``part``'s pictures: for choosing how the service refuses photographs
    (``training.calibration.scene_rule``)."""
    rng = np.random.default_rng(seed)
    makers = [(kind, make) for kind, label, make in _makers(sources, part, rng) if label == WRITING]
    for index in range(count):
        kind, make = makers[index % len(makers)]
        yield kind, make()


def photograph_uploads(part: str, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """``count`` photographs as upload files (kind, data), the kinds in turn: for evaluating the
    whole service on them (``training.evaluation.evaluate_non_digits``)."""
    rng = np.random.default_rng(seed)
    empty = WritingSources(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), [])
    makers = [(kind, make) for kind, label, make in _makers(empty, part, rng) if label == PHOTOGRAPH]
    for index in range(count):
        kind, make = makers[index % len(makers)]
        yield kind, _upload(make, PHOTOGRAPH)[0]
