"""A row of handwritten digits -> each digit's ink, box and model input, left to right.

Built on the single-digit preprocessing (``ink_map``, ``ink_components``, ``normalize_digit``):

1. the upload as an ink map at a working resolution that suits a row (wide images keep more
   pixels across), re-read from the upload's own pixels when the row is small in a big photo;
2. connected pieces of ink; specks dropped (unless close to other ink: a dotted pencil line);
   pieces of one digit joined: pieces sharing most of their columns (a "4" drawn in two
   strokes, a broken "7"), and pieces much shorter than the row's digits (a "5"'s detached
   bar) join their nearest digit; marks off the row's centre line dropped;
3. digits that touch split where the evidence says so: a piece that may hold several digits
   is read whole; unless it looks like one digit, candidate cuts (least-ink paths from top to
   bottom, started from its thinnest columns and from evenly spaced ones, so that digits
   overlapping with no thin column between them can still be parted along a path through
   the overlap) give candidate parts, all read in one batch, and a dynamic programme keeps the
   parts most likely each to be one digit (by the digit probe, ``models/digit_probe.json``,
   fitted by ``training.fit_digit_probe``; by shape alone without it); where the whole-row
   reader (``recognizer.row_reader``) surely reads how many digits a piece holds, that many
   parts are kept, and pieces it surely reads no digit in join their neighbour;
4. each digit's box in the uploaded image's pixels, sorted left to right; each digit's
   probabilities combine the digit network's with the whole-row reader's where it read it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from recognizer import imageops as ndi

from recognizer.decoding import UPLOAD_SIZE_KEY, decode_for_recognition
from recognizer.errors import NoDigitFound, UploadTooLarge
from recognizer.inference import Activations, get_model
from recognizer.pipeline import predict_inputs
from recognizer import row_reader
from recognizer.row_reader import RowReaderModel, get_row_reader
from recognizer.preprocessing import (
    INK_LEVEL,
    MNIST_BOX,
    MNIST_SIDE,
    STROKE_SCALE,
    WORK_SIDE,
    InkMap,
    crop_to_ink,
    fit_longest_side,
    ink_components,
    ink_is_dark,
    ink_map,
    match_mnist_strokes,
    normalize_digit,
    place_like_mnist,
    stroke_width,
)
from recognizer.schemas import DigitInRow, MultiPredictionResponse
from recognizer.settings import get_settings

ROW_SHORT_SIDE = 100  # working pixels wanted across a row (its image's short side)
ROW_MAX_SIDE = 800  # and at most this many along it
LINE_PAD = 0.35  # of the height, mirrored above and below so strokes never look like ruled lines
REFINE_BELOW = 40  # digits shorter than this in the working map are re-read from the upload
REFINE_HEIGHT = 80  # working height of the digits on that second look

# All lengths below are fractions of the row's height (the digits' typical height).
SPECK = 0.03  # pieces with less ink than this (of the largest piece's) and ...
SPECK_HEIGHT = 0.25  # ... shorter than this are specks, unless ...
SPECK_NEIGHBOUR = 0.08  # ... another piece lies this close (the dots of a dotted line)
MERGE_OVERLAP = 0.5  # pieces sharing this much of the narrower one's columns are one digit
MERGE_VERTICAL_GAP = 0.35  # if they lie at most this far apart vertically
MERGE_TALL_OVERLAP = 0.8  # but two tall ones (each at least STROKE_HEIGHT) must share this
STROKE_HEIGHT = 0.75  # (digits are about this tall at least)
MAX_DIGIT_WIDTH = 1.05  # joined pieces stay at most this wide
MAX_FRAGMENT_WIDTH = 1.4  # a digit with a fragment joined (a "5" and its long bar) at most this
FRAGMENT_HEIGHT = 0.5  # a piece shorter than this is part of a digit, not a digit; so is ...
FRAGMENT_AREA = 0.2  # ... one shorter than STROKE_HEIGHT with less ink than this (of a digit's)
FRAGMENT_REACH = 0.35  # it joins the nearest digit within this distance, else it is dropped
NEAR_GAP = 0.03  # a thin stroke this close to a taller piece joins it, thin being ...
THIN = 0.2  # ... narrower than this
ROW_BAND = 0.75  # a digit's centre lies within this of the row's centre line

SPLIT_FROM = 0.8  # pieces wider than this, or ...
SPLIT_ASPECT = 0.6  # ... wider than this many times their own height, may hold several
TYPICAL_WIDTH = 0.62  # a digit's width when the row shows none on its own
MIN_PART = 0.05  # a part cut from a piece is at least this wide (a "1" is little more than its stroke) ...
MAX_PART = 1.15  # ... at most this wide ...
MIN_PART_HEIGHT = 0.55  # ... and at least this tall
SURE_ONE_DIGIT = 0.5  # a piece the probe finds this likely to be one digit is not cut
MAX_CUTS = 10  # candidate cuts tried per piece from its thinnest columns, plus ...
CUT_GRID = 0.12  # ... one every this far along it (where no thin column lies near)
SEAM_BAND = 0.25  # a cut may lean this far from its column
SEAM_STEP = 0.05  # what a sideways step costs, in pixels of ink: straight cuts win ties
SLIVER = 0.12  # after a cut, a bit with less than this of the part's ink is the neighbour's

# Without a probe, how likely a part is one digit (log scale): how well it reads, less ...
ASPECT_FROM = 0.9  # ... for being wider than this many times its height ...
ASPECT_PENALTY = 5.0  # ... this per unit of aspect ratio beyond it ...
WIDE_FROM = 2.0  # ... for being wider than this many of the row's typical digits ...
WIDE_PENALTY = 2.0  # ... this per typical digit beyond ...
CUT_INK_PENALTY = 3.0  # ... and this per stroke width of ink its left cut goes through
READER_WEIGHT = 1.0  # the whole-row reader's reading of a digit counts this much beside the network's
READER_SURE = 0.95  # the reader's count for a piece stands when it reads each digit there this surely

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x, y, w, h
ModelRunner = Callable[[np.ndarray], Activations]  # [N, 28, 28] inputs -> one forward pass


@dataclass(frozen=True)
class Group:
    """Ink believed to be one digit: a box in the working map and which of its pixels count."""

    box: Box
    mask: np.ndarray  # bool [h, w]: the group's pixels inside its box
    read_as: np.ndarray | None = None  # float64 [10]: the whole-row reader's reading of it, if any

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    @property
    def centre_x(self) -> float:
        return self.box[0] + self.box[2] / 2.0

    @property
    def centre_y(self) -> float:
        return self.box[1] + self.box[3] / 2.0


@dataclass(frozen=True)
class FoundDigit:
    """One digit of a row: its ink crop, the model's input made from it, its upload box."""

    ink: np.ndarray  # float32 crop of the working map, only this digit's ink
    model_input: np.ndarray  # float32 [28, 28]
    box: Box  # in the uploaded image's pixels
    read_as: np.ndarray | None = None  # float64 [10]: the whole-row reader's reading of it, if any


