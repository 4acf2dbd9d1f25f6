"""The single-digit reader's tuning, as frozen dataclasses: one instance of each, named in
capitals. The values were tuned on realistic uploads made from MNIST digits
(``training.data.realistic``); changing one changes what the service reads. (Rows have their own:
``rows.tuning``.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkingResolution:
    """The resolution an upload is worked at, in working pixels."""

    work_side: int = 256  # longest side of the working resolution
    min_work_side: int = 112  # small uploads (an MNIST-sized 28x28) are upscaled to this
    refine_below_side: int = 56  # a digit whose longest side is below this is re-read at full resolution (a row's own rule: rows.tuning.WORKING.refine_below, a row height)
    refine_side: int = 192  # working side for that second look (the digit then spans about half)


RESOLUTION = WorkingResolution()


@dataclass(frozen=True)
class PixelationRules:
    """When an upload counts as enlarged pixel by pixel (``pixelation.block_size``)."""

    max_side: int = 1024  # larger uploads are not looked at (a scan blown up in blocks is small)
    min_block: float = 2.5  # source pixels enlarged less than this are left as they are
    min_blocks: int = 4  # runs of alike rows and of alike columns needed to tell
    tolerance: float = 0.2  # of the image's grey range: neighbours differing less are alike (JPEG)


PIXELATION = PixelationRules()


@dataclass(frozen=True)
class GreyLevelRules:
    """When a small upload is also read by its grey levels (``grey_levels``), and how."""

    max_side: int = 96  # at their own resolution: larger uploads are read by the ink map alone (read both
    # ways, twice the chances for a mark to look like a digit: at 256 px, 7-8 points fewer letters refused)
    plain_paper: float = 0.08  # most of the image's edge within this of its median: plain paper
    min_contrast: float = 0.2  # the darkest ink at least this far from the paper
    paper_below: float = 0.15  # of the darkest ink: fainter is paper (JPEG noise, grain)


GREY_LEVELS = GreyLevelRules()


@dataclass(frozen=True)
class PaperRules:
    """Telling paper from ink: noise, background, polarity, contrast, the page itself."""

    noisy: float = 0.06  # per-pixel noise (of the full range) above which the image is smoothed first
    min_contrast: float = 0.06  # ink must differ from its paper by 6% of the full range
    faint_stroke: float = 0.12  # of the typical stroke: fainter strokes that touch ink count from here
    faint_stroke_full: float = 0.3  # ... and count fully from here (plain ink: 0.3 to 0.8)
    hairline: float = 3.0  # working pixels: strokes at most this wide are a fine pen's, whose faint joins count
    noise_sigmas: float = 4.0  # and stand out from the paper's noise by this many sigmas
    coarse_factor: int = 4  # background is estimated at 1/4 of the working resolution
    background_window: float = 0.4  # of the short side: ink narrower than this is not background
    reconstruction_steps: int = 24  # at most: shadow tips are restored up to 24 coarse pixels deep
    shadow_step: float = 0.04  # paper level differences (beyond the trend) that call for a closer look
    polarity_tiles: int = 3  # the local paper level for a polarity vote is a median per 1/3 x 1/3 tile
    polarity_bins: int = 64  # grey levels in the histogram that splits ink from paper (a power of two)
    stroke_windows: int = 4  # or, once the strokes are known, this many stroke widths
    page_inked: float = 0.15  # an ink map inked over this much of its area may have found the page
    page_span: float = 0.4  # a piece this big (of both sides) ...
    page_fill: float = 0.85  # ... and this solid is the page
    darkest_paper: float = 0.05  # paper counts as at least this bright when light is divided out ...
    lighting_gain: tuple[float, float] = (0.5, 4.0)  # ... and the gain stays within this
    strongest_share: float = 0.002  # the strongest ink: the mean of this share of the pixels ...
    strongest_min: int = 16  # ... and of this many at least (a tiny digit)
    stands_out: float = 1.5  # ink whose strongest is below this many noise floors is paper (blank)
    typical_stroke: float = 0.9  # quantile of the ink above the noise that is a typical stroke's core
    tiny_stroke: float = 0.5  # of the strongest ink: the stroke level when noise outnumbers the digit
    ink_from: float = 0.3  # of the stroke level: ink counts from here ...
    ink_full: float = 0.8  # ... and fully from here
    tighter_window: float = 0.75  # a window from the strokes replaces the default when this much smaller
    border_ring: float = 0.04  # of the short side: the frame's border a polarity vote takes as paper ...
    min_border_ring: int = 2  # ... at least this many pixels
    extreme_share: float = 0.003  # the most extreme ink a polarity vote compares: this share of pixels ...
    min_extreme: int = 20  # ... and this many at least (a small digit)
    min_polarity_tile: int = 4  # pixels: the local paper's tiles are never smaller
    ink_minority: float = 0.5  # the class of grey levels under this share of the pixels is ink


PAPER = PaperRules()


@dataclass(frozen=True)
class DrawingRules:
    """When an upload is a drawing (a canvas, a clean digital image): its background one exact
    grey level, with none of paper's texture, noise or shading around it. Measured on the working
    grey of each upload kind: drawings keep 70-95% of pixels at one level and under 1.4% within
    ``near_levels`` of it (their strokes' anti-aliased edges); paper, photos and scans 3% and more."""

    flat_share: float = 0.5  # at least this share of pixels at exactly the background level
    near_levels: int = 3  # grey levels (of 255) either side of it that paper's noise would fill
    near_share: float = 0.02  # at most this share of pixels there
    border_share: float = 0.5  # and this share of the frame's outermost pixels at it (not a digit filling the frame)


DRAWING = DrawingRules()


@dataclass(frozen=True)
class LineRules:
    """What a printed line of ruled or squared paper looks like, in an ink map."""

    min_span: float = 0.7  # a printed line crosses at least this much of the image
    max_thickness: float = 0.05  # and is at most this thick (of the other side), 4 px at least
    level: float = 0.06  # printed lines are often fainter than ink; their openings are noise-free
    faint: float = 0.5  # one line across this much fainter than the ink is printed, not written
    thin: float = 0.5  # and so is one at most this thick, of the other strokes' width
    drift: int = 3  # rows (columns) a slightly rotated line may wander within one window


LINES = LineRules()


@dataclass(frozen=True)
class DigitRules:
    """Which pieces of ink make the one digit of an image, and which are specks, dots or frame."""

    frame_span: float = 0.6  # a piece touching the frame and spanning this much of it is the frame's
    min_digit_area: int = 12  # working pixels of real ink, below which it is specks
    tiny_digit_area: int = 4  # unless the upload has pixels to spare: then a closer look decides
    dot_fill: float = 0.7  # a small piece this filled ...
    dot_aspect: float = 1.6  # ... and this round is a dot, not a digit
    dot_size: float = 0.08  # "small": at most this much of the working image's longest side
    dot_candidates: int = 8  # the best-placed pieces looked at before deciding there are only dots
    fragment_inside: float = 0.015  # of the main piece's ink: a fragment within the digit's box joins
    fragment_outside: float = 0.08  # one that widens the box must be a stroke in its own right
    fragment_big: float = 0.2  # and one this big may lie further off and widen it more
    fragment_gap: float = 0.3  # of the digit's longest side: how far off a fragment may lie ...
    big_fragment_gap: float = 0.6  # ... a big one
    fragment_growth: float = 1.6  # how much a fragment may widen the digit's box ...
    big_fragment_growth: float = 2.0  # ... a big one
    inside_growth: float = 1.1  # a fragment widening the box at most this much lies inside it
    centre_pull: float = 4.0  # how fast a piece's score falls off away from the centre
    cut_by_frame: float = 0.25  # the weight of a piece the frame cuts (it may be a neighbour's)
    min_piece_area: int = 4  # working pixels of real ink for a piece to count at all (specks)
    faint_ink: float = 0.2  # ink-map level from which faint ink joins the pieces it touches
    refine_margin: int = 2  # working pixels around a digit's box, beyond its size, re-read closer
    finer_than: float = 1.5  # upload pixels per working pixel from which the upload has more to show


DIGIT = DigitRules()
