"""An upload as an ink map: how much ink each pixel holds, at a bounded working resolution.

In: a decoded upload (Pillow image, mode L or RGB). Out: ``InkMap``: float32 [H, W] in [0, 1]
(1 = ink), its scale to the upload and the polarity found. Polarity found, paper and lighting
removed by background estimation, printed ruled or squared lines removed, contrast normalised.
A drawing (a canvas, a clean digital image: one exact background level, ``DrawingRules``) needs
no estimates: its paper is that level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from recognizer.vision import ndimage as ndi
from recognizer.vision.components import ink_components
from recognizer.vision.geometry import UPLOAD_SIZE_KEY, Frame
from recognizer.vision.lines import remove_printed_lines
from recognizer.vision.noise import denoised, lower_tail_sigma, noise_sigma
from recognizer.vision.paper import Paper, background_window, full_size, has_shadows, paper_levels, paper_of
from recognizer.vision.pixelation import GreyUpload, grey_upload
from recognizer.vision.polarity import ink_is_dark
from recognizer.vision.statistics import extreme_mean
from recognizer.vision.strokes import INK_LEVEL, stroke_width
from recognizer.vision.tuning import DRAWING, PAPER, RESOLUTION


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

    @property
    def frame(self) -> Frame:
        """Where the map sits in the upload."""
        return Frame(self.scale)


def working_grey(
    image: Image.Image, max_side: int = RESOLUTION.work_side, upload: GreyUpload | None = None
) -> tuple[np.ndarray, float]:
    """Grey levels in [0, 1] at a bounded resolution, and the scale from the image's pixels.
    An upload enlarged pixel by pixel is taken at its own resolution first, then enlarged
    smoothly like any small upload. ``upload``: ``image`` in grey, when worked out already."""
    original_width = image.size[0]
    grey = (upload or grey_upload(image)).native
    width, height = grey.size
    longest = max(width, height)
    if longest > max_side:
        scale = max_side / longest
    elif longest < RESOLUTION.min_work_side:
        scale = min(RESOLUTION.min_work_side, max_side) / longest
    else:
        scale = 1.0
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resample = Image.Resampling.BILINEAR if scale < 1 else Image.Resampling.BICUBIC
        grey = grey.resize(size, resample, reducing_gap=2.0 if scale < 1 else None)
    return np.asarray(grey, dtype=np.float32) / 255.0, grey.size[0] / original_width


def _lighting_gain(paper: np.ndarray) -> np.ndarray:
    """Light multiplies ink and paper alike: a stroke in shadow has less absolute contrast.
    Scale each place by how much dimmer its paper is than the typical paper (at most 4x)."""
    typical = float(np.median(paper[::4, ::4]))
    low, high = PAPER.lighting_gain
    return np.clip(typical / np.maximum(paper, PAPER.darkest_paper), low, high).astype(np.float32)


@dataclass(frozen=True)
class _Levels:
    """Ink above its paper, read at two levels: ``ink`` from a third of the typical stroke's
    contrast, ``faint`` from ``PAPER.faint_stroke`` of it (both [0, 1])."""

    ink: np.ndarray
    faint: np.ndarray
    contrast: float


def _contrast_normalised(excess: np.ndarray) -> _Levels:
    """Ink above its paper -> [0, 1]: the paper's noise to 0, a typical stroke core to 1.

    The stroke level is the 90th percentile of what stands above the noise, or half the
    strongest few dozen pixels when the digit is tiny and noise outnumbers it.
    """
    flat = excess.ravel()
    count = max(PAPER.strongest_min, int(PAPER.strongest_share * flat.size))
    strongest = extreme_mean(flat, count, largest=True)
    floor = max(PAPER.noise_sigmas * noise_sigma(excess), PAPER.min_contrast / 2)
    if PAPER.min_contrast <= strongest < PAPER.stands_out * floor:
        # As much ink as paper (a digit filling its frame): the values' spread is the ink's.
        floor = max(PAPER.noise_sigmas * lower_tail_sigma(excess), PAPER.min_contrast / 2)
    if strongest < PAPER.min_contrast or strongest < PAPER.stands_out * floor:
        blank = np.zeros_like(excess)
        return _Levels(blank, blank, max(strongest, 0.0))
    above = flat[flat > floor]
    rank = int(PAPER.typical_stroke * (above.size - 1))
    typical = float(np.partition(above, rank)[rank])
    strong = max(typical, PAPER.tiny_stroke * strongest)
    return _Levels(
        _scaled(excess, max(floor, PAPER.ink_from * strong), PAPER.ink_full * strong),
        _scaled(excess, max(floor, PAPER.faint_stroke * strong), PAPER.faint_stroke_full * strong),
        strongest,
    )


def _scaled(excess: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((excess - low) / (max(high, low + 1e-3) - low), 0.0, 1.0).astype(np.float32, copy=False)


def _fine_pen(ink: np.ndarray) -> bool:
    """Are the strokes a fine pen's (at most ``PAPER.hairline`` working pixels wide)? Only
    then do faint joins count: a wider stroke's faint fringe would fill loops and join a
    marker's strokes (thick-marker uploads lost 0.6 points)."""
    strong = ink >= INK_LEVEL
    return bool(strong.any()) and stroke_width(strong.astype(np.float32)) <= PAPER.hairline