@dataclass(frozen=True)
class Frame:
    """Where an ink map sits in the upload: working pixels per upload pixel, and its origin."""

    scale: float
    left: float = 0.0
    top: float = 0.0

    def to_upload(self, box: Box, limit: tuple[int, int]) -> Box:
        x, y, w, h = box
        left = max(0, int(np.floor(x / self.scale + self.left)))
        top = max(0, int(np.floor(y / self.scale + self.top)))
        right = min(limit[0], int(np.ceil((x + w) / self.scale + self.left)))
        bottom = min(limit[1], int(np.ceil((y + h) / self.scale + self.top)))
        return left, top, max(1, right - left), max(1, bottom - top)


# 1. Groups of ink ------------------------------------------------------------------------------


def _union_box(a: Box, b: Box) -> Box:
    left, top = min(a[0], b[0]), min(a[1], b[1])
    right, bottom = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return left, top, right - left, bottom - top


def _paste(mask: np.ndarray, box: Box, into: Box) -> np.ndarray:
    """``mask`` (covering ``box``) placed inside a bigger all-False mask covering ``into``."""
    out = np.zeros((into[3], into[2]), dtype=bool)
    dx, dy = box[0] - into[0], box[1] - into[1]
    out[dy : dy + box[3], dx : dx + box[2]] = mask
    return out


def merged(a: Group, b: Group) -> Group:
    box = _union_box(a.box, b.box)
    return Group(box, _paste(a.mask, a.box, box) | _paste(b.mask, b.box, box))


def column_overlap(a: Box, b: Box) -> float:
    """Shared columns as a fraction of the narrower box's width."""
    shared = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    return max(0, shared) / max(1, min(a[2], b[2]))


def box_gap(a: Box, b: Box) -> tuple[int, int]:
    """Horizontal and vertical distance between two boxes (0 where they overlap)."""
    gap_x = max(0, max(a[0], b[0]) - min(a[0] + a[2], b[0] + b[2]))
    gap_y = max(0, max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3]))
    return gap_x, gap_y


def row_height(groups: Sequence[Group]) -> float:
    """The digits' height: the median of the groups at least half as tall as the tallest."""
    heights = np.array([g.box[3] for g in groups], dtype=np.float64)
    return float(np.median(heights[heights >= 0.5 * heights.max()]))


def components_as_groups(ink: np.ndarray) -> list[Group]:
    labels, components = ink_components(ink)
    groups = []
    for component in components:
        x, y, w, h = component.box
        groups.append(Group(component.box, labels[y : y + h, x : x + w] == component.label))
    return groups


def drop_specks(groups: list[Group]) -> list[Group]:
    """Dust, pepper noise, JPEG blocks: pieces tiny against both the largest piece and the
    tallest, and alone (a dotted pencil line's dots lie close to one another: they stay)."""
    if not groups:
        return groups
    largest = max(g.area for g in groups)
    tallest = max(g.box[3] for g in groups)
    tiny = np.array([g.area < SPECK * largest and g.box[3] < SPECK_HEIGHT * tallest for g in groups])
    if not tiny.any():
        return groups
    boxes = np.array([g.box for g in groups], dtype=np.float64)
    left, top = boxes[:, 0], boxes[:, 1]
    right, bottom = left + boxes[:, 2], top + boxes[:, 3]
    gap_x = np.maximum(0.0, np.maximum(left[:, None], left[None]) - np.minimum(right[:, None], right[None]))
    gap_y = np.maximum(0.0, np.maximum(top[:, None], top[None]) - np.minimum(bottom[:, None], bottom[None]))
    distance = np.hypot(gap_x, gap_y)
    np.fill_diagonal(distance, np.inf)
    alone = distance.min(axis=1) > SPECK_NEIGHBOUR * tallest
    return [g for g, drop in zip(groups, tiny & alone, strict=True) if not drop]


