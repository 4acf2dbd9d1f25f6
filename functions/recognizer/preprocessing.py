"""A decoded upload -> the MNIST-like 28x28 input the model was trained on.

MNIST digits are white on black, fitted into a 20x20 box keeping their aspect ratio and
centred by centre of mass in a 28x28 field. Real uploads are not: dark ink on paper, photos
with shadows, ruled or squared paper, faint pencil, a small digit in a big frame, transparent
canvas drawings. The steps, each public because the multi-digit reader reuses them:

1. ``ink_map``: the upload at a bounded working resolution as "how much ink" per pixel
   (polarity found, paper and lighting removed by background estimation, printed ruled or
   squared lines removed, contrast normalised);
2. ``ink_components`` / ``select_digit``: connected pieces of ink, and the ones forming the
   digit (largest, most central, with its nearby fragments; specks and page edges ignored);
3. ``normalize_digit``: a crop of one digit's ink -> the 28x28 input, as MNIST was made.

Only vectorised NumPy/SciPy and Pillow's resampling: a warm request has about 10 ms in all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image
from recognizer import imageops as ndi

from recognizer.decoding import UPLOAD_SIZE_KEY
from recognizer.errors import NoDigitFound

WORK_SIDE = 256  # longest side of the working resolution
MIN_WORK_SIDE = 112  # small uploads (an MNIST-sized 28x28) are upscaled to this
NOISY = 0.06  # per-pixel noise (of the full range) above which the image is smoothed first
COARSE_FACTOR = 4  # background is estimated at 1/4 of the working resolution
POLARITY_TILES = 3  # the local paper level for a polarity vote is a median per 1/3 x 1/3 tile
BACKGROUND_WINDOW = 0.4  # of the short side: ink narrower than this is not background
RECONSTRUCTION_STEPS = 24  # at most: shadow tips are restored up to 24 coarse pixels deep
SHADOW_STEP = 0.04  # paper level differences (beyond the trend) that call for a closer look
STROKE_WINDOWS = 4  # or, once the strokes are known, this many stroke widths
MIN_CONTRAST = 0.06  # ink must differ from its paper by 6% of the full range
NOISE_SIGMAS = 4.0  # and stand out from the paper's noise by this many sigmas
INK_LEVEL = 0.5  # an ink-map value from which a pixel counts as ink
FAINT_INK_LEVEL = 0.2  # faint ink still joins the pieces it touches

PAGE_INKED = 0.15  # an ink map inked over this much of its area may have found the page
PAGE_SPAN, PAGE_FILL = 0.4, 0.85  # a piece this big (of both sides) and this solid is the page
FRAME_SPAN = 0.6  # a piece touching the frame and spanning this much of it is the frame's
MIN_DIGIT_AREA = 12  # working pixels of real ink, below which it is specks
TINY_DIGIT_AREA = 4  # unless the upload has pixels to spare: then a closer look decides
DOT_FILL, DOT_ASPECT = 0.7, 1.6  # a small piece this filled and this round is a dot, not a digit
DOT_SIZE = 0.08  # "small": at most this much of the working image's longest side
DOT_CANDIDATES = 8  # the best-placed pieces looked at before deciding there are only dots
FRAGMENT_INSIDE = 0.015  # of the main piece's ink: a fragment within the digit's box joins
FRAGMENT_OUTSIDE = 0.08  # one that widens the box must be a stroke in its own right
FRAGMENT_BIG = 0.2  # and one this big may lie further off and widen it more

LINE_MIN_SPAN = 0.7  # a printed line crosses at least this much of the image
LINE_MAX_THICKNESS = 0.05  # and is at most this thick (of the other side), 4 px at least
LINE_LEVEL = 0.06  # printed lines are often fainter than ink; their openings are noise-free
FAINT_LINE = 0.5  # one line across this much fainter than the ink is printed, not written
THIN_LINE = 0.5  # and so is one at most this thick, of the other strokes' width
LINE_DRIFT = 3  # rows (columns) a slightly rotated line may wander within one window

MNIST_SIDE = 28
MNIST_BOX = 20
MNIST_CENTRE = 14.0  # mean centre of mass of the MNIST test digits, in pixel indices
STROKE_SCALE = 4  # stroke width is measured and adjusted at 4x the 20 px box
MNIST_STROKE = (0.10, 0.20)  # MNIST stroke widths relative to the 20 px box (10th-90th pct)

REFINE_BELOW = 56  # a digit smaller than this in the working map is re-read at full resolution
REFINE_SIDE = 192  # working side for that second look (the digit then spans about half)


@dataclass(frozen=True)
class InkMap:
    """Ink per pixel at a working resolution, and how it maps back to the upload."""

    ink: np.ndarray  # float32 [H, W] in [0, 1], 1 = ink
    scale: float  # working pixels per upload pixel
    dark_ink: bool  # True when the upload had dark ink on light paper
    contrast: float  # ink-to-paper contrast found, in [0, 1] of the full grey range

    @property
    def is_blank(self) -> bool:
        return not bool(self.ink.any())

    def to_upload_box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A working-map box ``(x, y, w, h)`` in the upload's pixels."""
        x, y, w, h = box
        s = self.scale
        left, top = int(np.floor(x / s)), int(np.floor(y / s))
        right, bottom = int(np.ceil((x + w) / s)), int(np.ceil((y + h) / s))
        return left, top, max(1, right - left), max(1, bottom - top)


