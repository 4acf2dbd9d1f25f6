"""Draw the website's app icons with Pillow: ``python -m infra.site_icons`` writes site/icons/.

The icon is a handwritten "7" the way the network sees it (a 28x28 grey image, white on
black), enlarged pixel by pixel on a navy pad, on the site's baby blue.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ICON_DIR = Path(__file__).resolve().parents[1] / "site" / "icons"
BABY_BLUE = (137, 207, 240)
BABY_BLUE_LIGHT = (176, 224, 247)
NAVY = (15, 42, 67)
INPUT_SIZE = 28
# A "7" with a short crossbar, in 28x28 coordinates, drawn as one thick stroke.
SEVEN_STROKE = [(7.0, 7.5), (20.5, 7.0), (15.5, 15.0), (12.0, 22.0)]
SEVEN_BAR = [(11.0, 14.5), (19.0, 14.5)]


def digit_pixels(supersample: int = 16) -> np.ndarray:
    """The digit as MNIST-like 28x28 grey levels (0..255), antialiased by supersampling."""
    size = INPUT_SIZE * supersample
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    width = int(2.6 * supersample)
    for stroke in (SEVEN_STROKE, SEVEN_BAR):
        points = [(x * supersample, y * supersample) for x, y in stroke]
        draw.line(points, fill=255, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            radius = width / 2
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    small = canvas.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BOX)
    return np.asarray(small)


def centred_on_ink(pixels: np.ndarray, margin: int = 2) -> np.ndarray:
    """A square crop of ``pixels`` with the inked area in the middle and ``margin`` around it."""
    rows = np.flatnonzero(pixels.max(axis=1) > 0)
    cols = np.flatnonzero(pixels.max(axis=0) > 0)
    ink = pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    side = max(ink.shape) + 2 * margin
    square = np.zeros((side, side), np.uint8)
    top = (side - ink.shape[0]) // 2
    left = (side - ink.shape[1]) // 2
    square[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return square


def vertical_gradient(size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    colours = (1 - ramp) * np.asarray(top) + ramp * np.asarray(bottom)
    return Image.fromarray(np.repeat(colours, size, axis=1).astype(np.uint8), "RGB")


def draw_icon(size: int, *, maskable: bool = False) -> Image.Image:
    """One square icon; ``maskable`` fills the square and keeps the art in the safe circle."""
    scale = 4  # draw large, shrink once: smooth rounded corners
    big = size * scale
    background = vertical_gradient(big, BABY_BLUE_LIGHT, BABY_BLUE).convert("RGBA")
    icon = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    if maskable:
        icon.paste(background, (0, 0))
        pad_fraction = 0.50  # maskable art must sit inside the central 80% circle
    else:
        mask = Image.new("L", (big, big), 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.22, fill=255)
        icon.paste(background, (0, 0), mask)
        pad_fraction = 0.68

    pad = int(big * pad_fraction)
    origin = (big - pad) // 2
    ImageDraw.Draw(icon).rounded_rectangle(
        (origin, origin, origin + pad, origin + pad), radius=pad * 0.14, fill=NAVY + (255,)
    )
    pixels = centred_on_ink(digit_pixels())
    cells = pixels.shape[0]
    inner = int(pad * 0.84)
    cell = inner / cells
    left = origin + (pad - inner) / 2
    draw = ImageDraw.Draw(icon)
    for row in range(cells):
        for col in range(cells):
            level = int(pixels[row, col])
            if level < 8:
                continue
            colour = tuple(int(n + (255 - n) * level / 255) for n in NAVY)
            x0 = left + col * cell
            y0 = left + row * cell
            draw.rectangle((x0, y0, x0 + cell, y0 + cell), fill=colour + (255,))
    return icon.resize((size, size), Image.Resampling.LANCZOS)


ICONS = {
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "icon-maskable-512.png": (512, True),
    "apple-touch-icon.png": (180, True),  # iOS rounds the corners itself
    "favicon-32.png": (32, False),
}


def write_icons(folder: Path = ICON_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (size, maskable) in ICONS.items():
        path = folder / name
        image = draw_icon(size, maskable=maskable)
        if maskable:
            image = image.convert("RGB")  # no transparency in full-bleed icons
        image.save(path, format="PNG", optimize=True)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICON_DIR)
    args = parser.parse_args(argv)
    for path in write_icons(args.out):
        print(path)


if __name__ == "__main__":
    main()