def join_overlapping(groups: list[Group]) -> list[Group]:
    """Join pieces that share most of their columns and lie close above or below each other
    (a "4" or "5" drawn in two strokes, a "7" broken at its corner), staying digit-wide."""
    groups = sorted(groups, key=lambda g: g.box[0])
    height = row_height(groups) if groups else 0.0
    joined = True
    while joined and len(groups) > 1:
        joined = False
        for i, a in enumerate(groups):
            for j in range(i + 1, len(groups)):
                b = groups[j]
                if b.box[0] >= a.box[0] + a.box[2]:
                    break  # sorted by left edge: nothing further right shares a column
                overlap = column_overlap(a.box, b.box)
                if overlap < MERGE_OVERLAP:
                    continue
                if min(a.box[3], b.box[3]) >= STROKE_HEIGHT * height and overlap < MERGE_TALL_OVERLAP:
                    continue  # two tall strokes side by side: a "1" leaning into its neighbour
                if box_gap(a.box, b.box)[1] > MERGE_VERTICAL_GAP * height:
                    continue
                if _union_box(a.box, b.box)[2] > MAX_DIGIT_WIDTH * height:
                    continue  # two digits, one above the other's edge: a cut may part them later
                groups[i] = merged(a, b)
                del groups[j]
                joined = True
                break
            if joined:
                break
    return groups


def join_near_touching(groups: list[Group]) -> list[Group]:
    """A thin stroke, shorter than its neighbour and a hairline from it (a stroke broken off by
    the scan), joins it as one clump, for the cutting below to part again if it should."""
    if len(groups) < 2:
        return groups
    height = row_height(groups)
    near = max(2.0, NEAR_GAP * height)
    groups = sorted(groups, key=lambda g: g.box[0])
    joined = [groups[0]]
    for group in groups[1:]:
        last = joined[-1]
        gap_x, gap_y = box_gap(last.box, group.box)
        shared = min(last.box[1] + last.box[3], group.box[1] + group.box[3]) - max(last.box[1], group.box[1])
        thin, other = (last, group) if last.box[2] <= group.box[2] else (group, last)
        sliver = thin.box[2] < THIN * height and thin.box[3] <= 0.9 * other.box[3]
        if gap_x <= near and gap_y == 0 and sliver and shared >= 0.5 * thin.box[3]:
            joined[-1] = merged(last, group)
        else:
            joined.append(group)
    return joined


def attach_fragments(groups: list[Group]) -> list[Group]:
    """Pieces much shorter than the row's digits (a detached bar, a dot of a dotted line) join
    the nearest digit when one is close enough; otherwise they are stray marks and go."""
    if not groups:
        return groups
    height = row_height(groups)
    typical_area = float(np.median([g.area for g in groups if g.box[3] >= STROKE_HEIGHT * height] or [0]))

    def is_fragment(group: Group) -> bool:
        short = group.box[3] < FRAGMENT_HEIGHT * height
        slight = group.box[3] < STROKE_HEIGHT * height and group.area < FRAGMENT_AREA * typical_area
        return short or slight

    digits = [g for g in groups if not is_fragment(g)]
    fragments = sorted((g for g in groups if is_fragment(g)), key=lambda g: -g.area)
    for fragment in fragments:
        best, best_distance = None, FRAGMENT_REACH * height
        for index, digit in enumerate(digits):
            gap_x, gap_y = box_gap(fragment.box, digit.box)
            distance = float(np.hypot(gap_x, gap_y))
            if distance <= best_distance and _union_box(fragment.box, digit.box)[2] <= MAX_FRAGMENT_WIDTH * height:
                best, best_distance = index, distance
        if best is not None:
            digits[best] = merged(digits[best], fragment)
    return sorted(digits, key=lambda g: g.box[0])


def keep_row(groups: list[Group]) -> list[Group]:
    """The digits whose centres lie on the row's centre line (not marks above or below it)."""
    if not groups:
        return groups
    height = row_height(groups)
    centre = float(np.median([g.centre_y for g in groups if g.box[3] >= 0.5 * height]))
    return [g for g in groups if abs(g.centre_y - centre) <= ROW_BAND * height]


# 2. Touching digits ---------------------------------------------------------------------------


def typical_width(groups: Sequence[Group], height: float) -> float:
    """A digit's width in this row: the median of the groups that look like one digit ("1"s,
    being narrow, and pieces wide enough to be several, left out)."""
    single = [g.box[2] for g in groups if 0.4 * height <= g.box[2] <= SPLIT_FROM * height]
    if single:
        return float(np.clip(np.median(single), 0.45 * height, 0.8 * height))
    return TYPICAL_WIDTH * height


def stroke_px(mask: np.ndarray) -> float:
    """Typical stroke width of a mask, in pixels (at least 1)."""
    return max(1.0, stroke_width(mask.astype(np.float32)))


def normalize_part(ink: np.ndarray, stroke: float) -> np.ndarray:
    """``normalize_digit`` for a candidate part whose stroke width (``stroke`` pixels of
    ``ink``) is known from its whole piece: measuring it again for each of dozens of parts
    would cost most of the time a row takes."""
    digit = crop_to_ink(np.asarray(ink, dtype=np.float32))
    box = MNIST_BOX * STROKE_SCALE
    width = stroke * box / max(digit.shape)
    digit = fit_longest_side(digit, box)
    matched = match_mnist_strokes(digit, width)
    if (matched >= INK_LEVEL).any():  # a part thinner than its piece's strokes stays as it is
        digit = matched
    try:
        return place_like_mnist(fit_longest_side(crop_to_ink(digit), MNIST_BOX))
    except NoDigitFound:  # a hairline part that resampling faded away: nothing to read
        return np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)