@dataclass(frozen=True)
class Component:
    """One connected piece of ink in an ink map."""

    label: int
    box: tuple[int, int, int, int]  # x, y, w, h in working pixels
    area: int  # pixels at or above INK_LEVEL
    mass: float  # sum of ink
    touches_border: bool

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2.0, y + h / 2.0


@dataclass(frozen=True)
class Digit:
    """The ink of one digit cut out of an ink map."""

    ink: np.ndarray  # float32 crop, only the digit's components
    box: tuple[int, int, int, int]  # x, y, w, h in the ink map's pixels


# 1. The ink map ---------------------------------------------------------------------------


def working_grey(image: Image.Image, max_side: int = WORK_SIDE) -> tuple[np.ndarray, float]:
    """Grey levels in [0, 1] at a bounded resolution, and the scale from the image's pixels."""
    grey = image if image.mode == "L" else image.convert("L")
    width, height = grey.size
    longest = max(width, height)
    if longest > max_side:
        scale = max_side / longest
    elif longest < MIN_WORK_SIDE:
        scale = min(MIN_WORK_SIDE, max_side) / longest
    else:
        scale = 1.0
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resample = Image.Resampling.BILINEAR if scale < 1 else Image.Resampling.BICUBIC
        grey = grey.resize(size, resample, reducing_gap=2.0 if scale < 1 else None)
        scale = grey.size[0] / width
    return np.asarray(grey, dtype=np.float32) / 255.0, scale


def _pixel_noise(grey: np.ndarray) -> float:
    """Robust per-pixel noise: the spread of each pixel against its four neighbours' mean,
    on every other pixel (ink edges are few; noise is everywhere)."""
    centre = grey[1:-1:2, 1:-1:2]
    around = (grey[0:-2:2, 1:-1:2] + grey[2::2, 1:-1:2] + grey[1:-1:2, 0:-2:2] + grey[1:-1:2, 2::2]) / 4.0
    rows, cols = min(centre.shape[0], around.shape[0]), min(centre.shape[1], around.shape[1])
    if rows == 0 or cols == 0:
        return 0.0
    detail = (centre[:rows, :cols] - around[:rows, :cols]).ravel()
    return float(1.4826 * np.median(np.abs(detail - np.median(detail))) / 1.118)


def _denoised(grey: np.ndarray) -> np.ndarray:
    """Very noisy images (dithered bilevel scans, heavy sensor noise) averaged over 3x3, then
    5x5, blocks until the noise is down to what the rest expects; others untouched."""
    for size in (3, 5):
        if _pixel_noise(grey) <= NOISY:
            break
        grey = ndi.uniform_filter(grey, size=size, mode="nearest")
    return grey


