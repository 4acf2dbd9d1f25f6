"""The row segmenter's tuning, as frozen dataclasses: one instance of each, named in capitals.

Lengths are fractions of the row's height (the height of its typical digit), except in
``WorkingSize``. The values were tuned on rows of MNIST training digits (``training.evaluation.evaluate_rows
--source train``); changing one changes what the service reads.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkingSize:
    """How big a row is worked on: pixels of the working map, not fractions."""

    short_side: int = 100  # working pixels wanted across a row (its image's short side)
    max_side: int = 800  # and at most this many along it
    line_pad: float = 0.35  # of the height, mirrored above and below so strokes never look like ruled lines
    refine_below: int = 40  # digits shorter than this in the working map are re-read from the upload
    refine_height: int = 80  # working height of the digits on that second look


WORKING = WorkingSize()


@dataclass(frozen=True)
class SkewRules:
    """When a row is turned level before it is cut (``skew``): in degrees and ratios."""

    min_angle: float = 3.0  # rows turned less are left as they are (the network reads digits turned more)
    max_angle: float = 25.0  # a turn beyond this is not a photographed row but a column or a diagonal
    min_elongation: float = 2.2  # the ink's spread along the row over across it: shorter rows (two digits) stay


SKEW = SkewRules()


@dataclass(frozen=True)
class PieceRules:
    """Which pieces of ink are specks, fragments, one digit, or off the row."""

    speck: float = 0.03  # pieces with less ink than this (of the largest piece's) and ...
    speck_height: float = 0.25  # ... shorter than this are specks, unless ...
    speck_neighbour: float = 0.08  # ... another piece lies this close (the dots of a dotted line)
    merge_overlap: float = 0.5  # pieces sharing this much of the narrower one's columns are one digit
    merge_vertical_gap: float = 0.35  # if they lie at most this far apart vertically
    merge_tall_overlap: float = 0.8  # but two tall ones (each at least stroke_height) must share this
    stroke_height: float = 0.75  # (digits are about this tall at least)
    max_digit_width: float = 1.05  # joined pieces stay at most this wide
    max_fragment_width: float = 1.4  # a digit with a fragment joined (a "5" and its long bar) at most this
    fragment_height: float = 0.5  # a piece shorter than this is part of a digit, not a digit; so is ...
    fragment_area: float = 0.2  # ... one shorter than stroke_height with less ink than this (of a digit's)
    fragment_reach: float = 0.35  # it joins the nearest digit within this distance, else it is dropped
    near_gap: float = 0.03  # a thin stroke this close to a taller piece joins it, thin being ...
    thin: float = 0.2  # ... narrower than this,
    thin_height: float = 0.9  # ... at most this tall (of its neighbour's height) ...
    thin_shared: float = 0.5  # ... and sharing this much of its own height with the neighbour's rows
    tall_group: float = 0.5  # the row's height is the median of the pieces at least this tall (of the tallest)
    min_near_gap: float = 2.0  # pixels: "this close" is never less than this
    row_band: float = 0.75  # a digit's centre lies within this of the row's centre line ...
    centre_line_from: float = 0.5  # ... drawn through the pieces at least this tall


PIECES = PieceRules()


@dataclass(frozen=True)
class CutRules:
    """Which pieces may hold several digits, and where and how they may be cut."""

    split_from: float = 0.8  # pieces wider than this, or ...
    split_aspect: float = 0.6  # ... wider than this many times their own height, may hold several
    typical_width: float = 0.62  # a digit's width when the row shows none on its own; otherwise the
    single_from: float = 0.4  # median width of the pieces at least this wide (and at most split_from) ...
    typical_range: tuple[float, float] = (0.45, 0.8)  # ... within this range
    min_part: float = 0.05  # a part cut from a piece is at least this wide (a "1" is little more than its stroke) ...
    max_part: float = 1.15  # ... at most this wide ...
    min_part_height: float = 0.55  # ... and at least this tall
    sure_one_digit: float = 0.5  # a piece the probe finds this likely to be one digit is not cut
    max_cuts: int = 10  # candidate cuts tried per piece from its thinnest columns, plus ...
    cut_grid: float = 0.12  # ... one every this far along it (where no thin column lies near)
    seam_band: float = 0.25  # a cut may lean this far from its column
    seam_step: float = 0.05  # what a sideways step costs, in pixels of ink: straight cuts win ties
    sliver: float = 0.12  # after a cut, a bit with less than this of the part's ink is the neighbour's


CUTS = CutRules()


@dataclass(frozen=True)
class ShapeScore:
    """Without a probe, how likely a part is one digit (log scale): how well it reads, less ..."""

    aspect_from: float = 0.9  # ... for being wider than this many times its height ...
    aspect_penalty: float = 5.0  # ... this per unit of aspect ratio beyond it ...
    wide_from: float = 2.0  # ... for being wider than this many of the row's typical digits ...
    wide_penalty: float = 2.0  # ... this per typical digit beyond ...
    cut_ink_penalty: float = 3.0  # ... and this per stroke width of ink its left cut goes through


SHAPE = ShapeScore()


@dataclass(frozen=True)
class ReaderFusion:
    """How much the whole-row reader's reading counts."""

    # The reader's reading of a digit counts this much beside the network's (validation rows of
    # six kinds, weights 1, 2, 4: 548, 552, 549 of 600 exact; the network alone misreads a part
    # that holds a neighbour's stroke).
    weight: float = 2.0
    sure: float = 0.95  # the reader's count for a piece stands when it reads each digit there this surely
    # ... or this surely, when the piece is no taller than the row's digits by more than ``as_tall``
    # (several digits side by side are as tall as one; a "#" drawn large, read "44", is not).
    # Validation rows, weight 2: counts standing at 0.95, 0.8, 0.6, 0.4 read 552, 556, 559, 559 of
    # 600 (six kinds) exactly, and 366 of 400 spaced, ruled, signed and marked rows at 0.95 and 0.6.
    count_sure: float = 0.6
    as_tall: float = 1.3
    fragment_height: float = 0.7  # a piece it reads nothing in is a stroke come apart when less tall than this ...
    fragment_width: float = 0.25  # ... or narrower than this (of the row's height); a larger one is a mark,
    mark_unless: float = 0.95  # left out unless the digit network alone is this sure it is a digit


FUSION = ReaderFusion()


@dataclass(frozen=True)
class SignRules:
    """Which small pieces of ink the whole-row reader's signs may be (``signs``)."""

    least_probability: float = 0.5  # a sign read less surely than this is left out
    reach: float = 0.4  # a sign's ink lies at most this far from where the reader read it
    max_height: float = 0.5  # a sign is at most this tall ...
    max_bar: float = 1.2  # ... a minus at most this wide ...
    bar_aspect: float = 1.3  # ... and this many times wider than tall;
    max_dot: float = 0.45  # a point or comma at most this wide


SIGNS = SignRules()