def seam_near(mask: np.ndarray, centre: int, band: int) -> tuple[np.ndarray, float]:
    """The path from top to bottom within ``band`` columns of ``centre`` that crosses the
    least ink (one column per row, at most one column sideways per row), and that ink in
    pixels. Touching digits lean; a path may lean with them where a straight cut cannot."""
    height, width = mask.shape
    low, high = max(0, centre - band), min(width, centre + band + 1)
    columns = np.arange(low, high)
    energy = mask[:, low:high].astype(np.float64) + SEAM_STEP * np.abs(columns - centre) / max(1, band)
    cost = energy[0].copy()
    moves = np.zeros((height, high - low), dtype=np.int8)
    from_left, from_right = np.full_like(cost, np.inf), np.full_like(cost, np.inf)
    for row in range(1, height):
        from_left[1:] = cost[:-1] + SEAM_STEP
        from_right[:-1] = cost[1:] + SEAM_STEP
        best = np.minimum(cost, np.minimum(from_left, from_right))
        moves[row] = np.where(best == cost, 0, np.where(best == from_left, -1, 1))
        cost = energy[row] + best
    path = np.empty(height, dtype=np.int64)
    path[-1] = int(np.argmin(cost))
    for row in range(height - 1, 0, -1):
        path[row - 1] = path[row] + moves[row, path[row]]
    path += low
    return path, float(mask[np.arange(height), path].sum())