def _resize_float(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float32 map to ``size`` (width, height) with Pillow's bilinear filter."""
    resized = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F").resize(
        size, Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


def _coarse(values: np.ndarray) -> np.ndarray:
    """Block means over COARSE_FACTOR squares (noise averages out, thin strokes fade)."""
    f = COARSE_FACTOR
    height, width = values.shape
    h, w = max(1, height // f), max(1, width // f)
    if height < f or width < f:
        return values.copy()
    return values[: h * f, : w * f].reshape(h, f, w, f).mean(axis=(1, 3))


def _background_window(coarse: np.ndarray) -> int:
    return max(3, int(round(BACKGROUND_WINDOW * min(coarse.shape))) | 1)


@lru_cache(maxsize=32)
def _quadratic_basis(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    yy, xx = yy / max(height - 1, 1) - 0.5, xx / max(width - 1, 1) - 0.5
    basis = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1)
    basis.flags.writeable = False
    return basis


def _smooth_trend(coarse: np.ndarray) -> np.ndarray:
    """A quadratic surface under the paper (vignetting, a light falling off across the page),
    refitted to the pixels lowest above it, since the ink (bright here) sits above the paper.
    Fitted on every other coarse pixel each way: a smooth surface needs no more."""
    basis_grid = _quadratic_basis(*coarse.shape)
    basis = basis_grid[::2, ::2].reshape(-1, 6)
    values = coarse[::2, ::2].reshape(-1).astype(np.float64)
    use = np.ones(values.shape, dtype=bool)
    coefficients = np.zeros(6)
    for _ in range(3):
        if use.sum() < 12:
            break
        chosen = basis[use]  # least squares by normal equations: 6x6, no LAPACK threads
        gram = chosen.T @ chosen + 1e-6 * np.eye(6)
        coefficients = np.linalg.solve(gram, chosen.T @ values[use])
        residual = values - basis @ coefficients
        use = residual <= np.partition(residual, residual.size * 2 // 5)[residual.size * 2 // 5]
    return (basis_grid @ coefficients).astype(np.float32)


def _dilated_3x3(values: np.ndarray) -> np.ndarray:
    """3x3 grey dilation by shifted maxima (on small arrays, several times faster than SciPy's)."""
    rows = values.copy()
    np.maximum(rows[1:], values[:-1], out=rows[1:])
    np.maximum(rows[:-1], values[1:], out=rows[:-1])
    both = rows.copy()
    np.maximum(both[:, 1:], rows[:, :-1], out=both[:, 1:])
    np.maximum(both[:, :-1], rows[:, 1:], out=both[:, :-1])
    return both


def _reconstructed(marker: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Grey reconstruction by dilation: ``marker`` grown step by step under ``mask``. A
    shadow the opening kept in its body comes back whole, narrow tips and slivers included;
    ink the opening removed stays removed (nothing high is connected to it)."""
    current = np.minimum(marker, mask)
    for step in range(RECONSTRUCTION_STEPS):
        grown = np.minimum(_dilated_3x3(current), mask)
        if step % 4 == 3 and np.array_equal(grown, current):
            break
        current = grown
    return current


@dataclass(frozen=True)
class _Paper:
    """What the background estimate needs, computed once per image at coarse scale."""

    coarse: np.ndarray
    trend: np.ndarray | None
    shape: tuple[int, int]


def _paper_of(bright_ink: np.ndarray) -> _Paper:
    coarse = _coarse(bright_ink)
    trend = _smooth_trend(coarse) if min(coarse.shape) >= 8 else None
    return _Paper(coarse, trend, bright_ink.shape)


def _paper_levels(paper: _Paper, window: int) -> np.ndarray:
    """The background at coarse scale (see ``estimate_background``)."""

    def opened(values: np.ndarray) -> np.ndarray:
        return ndi.uniform_filter(
            ndi.grey_opening(values, size=(window, window), mode="nearest"), size=max(3, window // 2), mode="nearest"
        )

    level = opened(paper.coarse)
    if paper.trend is not None:
        level = np.maximum(level, opened(paper.coarse - paper.trend) + paper.trend)
    return ndi.uniform_filter(_reconstructed(level, paper.coarse), size=3, mode="nearest")


def _full_size(paper: _Paper, levels: np.ndarray) -> np.ndarray:
    height, width = paper.shape
    return _resize_float(levels, (width, height))


def estimate_background(bright_ink: np.ndarray, window: int | None = None) -> np.ndarray:
    """The paper under bright ink, following uneven light and shadows.

    At a quarter of the resolution, a grey opening removes strokes narrower than its window
    and keeps shadows; but near the frame's edges it flattens light that keeps falling off.
    The same opening after taking out a smooth quadratic trend does not. Both lie under the
    paper, so the higher of the two is the better estimate everywhere. Reconstruction then
    restores the parts of shadows narrower than the window. ``window``: the opening's side in
    coarse pixels (default: BACKGROUND_WINDOW of the short side).
    """
    paper = _paper_of(bright_ink)
    return _full_size(paper, _paper_levels(paper, window or _background_window(paper.coarse)))


def _tile_medians(grey: np.ndarray) -> np.ndarray:
    """The median of each of about POLARITY_TILES x POLARITY_TILES tiles, brought back to
    full size: the paper, wherever ink covers less than half a tile, whatever its polarity."""
    height, width = grey.shape
    # Never wider than the image: a strip only a few pixels thin has tiles that thin.
    tile = min(max(4, min(height, width) // POLARITY_TILES), height, width)
    rows, cols = max(1, height // tile), max(1, width // tile)
    tiles = grey[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile).transpose(0, 2, 1, 3)
    medians = np.median(tiles.reshape(rows, cols, tile * tile), axis=-1).astype(np.float32)
    return _resize_float(medians, (width, height))


def _dark_by_local_paper(grey: np.ndarray) -> bool:
    """Vote 1: which tail departs further from the local paper (tile medians)?"""
    deviation = grey - _tile_medians(grey)
    floor = max(NOISE_SIGMAS * _noise_sigma(deviation), MIN_CONTRAST / 2)
    darker = np.maximum(-deviation - floor, 0.0).sum()
    lighter = np.maximum(deviation - floor, 0.0).sum()
    return bool(darker >= lighter)


def _dark_by_border(grey: np.ndarray) -> bool:
    """Vote 2: paper surrounds the digit, so the frame's border is paper. Is the most extreme
    ink (a few dozen pixels, enough for a small digit) darker or lighter than it?"""
    height, width = grey.shape
    ring = max(2, int(0.04 * min(height, width)))
    border = np.concatenate(
        [grey[:ring].ravel(), grey[-ring:].ravel(), grey[:, :ring].ravel(), grey[:, -ring:].ravel()]
    )
    paper = float(np.median(border))
    flat = grey.ravel()
    count = max(20, int(0.003 * flat.size))
    ends = np.partition(flat, [count, flat.size - count])
    darkest, lightest = ends[:count].mean(), ends[-count:].mean()
    return bool(paper - darkest >= lightest - paper)


def _dark_by_minority(grey: np.ndarray) -> bool:
    """Vote 3: split the grey levels in two (Otsu); ink is the smaller class."""
    histogram, edges = np.histogram(grey, bins=64, range=(0.0, 1.0))
    weights = histogram / max(1, histogram.sum())
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(weights)
    mean_below = np.cumsum(weights * centres)
    between = (mean_below[-1] * below - mean_below) ** 2 / (below * (1 - below) + 1e-9)
    threshold = centres[int(np.argmax(between))]
    return bool((grey < threshold).mean() < 0.5)


def ink_is_dark(grey: np.ndarray) -> bool:
    """Polarity: dark ink on light paper (True) or light on dark (False), by majority of three
    votes that fail in different places (local paper: thick strokes filling a tile; border:
    a frame edge in shadow; minority: a digit covering half the image). A desk around the
    page fools the last two; ``ink_map`` checks the result for that."""
    votes = _dark_by_border(grey) + _dark_by_minority(grey)
    if votes != 1:
        return votes == 2
    return _dark_by_local_paper(grey)


def _noise_sigma(values: np.ndarray) -> float:
    """Robust standard deviation (median absolute deviation) of mostly-paper values."""
    sample = values[::2, ::2].ravel() if values.size > 4096 else values.ravel()
    centre = np.median(sample)
    return float(1.4826 * np.median(np.abs(sample - centre)))


def _lighting_gain(paper: np.ndarray) -> np.ndarray:
    """Light multiplies ink and paper alike: a stroke in shadow has less absolute contrast.
    Scale each place by how much dimmer its paper is than the typical paper (at most 4x)."""
    typical = float(np.median(paper[::4, ::4]))
    return np.clip(typical / np.maximum(paper, 0.05), 0.5, 4.0).astype(np.float32)


def _contrast_normalised(excess: np.ndarray) -> tuple[np.ndarray, float]:
    """Ink above its paper -> [0, 1]: the paper's noise to 0, a typical stroke core to 1.

    The stroke level is the 90th percentile of what stands above the noise, or half the
    strongest few dozen pixels when the digit is tiny and noise outnumbers it.
    """
    noise = _noise_sigma(excess)
    floor = max(NOISE_SIGMAS * noise, MIN_CONTRAST / 2)
    flat = excess.ravel()
    count = max(16, int(0.002 * flat.size))
    strongest = float(np.partition(flat, flat.size - count)[-count:].mean())
    if strongest < MIN_CONTRAST or strongest < 1.5 * floor:
        return np.zeros_like(excess), max(strongest, 0.0)
    above = flat[flat > floor]
    typical = float(np.partition(above, int(0.9 * (above.size - 1)))[int(0.9 * (above.size - 1))])
    strong = max(typical, 0.5 * strongest)
    low = max(floor, 0.3 * strong)
    high = max(0.8 * strong, low + 1e-3)
    ink = np.clip((excess - low) / (high - low), 0.0, 1.0)
    return ink.astype(np.float32, copy=False), strongest


def _opened_along(values: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Grey opening with a line of ``length`` along ``axis``: what survives is long there."""
    across = 1 - axis
    # A thin tilted line steps between rows, its ink split over two of them: add pairs of
    # rows back together, then let the line wander within LINE_DRIFT rows.
    paired = ndi.uniform_filter1d(values, 2, axis=across, mode="nearest") * 2.0
    tolerant = ndi.maximum_filter1d(np.minimum(paired, 1.0), LINE_DRIFT, axis=across, mode="nearest")
    eroded = ndi.minimum_filter1d(tolerant, length, axis=axis, mode="nearest")
    return ndi.maximum_filter1d(eroded, length, axis=axis, mode="nearest")


@dataclass(frozen=True)
class Lines:
    """Printed lines along one axis: how many cross the image, how thick they are (drift
    included), how dark (the faintest, in ink-map units), and the mask of every thin
    straight segment, crossing or not."""

    count: int
    thickness: float
    segments: np.ndarray
    level: float = 1.0


def _line_candidates(ink: np.ndarray, axis: int, fraction: int = 4) -> Lines:
    """Thin straight structures along ``axis`` (1: horizontal) at least 1/``fraction`` of the
    image long, and how many of them cross it. Faint ones count too: printed lines are often
    lighter than the ink."""
    along, across = ink.shape[axis], ink.shape[1 - axis]
    opened = _opened_along(ink, max(8, along // fraction), axis)
    candidates = opened >= LINE_LEVEL
    if not candidates.any():
        return Lines(0, 0.0, candidates)
    labels, count = ndi.label(candidates)
    thin = np.zeros(count + 1, dtype=bool)
    max_thickness = max(4.0, LINE_MAX_THICKNESS * across) + LINE_DRIFT + 1
    index = np.arange(1, count + 1)
    areas = ndi.sum_labels(candidates, labels, index=index)
    levels = ndi.sum_labels(opened, labels, index=index) / np.maximum(areas, 1)
    crossing, faintest = [], 1.0
    for label, piece in enumerate(ndi.find_objects(labels), start=1):
        span = piece[axis].stop - piece[axis].start
        thickness = areas[label - 1] / span
        thin[label] = thickness <= max_thickness
        if thin[label] and span >= LINE_MIN_SPAN * along:
            crossing.append(thickness)
            faintest = min(faintest, float(levels[label - 1]))
    thickness = float(np.median(crossing)) if crossing else 0.0
    return Lines(len(crossing), thickness, thin[labels], faintest)


def _may_hold_lines(ink: np.ndarray) -> bool:
    """Cheap test first: do two separate (slightly tilted) rows, or columns, of blocks run
    mostly through ink, or one faint one? One dark one alone may be a digit's stroke."""
    present = ink >= LINE_LEVEL
    blocks = _coarse(present) > 0
    if blocks.shape[0] < 3 or blocks.shape[1] < 3:
        return False
    block = COARSE_FACTOR if blocks.shape != present.shape else 1  # strips are not coarsened
    for axis in (0, 1):
        long = ndi.maximum_filter1d(blocks, 3, axis=axis).mean(axis=1 - axis) >= LINE_MIN_SPAN
        runs = np.count_nonzero(np.diff(long.astype(np.int8)) == 1) + int(long[0])
        if runs >= 2:
            return True
        if runs == 1:
            band = np.zeros(ink.shape[axis], dtype=bool)
            band[: long.size * block] = np.repeat(long, block)
            strip = ink[band] if axis == 0 else ink[:, band]
            values = strip[strip >= LINE_LEVEL]
            if values.size and float(np.median(values)) < FAINT_LINE:
                return True
    return False


def _without_lines_along(ink: np.ndarray, lines: Lines, axis: int) -> np.ndarray:
    """Inside the lines' band keep only ink thicker across than the lines themselves: a grey
    opening across them removes the printed line but not a stroke crossing it, nor one
    running along it that is thicker than the line."""
    across = 1 - axis
    # The measured thickness includes the drift allowance and the row pairing.
    size = int(np.ceil(max(1.0, lines.thickness - LINE_DRIFT))) + 1
    band = ndi.maximum_filter1d(lines.segments, LINE_DRIFT, axis=across)
    thick = ndi.grey_opening(ink, size=(size, 1) if axis == 1 else (1, size), mode="constant")
    return np.where(band, np.minimum(ink, thick), ink)


def _touching_border(mask: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` that touch the image's edge."""
    labels, count = ndi.label(mask)
    if count == 0:
        return mask
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge[edge > 0])


def _one_printed_line(ink: np.ndarray, *directions: Lines) -> bool:
    """A single line across (a margin, the one rule in a crop) is printed when it is much
    fainter than the ink, or much thinner than the strokes of the rest of the ink."""
    single = [lines for lines in directions if lines.count == 1]
    if any(lines.level < FAINT_LINE for lines in single):
        return True
    for lines in single:
        rest = (ink >= INK_LEVEL) & ~lines.segments
        if np.count_nonzero(rest) >= MIN_DIGIT_AREA:
            width = max(1.0, lines.thickness - LINE_DRIFT)  # the drift allowance widened it
            if width <= THIN_LINE * stroke_width(rest.astype(np.float32)):
                return True
    return False


def remove_printed_lines(ink: np.ndarray) -> np.ndarray:
    """Take out ruled or squared paper's printed lines, keeping the strokes that cross them.

    Paper shows at least two parallel lines crossing the image, or one much fainter than the
    ink; a single long straight stroke (a "1", a "7"'s bar) does not make paper. On paper, in
    each direction that has a line across (a margin counts), every thin straight segment goes
    (lines broken by JPEG or fading too), as far as it is no thicker than the printed lines.
    """
    if not _may_hold_lines(ink):
        return ink
    horizontal = _line_candidates(ink, axis=1)
    vertical = _line_candidates(ink, axis=0)
    if horizontal.count < 2 and vertical.count < 2 and not _one_printed_line(ink, horizontal, vertical):
        return ink
    cleaned = ink
    for lines, axis in ((horizontal, 1), (vertical, 0)):
        if lines.count:  # a direction with no line across the image has only strokes
            # On paper, shorter pieces at the frame's edge go too: lines the frame cuts.
            pieces = lines.segments | _touching_border(_line_candidates(ink, axis, fraction=8).segments)
            cleaned = _without_lines_along(cleaned, Lines(lines.count, lines.thickness, pieces), axis)
    return cleaned.astype(np.float32, copy=False)


def _has_shadows(paper: _Paper, levels: np.ndarray) -> bool:
    """Does the paper found vary across the page more than a smooth trend explains?"""
    rest = levels - paper.trend if paper.trend is not None else levels
    low, high = np.percentile(rest, [2, 98])
    return bool(high - low > SHADOW_STEP)


def _ink_against_paper(
    bright_ink: np.ndarray, paper: _Paper, dark_ink: bool, window: int
) -> tuple[np.ndarray, float, np.ndarray]:
    """(ink map, contrast, the paper's levels at coarse scale) for one background window."""
    levels = _paper_levels(paper, window)
    background = _full_size(paper, levels)
    excess = bright_ink - background
    if dark_ink:  # on dark paper (MNIST's black) there is no paper brightness to divide by
        excess *= _lighting_gain(1.0 - background)
    ink, contrast = _contrast_normalised(excess)
    return ink, contrast, levels


def _window_for_strokes(ink: np.ndarray) -> int:
    """A background window (coarse pixels) of about four stroke widths, the width taken as
    twice the ink's area over its outline (no ink: a huge window, meaning no change)."""
    mask = ink >= INK_LEVEL
    outline = int(np.count_nonzero(mask & ~ndi.binary_erosion(mask)))
    if outline == 0:
        return 1 << 30
    width = 2.0 * np.count_nonzero(mask) / outline
    return max(3, int(np.ceil(STROKE_WINDOWS * width / COARSE_FACTOR))) | 1


def _ink_of(grey: np.ndarray, dark_ink: bool) -> tuple[np.ndarray, float]:
    """The ink map and contrast of working grey levels, for a given polarity."""
    bright_ink = 1.0 - grey if dark_ink else grey
    paper = _paper_of(bright_ink)
    window = _background_window(paper.coarse)
    ink, contrast, levels = _ink_against_paper(bright_ink, paper, dark_ink, window)
    # The default window allows for marker strokes filling the frame; when there are shadows,
    # thinner strokes let a tighter window follow their edges and corners closely.
    if contrast > 0 and _has_shadows(paper, levels):
        tighter = _window_for_strokes(ink)
        if tighter < 0.75 * window:
            ink, contrast, _ = _ink_against_paper(bright_ink, paper, dark_ink, tighter)
    if contrast > 0:
        ink = remove_printed_lines(ink)
    return ink, contrast


def _found_the_page(ink: np.ndarray) -> bool:
    """Is the "ink" a big filled block away from the frame: the page itself, seen against a
    darker desk, so the polarity is the wrong way round?"""
    if np.count_nonzero(ink >= INK_LEVEL) < PAGE_INKED * ink.size:
        return False
    height, width = ink.shape
    for component in ink_components(ink)[1]:
        x, y, w, h = component.box
        big = w >= PAGE_SPAN * width and h >= PAGE_SPAN * height
        if big and not component.touches_border and component.area >= PAGE_FILL * w * h:
            return True
    return False


def ink_map(image: Image.Image, *, max_side: int = WORK_SIDE, dark_ink: bool | None = None) -> InkMap:
    """How much ink each pixel holds, at a working resolution of at most ``max_side``.

    ``dark_ink`` forces the polarity (None: decide from the image). The map's ``scale`` is in
    working pixels per pixel of the upload (``image.info["upload_size"]`` when the decoder
    read a reduced JPEG, else the image itself).
    """
    grey, scale = working_grey(image, max_side)
    grey = _denoised(grey)
    upload_width = image.info.get(UPLOAD_SIZE_KEY, image.size)[0]
    scale *= image.size[0] / upload_width
    if dark_ink is not None:
        ink, contrast = _ink_of(grey, dark_ink)
        return InkMap(ink=ink, scale=scale, dark_ink=dark_ink, contrast=contrast)
    dark_ink = ink_is_dark(grey)
    ink, contrast = _ink_of(grey, dark_ink)
    if contrast > 0 and _found_the_page(ink):
        other, other_contrast = _ink_of(grey, not dark_ink)
        if other_contrast > 0 and not _found_the_page(other):
            dark_ink, ink, contrast = not dark_ink, other, other_contrast
    return InkMap(ink=ink, scale=scale, dark_ink=dark_ink, contrast=contrast)


# 2. Components and the digit --------------------------------------------------------------


def ink_components(ink: np.ndarray, min_area: int = 4) -> tuple[np.ndarray, list[Component]]:
    """Connected pieces (8-connected) of ink, with hysteresis: a piece is grown over faint ink
    (grainy pencil stays in one piece) but needs ``min_area`` pixels of real ink (specks out)."""
    strong = ink >= INK_LEVEL
    labels, count = ndi.label(ink >= FAINT_INK_LEVEL, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return labels, []
    index = np.arange(1, count + 1)
    areas = ndi.sum_labels(strong, labels, index)
    masses = ndi.sum_labels(ink, labels, index)
    height, width = ink.shape
    components = []
    for label, piece in enumerate(ndi.find_objects(labels), start=1):
        if piece is None or areas[label - 1] < min_area:
            continue
        rows, cols = piece
        box = (cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        border = rows.start == 0 or cols.start == 0 or rows.stop == height or cols.stop == width
        components.append(Component(label, box, int(areas[label - 1]), float(masses[label - 1]), border))
    return labels, components


def _runs_along_frame(component: Component, shape: tuple[int, int]) -> bool:
    """A piece touching the frame and spanning much of it: a desk around the page, the page's
    edge, a shadow's border; or, with nothing else there, a digit cropped to its edges."""
    height, width = shape
    _, _, w, h = component.box
    return component.touches_border and (w >= FRAME_SPAN * width or h >= FRAME_SPAN * height)


def _score(component: Component, shape: tuple[int, int]) -> tuple[bool, float]:
    """Big and central wins; pieces cut by the frame count less, those along it come last."""
    height, width = shape
    cx, cy = component.centre
    dx, dy = (cx - width / 2) / width, (cy - height / 2) / height
    centrality = 1.0 / (1.0 + 4.0 * (dx * dx + dy * dy))
    weight = 0.25 if component.touches_border else 1.0
    return not _runs_along_frame(component, shape), component.mass * centrality * weight


def _box_gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    gap_x = max(0, max(ax, bx) - min(ax + aw, bx + bw))
    gap_y = max(0, max(ay, by) - min(ay + ah, by + bh))
    return float(max(gap_x, gap_y))


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    left, top = min(a[0], b[0]), min(a[1], b[1])
    right, bottom = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return left, top, right - left, bottom - top


def _looks_like_a_dot(component: Component, labels: np.ndarray, ink: np.ndarray) -> bool:
    """A small, filled, roundish blob (a speck, a blot, a pen dot) is no digit; even a marker
    "1" is elongated and other digits leave paper inside their box. Judged on the piece's
    real ink (its faint fringe makes any small blob look hollow)."""
    x, y, w, h = component.box
    solid = (labels[y : y + h, x : x + w] == component.label) & (ink[y : y + h, x : x + w] >= INK_LEVEL)
    rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    fill = np.count_nonzero(solid) / float(height * width)
    small = max(height, width) <= DOT_SIZE * max(ink.shape)
    return small and fill >= DOT_FILL and max(height, width) <= DOT_ASPECT * min(height, width)


def _joins(box: tuple[int, int, int, int], other: Component, main: Component, shape: tuple[int, int]) -> bool:
    """Does a fragment belong to the digit: close by, not running along the frame (a shadow's
    or the page's edge), and either inside its box (a broken pencil stroke) or big enough to
    be a stroke of its own (a "5"'s bar)? A big piece may lie further off (a faint joining
    stroke lost) and widen the box more (the bar above a "5"'s body)."""
    if _runs_along_frame(other, shape) or (other.touches_border and other.mass > main.mass):
        return False
    side = max(box[2], box[3])
    big = other.mass >= FRAGMENT_BIG * main.mass
    if _box_gap(box, other.box) > (0.6 if big else 0.3) * side:
        return False
    merged = _union(box, other.box)
    grows = max(merged[2], merged[3]) / side
    if grows > (2.0 if big else 1.6):
        return False  # a neighbour that would change the digit's size is something else
    return other.mass >= (FRAGMENT_INSIDE if grows <= 1.1 else FRAGMENT_OUTSIDE) * main.mass


def select_digit(ink: np.ndarray, min_area: int = MIN_DIGIT_AREA) -> Digit:
    """The digit in an ink map holding one: its main piece plus the fragments belonging to it.

    Raises NoDigitFound when there is no ink worth calling a digit (blank, specks, a dot).
    """
    labels, components = ink_components(ink)
    if not components:
        raise NoDigitFound("no digit found: the image looks blank")
    ranked = sorted(
        (c for c in components if c.area >= min_area), key=lambda c: _score(c, ink.shape), reverse=True
    )
    if not ranked:
        raise NoDigitFound("no digit found: only specks of ink")
    main = next((c for c in ranked[:DOT_CANDIDATES] if not _looks_like_a_dot(c, labels, ink)), None)
    if main is None:
        raise NoDigitFound("no digit found: only dots or blots of ink")
    chosen, box = [main], main.box
    others = sorted((c for c in components if c is not main), key=lambda c: -c.mass)
    grown = True
    while grown:
        grown = False
        for other in list(others):
            if _joins(box, other, main, ink.shape):
                chosen.append(other)
                others.remove(other)
                box, grown = _union(box, other.box), True
    x, y, w, h = box
    keep = np.isin(labels[y : y + h, x : x + w], [c.label for c in chosen])
    # Soft edges below FAINT_INK_LEVEL belong to the nearest chosen piece: keep a 1 px fringe.
    keep = ndi.binary_dilation(keep, structure=np.ones((3, 3), dtype=bool))
    crop = np.where(keep, ink[y : y + h, x : x + w], 0.0).astype(np.float32)
    return Digit(ink=crop, box=box)


# 3. The MNIST-style input -----------------------------------------------------------------


def crop_to_ink(ink: np.ndarray, level: float = INK_LEVEL) -> np.ndarray:
    """The smallest box holding every pixel over ``level`` (NoDigitFound when there is none)."""
    rows = np.flatnonzero((ink > level).any(axis=1))
    cols = np.flatnonzero((ink > level).any(axis=0))
    if rows.size == 0:
        raise NoDigitFound("no digit found: the image looks blank")
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_longest_side(ink: np.ndarray, longest: int) -> np.ndarray:
    """Resize keeping the aspect ratio so the longest side is ``longest`` (area-averaged)."""
    height, width = ink.shape
    factor = longest / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BILINEAR
    image = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, resample), dtype=np.float32)


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the distance-to-paper along the strokes' ridges."""
    mask = ink >= INK_LEVEL
    if not mask.any():
        return 0.0
    distance = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    ridge = mask & (distance >= ndi.maximum_filter(distance, size=3))
    return float(2.0 * np.median(distance[ridge]))


def match_mnist_strokes(ink: np.ndarray, width: float | None = None) -> np.ndarray:
    """Thicken hairlines and slim heavy marker strokes into MNIST's range of stroke widths.

    ``width``: the strokes' width in pixels of ``ink`` when it is known already (else measured).
    """
    box = max(ink.shape)
    width = stroke_width(ink) if width is None else width
    low, high = MNIST_STROKE[0] * box, MNIST_STROKE[1] * box
    mask = ink >= INK_LEVEL
    if width < low:
        radius = (low - width) / 2.0
        outside = ndi.distance_transform_edt(~mask)
        grown = np.clip(radius + 0.5 - outside, 0.0, 1.0)
        return np.maximum(ink, grown).astype(np.float32)
    if width > high:
        radius = (width - high) / 2.0
        inside = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        return np.minimum(ink, np.clip(inside - radius, 0.0, 1.0)).astype(np.float32)
    return ink


def place_like_mnist(digit: np.ndarray) -> np.ndarray:
    """A digit cropped to its ink and fitted into the 20x20 box -> float32 [28, 28], its peak
    at 1, its centre of mass at MNIST's (14, 14)."""
    peak = float(digit.max())
    if peak <= 0:
        raise NoDigitFound("no digit found: the image looks blank")
    digit = np.clip(digit / peak, 0.0, 1.0)
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    height, width = digit.shape
    top, left = (MNIST_SIDE - height) // 2, (MNIST_SIDE - width) // 2
    field[top : top + height, left : left + width] = digit
    cy, cx = ndi.center_of_mass(field)
    dy, dx = int(round(MNIST_CENTRE - cy)), int(round(MNIST_CENTRE - cx))
    dy = int(np.clip(dy, -top, MNIST_SIDE - height - top))
    dx = int(np.clip(dx, -left, MNIST_SIDE - width - left))
    shifted = np.zeros_like(field)
    shifted[top + dy : top + dy + height, left + dx : left + dx + width] = digit
    return shifted


def normalize_digit(ink: np.ndarray) -> np.ndarray:
    """One digit's ink (any size) -> float32 [28, 28] in [0, 1], as MNIST was made.

    Cropped to its ink, strokes brought to MNIST's widths, fitted into a 20x20 box keeping
    its aspect ratio, placed in 28x28 with its centre of mass at MNIST's (14, 14).
    """
    digit = crop_to_ink(np.asarray(ink, dtype=np.float32))
    digit = fit_longest_side(digit, MNIST_BOX * STROKE_SCALE)
    digit = match_mnist_strokes(digit)
    return place_like_mnist(fit_longest_side(crop_to_ink(digit), MNIST_BOX))


# The whole way ------------------------------------------------------------------------------


def _refined(image: Image.Image, first: InkMap, digit: Digit, *, fall_back: bool) -> Digit:
    """Re-read a digit that is small in the working map from the image's own pixels. When
    the closer look finds nothing: the first reading (``fall_back``) or NoDigitFound."""
    x, y, w, h = digit.box
    factor = image.size[0] / first.ink.shape[1]  # image pixels per working pixel
    margin = max(w, h) + 2  # generous: the first reading may have missed faint parts
    left, top = max(0, int((x - margin) * factor)), max(0, int((y - margin) * factor))
    right = min(image.size[0], int(np.ceil((x + w + margin) * factor)))
    bottom = min(image.size[1], int(np.ceil((y + h + margin) * factor)))
    closer = ink_map(image.crop((left, top, right, bottom)), max_side=REFINE_SIDE, dark_ink=first.dark_ink)
    try:
        if closer.is_blank:
            raise NoDigitFound("no digit found: the image looks blank")
        return select_digit(closer.ink)
    except NoDigitFound:
        if fall_back:
            return digit
        raise


def to_model_input(image: Image.Image) -> np.ndarray:
    """A decoded upload holding one digit -> float32 [28, 28] in [0, 1], white on black.

    Raises NoDigitFound when the image holds no ink (a blank page is not a guess).
    """
    first = ink_map(image)
    if first.is_blank:
        raise NoDigitFound("no digit found: the image looks blank")
    finer = image.size[0] / max(first.ink.shape[1], 1) > 1.5  # the image has more to show
    try:
        digit = select_digit(first.ink)
    except NoDigitFound:
        if not finer:
            raise
        # A digit a few working pixels tall breaks into specks: look closer at the best of them.
        digit = select_digit(first.ink, min_area=TINY_DIGIT_AREA)
        return normalize_digit(_refined(image, first, digit, fall_back=False).ink)
    if finer and max(digit.box[2], digit.box[3]) < REFINE_BELOW:
        digit = _refined(image, first, digit, fall_back=True)
    return normalize_digit(digit.ink)