def _with_faint_strokes(ink: np.ndarray, faint: np.ndarray) -> np.ndarray:
    """``ink`` plus the faint strokes that join it: a hairline join fades where the pen ran
    fast. Strokes are decided as a whole: a faint stroke counts when it touches a strong one;
    faint marks on their own stay paper."""
    labels, count = ndi.label(faint >= INK_LEVEL, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return ink
    joined = np.zeros(count + 1, dtype=bool)
    joined[np.unique(labels[ink >= INK_LEVEL])] = True
    joined[0] = False
    return np.where(joined[labels], np.maximum(ink, faint), ink)


def _ink_against_paper(bright_ink: np.ndarray, paper: Paper, dark_ink: bool, window: int) -> tuple[_Levels, np.ndarray]:
    """(ink at both levels and contrast, the paper's levels at coarse scale) for one background window."""
    levels = paper_levels(paper, window)
    background = full_size(paper, levels)
    excess = bright_ink - background
    if dark_ink:  # on dark paper (MNIST's black) there is no paper brightness to divide by
        excess *= _lighting_gain(1.0 - background)
    return _contrast_normalised(excess), levels


def _window_for_strokes(ink: np.ndarray) -> int:
    """A background window (coarse pixels) of about four stroke widths, the width taken as
    twice the ink's area over its outline (no ink: a huge window, meaning no change)."""
    mask = ink >= INK_LEVEL
    outline = int(np.count_nonzero(mask & ~ndi.binary_erosion(mask)))
    if outline == 0:
        return 1 << 30
    width = 2.0 * np.count_nonzero(mask) / outline
    return max(3, int(np.ceil(PAPER.stroke_windows * width / PAPER.coarse_factor))) | 1


def _ink_of(grey: np.ndarray, dark_ink: bool, faint_strokes: bool) -> tuple[np.ndarray, float]:
    """The ink map and contrast of working grey levels, for a given polarity."""
    bright_ink = 1.0 - grey if dark_ink else grey
    paper = paper_of(bright_ink)
    window = background_window(paper.coarse)
    found, levels = _ink_against_paper(bright_ink, paper, dark_ink, window)
    # The default window allows for marker strokes filling the frame; when there are shadows,
    # thinner strokes let a tighter window follow their edges and corners closely.
    if found.contrast > 0 and has_shadows(paper, levels):
        tighter = _window_for_strokes(found.ink)
        if tighter < PAPER.tighter_window * window:
            found, _ = _ink_against_paper(bright_ink, paper, dark_ink, tighter)
    return _without_lines(found, faint_strokes), found.contrast


def drawn_background(grey: np.ndarray) -> float | None:
    """The background level of a drawing (``DrawingRules``), or None for anything else. ``grey``:
    working grey levels, whole multiples of 1/255 (as ``working_grey`` makes them)."""
    counts = np.bincount(np.rint(grey.ravel() * 255.0).astype(np.intp), minlength=256)
    level = int(counts.argmax())
    if counts[level] < DRAWING.flat_share * grey.size:
        return None
    around = counts[max(0, level - DRAWING.near_levels) : level + DRAWING.near_levels + 1]
    if int(around.sum()) - counts[level] > DRAWING.near_share * grey.size:
        return None
    frame = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    if np.count_nonzero(np.rint(frame * 255.0) == level) < DRAWING.border_share * frame.size:
        return None
    return float(np.float32(level) / np.float32(255.0))  # the level as working_grey writes it, bit for bit


def _ink_of_drawing(
    grey: np.ndarray, background: float, dark_ink: bool, faint_strokes: bool
) -> tuple[np.ndarray, float]:
    """``_ink_of`` for a drawing: its paper is exactly ``background`` everywhere, so there is no
    paper to estimate, no light to even out and no noise; printed lines (a form drawn by a
    program) are still taken out."""
    excess = (background - grey) if dark_ink else (grey - background)
    found = _contrast_normalised(excess)
    return _without_lines(found, faint_strokes), found.contrast


def _read_as_drawing(
    grey: np.ndarray, background: float, dark_ink: bool | None, faint_strokes: bool
) -> tuple[np.ndarray, float, bool] | None:
    """(ink, contrast, polarity) of a drawing, its marks dark when they lie below the background
    (``dark_ink`` None), or None when what it finds is a page on a flat desk (a synthetic photo,
    a scan's black border): that is for the generic reading to turn round."""
    marks = grey[grey != background]
    dark = (marks.size > 0 and float(marks.mean()) < background) if dark_ink is None else dark_ink
    ink, contrast = _ink_of_drawing(grey, background, dark, faint_strokes)
    if dark_ink is None and contrast > 0 and _found_the_page(ink):
        return None
    return ink, contrast, dark


def _without_lines(found: _Levels, faint_strokes: bool) -> np.ndarray:
    """The ink with printed lines taken out, and the faint strokes that join a fine pen's."""
    if found.contrast <= 0:
        return found.ink
    cleaned = remove_printed_lines(found.ink)
    if (
        not faint_strokes
        or cleaned is not found.ink  # ruled or squared paper: its lines, faint or not, touch the digit
        or not _fine_pen(found.ink)
        or remove_printed_lines(found.faint) is not found.faint
    ):
        return cleaned
    return _with_faint_strokes(found.ink, found.faint)


def _found_the_page(ink: np.ndarray) -> bool:
    """Is the "ink" a big filled block away from the frame: the page itself, seen against a
    darker desk, so the polarity is the wrong way round?"""
    if np.count_nonzero(ink >= INK_LEVEL) < PAPER.page_inked * ink.size:
        return False
    height, width = ink.shape
    for component in ink_components(ink)[1]:
        x, y, w, h = component.box
        big = w >= PAPER.page_span * width and h >= PAPER.page_span * height
        if big and not component.touches_border and component.area >= PAPER.page_fill * w * h:
            return True
    return False


def ink_map(
    image: Image.Image,
    *,
    max_side: int = RESOLUTION.work_side,
    dark_ink: bool | None = None,
    faint_strokes: bool = True,
    upload: GreyUpload | None = None,
) -> InkMap:
    """How much ink each pixel holds, at a working resolution of at most ``max_side``.

    ``dark_ink`` forces the polarity (None: decide from the image). ``faint_strokes``: faint
    strokes that touch the ink count too (a row says no: its neighbours' faint fringes would
    join digits that only come close). The map's ``scale`` is in
    working pixels per pixel of the upload (``image.info["upload_size"]`` when the decoder
    read a reduced JPEG, else the image itself). ``upload``: ``image`` in grey, when worked out already.
    """
    grey, scale = working_grey(image, max_side, upload)
    upload_width = image.info.get(UPLOAD_SIZE_KEY, image.size)[0]
    scale *= image.size[0] / upload_width
    background = drawn_background(grey)
    drawing = None if background is None else _read_as_drawing(grey, background, dark_ink, faint_strokes)
    if drawing is not None:
        ink, contrast, drawn_dark = drawing
        return InkMap(ink=ink, scale=scale, dark_ink=drawn_dark, contrast=contrast)
    grey = denoised(grey)
    if dark_ink is not None:
        ink, contrast = _ink_of(grey, dark_ink, faint_strokes)
        return InkMap(ink=ink, scale=scale, dark_ink=dark_ink, contrast=contrast)
    dark_ink = ink_is_dark(grey)
    ink, contrast = _ink_of(grey, dark_ink, faint_strokes)
    if contrast > 0 and _found_the_page(ink):
        other, other_contrast = _ink_of(grey, not dark_ink, faint_strokes)
        if other_contrast > 0 and not _found_the_page(other):
            dark_ink, ink, contrast = not dark_ink, other, other_contrast
    return InkMap(ink=ink, scale=scale, dark_ink=dark_ink, contrast=contrast)