def candidate_cuts(group: Group, height: float) -> list[tuple[np.ndarray, float]]:
    """Paths through the piece crossing little ink, started from its thinnest columns (local
    minima of ink per column) and from evenly spaced ones: each a column per row, and the ink
    it crosses in pixels."""
    profile = ndi.uniform_filter1d(group.mask.sum(axis=0).astype(np.float64), 3, mode="nearest")
    width = len(profile)
    margin = max(1, int(MIN_PART * height))
    inner = np.arange(margin, width - margin)
    if inner.size == 0:
        return []
    left = np.concatenate(([np.inf], profile[:-1]))
    right = np.concatenate((profile[1:], [np.inf]))
    minima = inner[(profile[inner] <= left[inner]) & (profile[inner] <= right[inner])]
    # Plateaus give runs of equal minima: keep one column per run (its middle).
    runs = np.split(minima, np.flatnonzero(np.diff(minima) > 1) + 1) if minima.size else []
    columns = sorted((int(run[len(run) // 2]) for run in runs if run.size), key=lambda c: profile[c])[:MAX_CUTS]
    # Overlapping digits leave no thin column where they meet: paths from evenly spaced
    # columns too, wherever no thin column lies near.
    step = max(2.0, CUT_GRID * height)
    for column in np.round(np.arange(margin, width - margin, step)).astype(int).tolist():
        if all(abs(column - other) >= step / 2 for other in columns):
            columns.append(column)
    band = max(1, int(SEAM_BAND * height))
    seams: list[tuple[np.ndarray, float]] = []
    for column in columns:
        path, crossed = seam_near(group.mask, column, band)
        if all(np.abs(path - other).mean() >= 2.0 for other, _ in seams):
            seams.append((path, crossed))
    return sorted(seams, key=lambda seam: float(seam[0].mean()))


def _without_slivers(group: Group) -> Group | None:
    """A cut part without the bits of its neighbour that the straight cut left in it."""
    labels, count = ndi.label(group.mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return None
    sizes = ndi.sum_labels(group.mask, labels, np.arange(1, count + 1))
    keep = np.isin(labels, 1 + np.flatnonzero(sizes >= SLIVER * sizes.max()))
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    x, y, _, _ = group.box
    box = (x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    return Group(box, keep[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def part_between(group: Group, left: np.ndarray, right: np.ndarray) -> Group | None:
    """The piece's ink from path ``left`` (included) to path ``right`` (excluded)."""
    columns = np.arange(group.box[2])
    inside = (columns >= left[:, None]) & (columns < right[:, None])
    return _without_slivers(Group(group.box, group.mask & inside))


@dataclass(frozen=True)
class CutOptions:
    """The ways a piece may be read: bounds (paths crossing little ink, and the piece's two
    ends), the digit-sized parts between pairs of them, and how likely each is one digit."""

    group: Group
    bounds: list[float]  # mean column of each bound, ascending (first 0, last the width)
    keys: list[tuple[int, int]]  # (i, j): the part from bound i to bound j; keys[0] the whole
    parts: list[Group]
    features: np.ndarray  # [len(parts), len(FEATURES)], see part_features
    one_digit: np.ndarray  # log P(the part is exactly one digit), by the probe or the fallback


# What the digit probe sees of a part (the order of its weights in models/digit_probe.json).
GEOMETRY_FEATURES = (
    "aspect", "width_of_row_height", "height_of_row_height", "log_width_of_typical",
    "cut_ink_left", "cut_ink_right", "is_whole", "log_top_probability", "entropy",
)
FEATURES = (
    *GEOMETRY_FEATURES,
    *(f"log_p{digit}" for digit in range(10)),
    *(f"conv1_mean{k}" for k in range(32)),
    *(f"conv2_mean{k}" for k in range(64)),
    *(f"conv2_max{k}" for k in range(64)),
)


def part_features(
    parts: Sequence[Group], activations: Activations, cut_ink: Sequence[tuple[float, float]],
    whole: Sequence[bool], height: float, digit_width: float,
) -> np.ndarray:
    """One row of FEATURES per part: its shape in the row, the ink its cuts cross, and what
    the network made of it (its probabilities and its pooled convolution maps)."""
    probs = np.clip(np.asarray(activations.probs, dtype=np.float64), 1e-7, 1.0)
    log_probs = np.log(probs)
    boxes = np.array([part.box for part in parts], dtype=np.float64)
    geometry = np.column_stack([
        boxes[:, 2] / boxes[:, 3],
        boxes[:, 2] / height,
        boxes[:, 3] / height,
        np.log(boxes[:, 2] / digit_width),
        [left for left, _ in cut_ink],
        [right for _, right in cut_ink],
        np.asarray(whole, dtype=np.float64),
        log_probs.max(axis=1),
        -(probs * log_probs).sum(axis=1),
    ])
    conv1, conv2 = np.asarray(activations.conv1), np.asarray(activations.conv2)
    return np.column_stack([
        geometry, log_probs, conv1.mean(axis=(1, 2)), conv2.mean(axis=(1, 2)), conv2.max(axis=(1, 2)),
    ])


@dataclass(frozen=True)
class DigitProbe:
    """A small neural network over FEATURES (one hidden layer): how likely a part of a row is
    exactly one digit.

    Fitted by ``python -m training.fit_digit_probe`` on rows made from MNIST training digits,
    for one model file (its SHA-256); the convolution features mean nothing for another.
    """

    mean: np.ndarray  # [F] feature standardisation
    scale: np.ndarray  # [F]
    hidden_weights: np.ndarray  # [F, H]
    hidden_bias: np.ndarray  # [H]
    output_weights: np.ndarray  # [H]
    output_bias: float

    def log_one_digit(self, features: np.ndarray) -> np.ndarray:
        standard = (features - self.mean) / self.scale
        hidden = np.maximum(0.0, standard @ self.hidden_weights + self.hidden_bias)
        logit = hidden @ self.output_weights + self.output_bias
        return -np.logaddexp(0.0, -logit)  # log sigmoid, without overflow


PROBE_FILE = "digit_probe.json"


def load_probe(model_dir: Path, model_file: Path) -> DigitProbe | None:
    """The probe fitted for ``model_file``, or None (missing, or fitted for another model)."""
    path = model_dir / PROBE_FILE
    if not path.is_file() or not model_file.is_file():
        return None
    spec = json.loads(path.read_text())
    if spec.get("model_sha256") != hashlib.sha256(model_file.read_bytes()).hexdigest():
        logger.warning("%s was fitted for another model file: touching digits are cut by shape only", path)
        return None
    if tuple(spec["features"]) != FEATURES:
        logger.warning("%s has other features than this code: not used", path)
        return None
    return DigitProbe(
        mean=np.asarray(spec["mean"], dtype=np.float64),
        scale=np.asarray(spec["scale"], dtype=np.float64),
        hidden_weights=np.asarray(spec["hidden_weights"], dtype=np.float64),
        hidden_bias=np.asarray(spec["hidden_bias"], dtype=np.float64),
        output_weights=np.asarray(spec["output_weights"], dtype=np.float64),
        output_bias=float(spec["output_bias"]),
    )


_probes: dict[tuple[Path, Path], DigitProbe | None] = {}


def get_probe() -> DigitProbe | None:
    """The process-wide probe for the configured model (read once)."""
    settings = get_settings()
    key = (settings.model_dir, settings.tflite_path)
    if key not in _probes:
        _probes[key] = load_probe(*key)
    return _probes[key]


def shape_only_one_digit(features: np.ndarray) -> np.ndarray:
    """Without a probe: a part is likely one digit when it reads well, is not much wider
    than tall nor than the row's digits, and its cuts cross little ink."""
    column = {name: features[:, index] for index, name in enumerate(GEOMETRY_FEATURES)}
    return (
        column["log_top_probability"]
        - ASPECT_PENALTY * np.maximum(0.0, column["aspect"] - ASPECT_FROM)
        - WIDE_PENALTY * np.maximum(0.0, np.exp(column["log_width_of_typical"]) - WIDE_FROM)
        - CUT_INK_PENALTY * column["cut_ink_left"]
    )


@dataclass(frozen=True)
class CandidateParts:
    """A piece's bounds (its two ends and the candidate cuts between them) and the
    digit-sized parts between pairs of bounds; the first part is the whole piece."""

    bounds: list[float]  # mean column of each bound, ascending (first 0, last the width)
    crossed: list[float]  # ink pixels each bound's path crosses
    keys: list[tuple[int, int]]  # (i, j): the part from bound i to bound j; keys[0] the whole
    parts: list[Group]


def candidate_parts(group: Group, height: float, widest: float | None = None) -> CandidateParts:
    """Every stretch between two bounds that is digit-sized is a possible part (by shape
    alone: which of them are digits is for the model and the probe to say). ``widest``: the
    widest part allowed (default MAX_PART of the height)."""
    width, rows = group.box[2], group.box[3]
    seams = candidate_cuts(group, height)
    paths = [np.zeros(rows, dtype=np.int64), *(path for path, _ in seams), np.full(rows, width, dtype=np.int64)]
    crossed = [0.0, *(ink_crossed for _, ink_crossed in seams), 0.0]
    bounds = [float(path.mean()) for path in paths]
    low, high = MIN_PART * height, MAX_PART * height if widest is None else widest
    whole = (0, len(paths) - 1)
    keys, parts = [whole], [group]
    for i in range(len(paths)):
        for j in range(i + 1, len(paths)):
            if (i, j) != whole and low <= bounds[j] - bounds[i] <= high:
                part = part_between(group, paths[i], paths[j])
                if part is not None and part.box[3] >= MIN_PART_HEIGHT * height:
                    keys.append((i, j))
                    parts.append(part)
    return CandidateParts(bounds, crossed, keys, parts)


def cut_options(
    group: Group, ink: np.ndarray, height: float, digit_width: float, run: ModelRunner, probe: DigitProbe | None,
    stroke: float, widest: float | None = None,
) -> CutOptions:
    """The candidate parts read in one batch by the model; the probe (or the shape) says which
    look like one digit. ``stroke``: the piece's stroke width (``stroke_px`` of its mask);
    ``widest``: see ``candidate_parts``."""
    candidates = candidate_parts(group, height, widest)
    keys, parts, crossed = candidates.keys, candidates.parts, candidates.crossed
    activations = run(np.stack([normalize_part(crop_ink(ink, part), stroke) for part in parts]))
    cut_ink = [(crossed[i] / stroke, crossed[j] / stroke) for i, j in keys]
    features = part_features(parts, activations, cut_ink, [key == keys[0] for key in keys], height, digit_width)
    one_digit = probe.log_one_digit(features) if probe is not None else shape_only_one_digit(features)
    return CutOptions(group, candidates.bounds, keys, parts, features, one_digit)


def choose_parts(options: CutOptions, count: int | None = None) -> list[Group] | None:
    """The reading of a piece as parts (one or more) that are most likely all single digits:
    a dynamic programme over the bounds, adding up each part's log-likelihood. With
    ``count``, the best reading as exactly that many parts (None when there is none)."""
    score = dict(zip(options.keys, options.one_digit.tolist(), strict=True))
    part = dict(zip(options.keys, options.parts, strict=True))
    end = len(options.bounds) - 1
    most = count if count is not None else end
    # best[j][n]: the best total for n parts covering bound 0 to bound j, and where the last began.
    best: list[dict[int, tuple[float, int]]] = [{} for _ in range(end + 1)]
    best[0][0] = (0.0, -1)
    for j in range(1, end + 1):
        for i in range(j):
            if (i, j) not in score:
                continue
            for n, (total, _) in best[i].items():
                if n < most and (n + 1 not in best[j] or total + score[i, j] > best[j][n + 1][0]):
                    best[j][n + 1] = (total + score[i, j], i)
    if not best[end]:
        return None
    n = count if count is not None else max(best[end], key=lambda k: best[end][k][0])
    if n not in best[end]:
        return None
    chosen, j = [], end
    while j > 0:
        i = best[j][n][1]
        chosen.append(part[i, j])
        j, n = i, n - 1
    return chosen[::-1]


# 3. The whole row -----------------------------------------------------------------------------


def crop_ink(ink: np.ndarray, group: Group) -> np.ndarray:
    """The group's ink, with a 1 px fringe of its soft edges, nothing of its neighbours."""
    x, y, w, h = group.box
    left, top = max(0, x - 1), max(0, y - 1)
    right, bottom = min(ink.shape[1], x + w + 1), min(ink.shape[0], y + h + 1)
    box = (left, top, right - left, bottom - top)
    keep = ndi.binary_dilation(_paste(group.mask, group.box, box), structure=np.ones((3, 3), dtype=bool))
    return np.where(keep, ink[top:bottom, left:right], 0.0).astype(np.float32)


def row_groups(ink: np.ndarray) -> list[Group]:
    """The row's pieces of ink as digits or clumps of touching digits, left to right."""
    pieces = join_overlapping(drop_specks(components_as_groups(ink)))
    return keep_row(attach_fragments(join_near_touching(pieces)))


def may_hold_several(group: Group, height: float) -> bool:
    """Only pieces as wide as two narrow digits are worth cutting ("11" is the narrowest)."""
    return group.box[2] > SPLIT_FROM * height or group.box[2] > SPLIT_ASPECT * group.box[3]


def clearly_one_digit(groups: list[Group], strokes: list[float], ink: np.ndarray, height: float,
                      digit_width: float, run: ModelRunner, probe: DigitProbe | None) -> list[bool]:
    """Which pieces need no cutting: read whole in one batch, they look like one digit
    (by the probe; without it, by being no wider than 1.3 typical digits)."""
    if probe is None:
        return [g.box[2] <= SPLIT_FROM * height or g.box[2] <= 1.3 * digit_width for g in groups]
    activations = run(np.stack([normalize_part(crop_ink(ink, g), s) for g, s in zip(groups, strokes, strict=True)]))
    features = part_features(groups, activations, [(0.0, 0.0)] * len(groups), [True] * len(groups), height, digit_width)
    return (probe.log_one_digit(features) >= np.log(SURE_ONE_DIGIT)).tolist()


def kept_ink(shape: tuple[int, int], groups: Sequence[Group]) -> np.ndarray:
    """Where the row's pieces lie (with a 1 px fringe for their soft edges), as one mask."""
    keep = np.zeros(shape, dtype=bool)
    for group in groups:
        x, y, w, h = group.box
        keep[y : y + h, x : x + w] |= group.mask
    return ndi.binary_dilation(keep, structure=np.ones((3, 3), dtype=bool))


@dataclass(frozen=True)
class PieceReading:
    """What the whole-row reader read over one piece of ink."""

    digits: list[row_reader.Emission]  # the digits of its best reading that lie over the piece
    no_digit: bool  # it reads no digit over the piece, and every digit it reads in the row surely


def digits_per_piece(
    ink: np.ndarray, groups: list[Group], height: float, reader: RowReaderModel
) -> list[PieceReading]:
    """The digits the whole-row reader reads in each piece, left to right (each goes to the
    piece whose columns hold it, or the nearest), and where it is sure there is none."""
    strip = row_reader.row_strip(ink, kept_ink(ink.shape, groups), height)
    emissions = row_reader.best_reading(reader.read(strip.pixels[None])[0], strip)
    read: list[list[row_reader.Emission]] = [[] for _ in groups]
    for emission in emissions:
        distance = [max(g.box[0] - emission.x, emission.x - (g.box[0] + g.box[2]), 0.0) for g in groups]
        read[int(np.argmin(distance))].append(emission)
    sure = bool(emissions) and min(e.probability for e in emissions) >= READER_SURE
    return [PieceReading(digits, sure and not digits) for digits in read]


def fold_unread(groups: list[Group], read: list[PieceReading], height: float) -> tuple[list[Group], list[PieceReading]]:
    """Pieces the reader is sure hold no digit (a stroke of a digit that came apart) join the
    nearest piece it reads when close enough (FRAGMENT_REACH); farther ones stay as they are."""
    kept = [i for i, r in enumerate(read) if not r.no_digit]
    if not kept or len(kept) == len(groups):
        return groups, read
    folded = {i: groups[i] for i in kept}
    for index, reading in enumerate(read):
        if not reading.no_digit:
            continue
        gaps = {k: float(np.hypot(*box_gap(groups[index].box, folded[k].box))) for k in kept}
        nearest = min(gaps, key=gaps.__getitem__)
        if gaps[nearest] <= FRAGMENT_REACH * height:
            folded[nearest] = merged(folded[nearest], groups[index])
        else:
            folded[index] = groups[index]
    order = sorted(folded, key=lambda i: folded[i].box[0])
    return [folded[i] for i in order], [read[i] for i in order]


def read_alike(parts: list[Group], read: Sequence[row_reader.Emission]) -> list[Group]:
    """The parts of a piece with the reader's readings attached in order, when it read as many
    digits there as there are parts (otherwise which reading is which part is unknown)."""
    if len(parts) != len(read):
        return parts
    return [dataclasses.replace(part, read_as=emission.digits) for part, emission in zip(parts, read, strict=True)]


def segment_ink(ink: np.ndarray, run: ModelRunner | None = None, reader: RowReaderModel | None = None) -> list[Group]:
    """The digits of a row in an ink map, left to right. ``run`` (the model) is needed to cut
    touching digits apart; without it, touching digits stay one. ``reader`` (the whole-row
    reader), when given, says how many digits each piece holds; the cuts are still the
    segmenter's."""
    groups = row_groups(ink)
    if not groups or run is None:
        return groups
    height = row_height(groups)
    digit_width = typical_width(groups, height)
    probe = get_probe()
    if reader is None:
        read = [PieceReading([], False) for _ in groups]
    else:
        groups, read = fold_unread(groups, digits_per_piece(ink, groups, height, reader), height)
    settled: list[Group] = []
    undecided: list[tuple[Group, list[row_reader.Emission]]] = []
    for group, reading in zip(groups, read, strict=True):
        in_piece = reading.digits
        sure = bool(in_piece) and min(e.probability for e in in_piece) >= READER_SURE
        if not may_hold_several(group, height) or (sure and len(in_piece) == 1):
            settled += read_alike([group], in_piece)
        elif sure:
            # Told how many digits the piece holds, any part may be as wide as leaves room for
            # the others: wide digits in a tight row are wider than MAX_PART of its height.
            widest = max(MAX_PART * height, group.box[2] - (len(in_piece) - 1) * MIN_PART * height)
            options = cut_options(group, ink, height, digit_width, run, probe, stroke_px(group.mask), widest)
            settled += read_alike(choose_parts(options, len(in_piece)) or choose_parts(options), in_piece)
        else:
            undecided.append((group, in_piece))
    strokes = [stroke_px(g.mask) for g, _ in undecided]
    pieces = [g for g, _ in undecided]
    sure_one = clearly_one_digit(pieces, strokes, ink, height, digit_width, run, probe) if undecided else []
    for (group, in_piece), stroke, one in zip(undecided, strokes, sure_one, strict=True):
        parts = [group] if one else choose_parts(cut_options(group, ink, height, digit_width, run, probe, stroke))
        settled += read_alike(parts, in_piece)
    return sorted(settled, key=lambda g: g.centre_x)


def working_side(size: tuple[int, int]) -> int:
    """Longest working side for a row image: wide rows keep ROW_SHORT_SIDE pixels across."""
    longest, shortest = max(size), max(1, min(size))
    return int(min(ROW_MAX_SIDE, max(WORK_SIDE, ROW_SHORT_SIDE * longest / shortest)))


def at_working_size(image: Image.Image, side: int) -> Image.Image:
    """The image in grey with its longest side ``side`` (ink_map's own scaling only shrinks,
    and a tight row of small digits needs enlarging), knowing its upload's size."""
    grey = image if image.mode == "L" else image.convert("L")
    factor = side / max(image.size)
    if abs(factor - 1.0) > 1e-3:
        size = (max(1, round(image.size[0] * factor)), max(1, round(image.size[1] * factor)))
        if factor > 1:
            grey = grey.resize(size, Image.Resampling.BICUBIC)
        else:
            grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    elif grey is image:
        grey = image.copy()
    grey.info[UPLOAD_SIZE_KEY] = image.info.get(UPLOAD_SIZE_KEY, image.size)
    return grey


def row_ink_map(image: Image.Image, side: int, dark_ink: bool | None = None) -> InkMap:
    """``ink_map`` of a row image at working size ``side``, mirrored above and below first.

    The ink map removes printed lines (long thin strokes across most of the image); in an
    image cropped tight around a row, a "1" or a "4"'s stem spans most of its height too.
    Mirrored margins make the image taller, so only real ruled lines (which the mirror
    continues) still span it. The mirrored margins are cut off the map again.
    """
    grey = at_working_size(image, side)
    if dark_ink is None:  # from the image itself: mirrored shadows must not tip the balance
        dark_ink = ink_is_dark(np.asarray(grey, dtype=np.float32) / 255.0)
    pad = min(grey.size[1] - 1, int(np.ceil(LINE_PAD * grey.size[1])))
    taller = Image.fromarray(np.pad(np.asarray(grey), ((pad, pad), (0, 0)), mode="reflect"), mode="L")
    taller.info[UPLOAD_SIZE_KEY] = grey.info[UPLOAD_SIZE_KEY]
    mapped = ink_map(taller, max_side=max(taller.size), dark_ink=dark_ink)
    return dataclasses.replace(mapped, ink=mapped.ink[pad : pad + grey.size[1]])


def _second_look(
    image: Image.Image, frame: Frame, groups: list[Group], height: float, dark_ink: bool, run: ModelRunner | None,
    reader: RowReaderModel | None,
) -> tuple[np.ndarray, Frame, list[Group]] | None:
    """Re-read a row that is small in the working map from the image's own pixels."""
    upload_size = image.info.get(UPLOAD_SIZE_KEY, image.size)
    per_upload = image.size[0] / upload_size[0]  # image pixels per upload pixel
    region = groups[0].box
    for group in groups[1:]:
        region = _union_box(region, group.box)
    margin = 0.5 * height
    x, y, w, h = region
    to_image = per_upload / frame.scale  # image pixels per working pixel
    left = max(0, int((x - margin) * to_image))
    top = max(0, int((y - margin) * to_image))
    right = min(image.size[0], int(np.ceil((x + w + margin) * to_image)))
    bottom = min(image.size[1], int(np.ceil((y + h + margin) * to_image)))
    crop = image.crop((left, top, right, bottom))
    crop.info.pop(UPLOAD_SIZE_KEY, None)
    zoom = min(1.0, REFINE_HEIGHT / max(1.0, height * to_image))  # working pixels per crop pixel
    side = int(min(2 * ROW_MAX_SIDE, max(WORK_SIDE, max(crop.size) * zoom)))
    closer = row_ink_map(crop, side, dark_ink=dark_ink)
    if closer.is_blank:
        return None
    found = segment_ink(closer.ink, run, reader)
    if not found:
        return None
    crop_frame = Frame(scale=closer.scale * per_upload, left=left / per_upload, top=top / per_upload)
    return closer.ink, crop_frame, found


def find_digits(
    image: Image.Image, run: ModelRunner | None = None, reader: RowReaderModel | None = None
) -> list[FoundDigit]:
    """The digits of a row in a decoded upload, left to right, boxes in upload pixels.

    ``run`` (the model) decides where and whether touching digits are cut; without it they
    are left whole. ``reader`` (the whole-row reader) says how many digits touching ink holds.
    Raises NoDigitFound when there is no ink worth calling a digit.
    """
    first = row_ink_map(image, working_side(image.size))
    if first.is_blank:
        raise NoDigitFound("no digit found: the image looks blank")
    ink, frame = first.ink, Frame(first.scale)
    groups = segment_ink(ink, run, reader)
    if not groups:
        raise NoDigitFound("no digit found: only specks of ink")
    height = row_height(groups)
    if height < REFINE_BELOW and image.size[0] / ink.shape[1] > 1.5:
        closer = _second_look(image, frame, groups, height, first.dark_ink, run, reader)
        if closer is not None:
            ink, frame, groups = closer
    upload_size = image.info.get(UPLOAD_SIZE_KEY, image.size)
    found = []
    for group in groups:
        crop = crop_ink(ink, group)
        found.append(FoundDigit(crop, normalize_digit(crop), frame.to_upload(group.box, upload_size), group.read_as))
    return found


# The whole way ------------------------------------------------------------------------------


def run_model(inputs: np.ndarray) -> Activations:
    """The serving model (decides where and whether touching digits are cut)."""
    return get_model().run(inputs)


def with_row_reading(probabilities: Sequence[float], read_as: np.ndarray | None) -> np.ndarray:
    """The digit network's probabilities times the whole-row reader's (to READER_WEIGHT),
    renormalised: two readings made differently, one from the digit alone and one in its row."""
    network = np.asarray(probabilities, dtype=np.float64)
    if read_as is None:
        return network
    both = network * np.clip(read_as, 1e-6, 1.0) ** READER_WEIGHT
    return both / both.sum()


def read_row(data: bytes, *, feature_maps: bool = False) -> MultiPredictionResponse:
    """Answer one uploaded image of a row of digits (raises ClientError on bad input).

    One forward pass reads every digit; ``feature_maps`` stores each digit's input and
    feature-map grids (a prediction of its own) and links them, which costs time.
    """
    settings = get_settings()
    if len(data) > settings.max_upload_bytes:
        raise UploadTooLarge(f"the upload is larger than {settings.max_upload_bytes} bytes")
    image = decode_for_recognition(data, settings)
    reader = get_row_reader(settings.model_dir) if settings.row_reader else None
    found = find_digits(image, run=run_model, reader=reader)
    answers = predict_inputs([digit.model_input for digit in found], store=feature_maps)
    readings = [with_row_reading(answer.probabilities, digit.read_as) for digit, answer in zip(found, answers, strict=True)]
    digits = [
        DigitInRow(
            predicted_digit=int(probabilities.argmax()),
            confidence=100.0 * float(probabilities.max()),
            probabilities=probabilities.tolist(),
            box=list(digit.box),
            prediction_id=answer.prediction_id if feature_maps else None,
            input_url=answer.input_url,
            feature_maps=answer.feature_maps,
        )
        for digit, answer, probabilities in zip(found, answers, readings, strict=True)
    ]
    warnings = sorted({warning for answer in answers for warning in answer.warnings})
    number = "".join(str(digit.predicted_digit) for digit in digits)
    return MultiPredictionResponse(number=number, digits=digits, warnings=warnings)
