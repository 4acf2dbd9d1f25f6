"""How other writers, pens and scanners change a digit's ink: the styles of issue #16.

Every function takes a digit's ink (float32 in [0, 1], 1 = ink, any size) and returns new ink:

- ``shrunk_and_enlarged``: a digit scanned in a few pixels and blown up again, blocky or
  blurry (a proxy for other people's low-resolution scans);
- ``slanted``: an italic hand, sheared and narrowed;
- ``fine_pen``: the same digit written along its centre line with a pen ``width`` px wide;
- ``broad_nib``: written with a broad (calligraphic) nib: a stroke is as wide as the nib
  across its direction, so downstrokes are wide and joins along the nib are hairlines.

The evaluation's kinds (``training.data.realistic``) and the training data (``training.data.styled_digits``)
both use them, with ranges of their own. The serving code never imports this module.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from recognizer.vision.strokes import stroke_width

RESAMPLERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}


def _resized(ink: np.ndarray, height: int, width: int, resample: Image.Resampling) -> np.ndarray:
    image = Image.fromarray(ink.astype(np.float32), mode="F").resize((max(1, width), max(1, height)), resample)
    return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)


def shrunk_and_enlarged(ink: np.ndarray, small_height: int, factor: float, resample: str) -> np.ndarray:
    """Area-average ``ink`` down to ``small_height`` px tall (its width in proportion), then
    enlarge that by ``factor`` with ``resample`` (nearest: blocky; bilinear, bicubic: blurry)."""
    height, width = ink.shape
    small_width = max(1, round(width * small_height / height))
    small = _resized(ink, small_height, small_width, Image.Resampling.BOX)
    return _resized(small, round(small_height * factor), round(small_width * factor), RESAMPLERS[resample])


def slanted(ink: np.ndarray, shear: float, squeeze: float = 1.0) -> np.ndarray:
    """``ink`` sheared by ``shear`` (x moves right by ``shear`` px per px up: positive leans
    right) and its width scaled by ``squeeze``; the canvas grows to hold it."""
    height, width = ink.shape
    new_width = int(np.ceil(width * squeeze + abs(shear) * height)) + 2
    offset = shear * (height - 1) if shear > 0 else 0.0
    # PIL maps each output pixel back to the input: x_in = (x_out - offset + shear * y) / squeeze.
    coefficients = (1 / squeeze, shear / squeeze, -offset / squeeze, 0.0, 1.0, 0.0)
    image = Image.fromarray(ink.astype(np.float32), mode="F")
    out = image.transform((new_width, height), Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def centre_line(ink: np.ndarray, level: float = 0.5) -> np.ndarray:
    """The strokes' centre lines, one pixel wide (bool). The outline is smoothed first (by a
    third of the stroke width): a bumpy outline would grow the centre line spurs no pen draws."""
    smooth = ndi.gaussian_filter(ink.astype(np.float32), sigma=max(1.0, stroke_width(ink) / 3))
    line = np.asarray(skeletonize(smooth >= level), dtype=bool)
    return _pruned(line, spur=int(stroke_width(ink) * 1.5) + 2)


def _endpoints(line: np.ndarray) -> np.ndarray:
    neighbours = ndi.convolve(line.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    return line & (neighbours <= 1)


def _pruned(line: np.ndarray, spur: int) -> np.ndarray:
    """``line`` without branches shorter than ``spur`` px (a thick stroke's corners leave such
    stubs): endpoints are peeled ``spur`` times, then the surviving ends grow back as long."""
    core = line.copy()
    for _ in range(spur):
        core &= ~_endpoints(core)
    ends = _endpoints(core)
    grown = core.copy()
    for _ in range(spur):
        ends = ndi.binary_dilation(ends, structure=np.ones((3, 3), bool)) & line & ~grown
        grown |= ends
    return grown if grown.any() else line


def _soft(mask: np.ndarray, supersample: int) -> np.ndarray:
    """A mask drawn ``supersample`` times too large, as antialiased ink at its true size."""
    height, width = mask.shape[0] // supersample, mask.shape[1] // supersample
    cropped = mask[: height * supersample, : width * supersample].astype(np.float32)
    return cropped.reshape(height, supersample, width, supersample).mean(axis=(1, 3))


def _disk(radius: float) -> np.ndarray:
    reach = int(np.ceil(radius))
    yy, xx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    return (yy**2 + xx**2) <= radius**2 + 1e-6


def _segment(length: float, angle_degrees: float) -> np.ndarray:
    """A one-pixel line ``length`` px long at ``angle_degrees`` (0: horizontal, 90: vertical)."""
    reach = int(np.ceil(length / 2))
    footprint = np.zeros((2 * reach + 1, 2 * reach + 1), dtype=bool)
    angle = np.deg2rad(angle_degrees)
    for t in np.linspace(-length / 2, length / 2, max(2, int(length * 2))):
        footprint[reach - int(round(t * np.sin(angle))), reach + int(round(t * np.cos(angle)))] = True
    return footprint


def fine_pen(ink: np.ndarray, width: float, supersample: int = 4) -> np.ndarray:
    """The digit written along its centre line with a round pen ``width`` px wide (as little
    as a pixel: a fine pen on a large digit), antialiased."""
    big = _resized(ink, ink.shape[0] * supersample, ink.shape[1] * supersample, Image.Resampling.BILINEAR)
    line = centre_line(big)
    pen = ndi.binary_dilation(line, structure=_disk(max(0.5, width * supersample / 2)))
    return _soft(pen, supersample)


def broad_nib(
    ink: np.ndarray, nib: float, angle_degrees: float, hairline: float = 1.0, supersample: int = 2
) -> np.ndarray:
    """The digit written along its centre line with a broad nib ``nib`` px wide held at
    ``angle_degrees``, plus a ``hairline`` px round pen (a nib's thinnest trace), antialiased."""
    big = _resized(ink, ink.shape[0] * supersample, ink.shape[1] * supersample, Image.Resampling.BILINEAR)
    line = centre_line(big)
    wide = ndi.binary_dilation(line, structure=_segment(nib * supersample, angle_degrees))
    thin = ndi.binary_dilation(line, structure=_disk(max(0.5, hairline * supersample / 2)))
    return _soft(wide | thin, supersample)
