"""Which candidate parts of a piece are digits: each read by the digit network, scored by
the digit probe (or by shape alone), the best set chosen by a dynamic programme.

In: a piece, its candidate parts and a way to run the digit network (``ModelRunner``). Out: the
piece's parts most likely each to be exactly one digit. The probe (``networks.probe``) sees
``FEATURES`` of each part: its shape in the row, the ink its cuts cross, and what the network
made of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from recognizer.vision.rows.cuts import candidate_parts, normalize_part
from recognizer.vision.rows.pieces import Group, crop_ink
from recognizer.vision.rows.tuning import CUTS, SHAPE


class Activations(Protocol):
    """What the digit network answers for N inputs (``networks.digit_cnn.Activations``)."""

    @property
    def probs(self) -> np.ndarray: ...  # [N, 10] softmax

    @property
    def digit(self) -> np.ndarray: ...  # [N, 1] P(the input is a digit at all)

    @property
    def conv1(self) -> np.ndarray: ...  # [N, 26, 26, 32]

    @property
    def conv2(self) -> np.ndarray: ...  # [N, 11, 11, 64]


ModelRunner = Callable[[np.ndarray], Activations]  # [N, 28, 28] inputs -> one forward pass


class OneDigitScorer(Protocol):
    """The digit probe (``networks.probe``): log P(a part is exactly one digit) per row of FEATURES."""

    def log_one_digit(self, features: np.ndarray) -> np.ndarray: ...


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
    "aspect",
    "width_of_row_height",
    "height_of_row_height",
    "log_width_of_typical",
    "cut_ink_left",
    "cut_ink_right",
    "is_whole",
    "log_top_probability",
    "entropy",
)
FEATURES = (
    *GEOMETRY_FEATURES,
    *(f"log_p{digit}" for digit in range(10)),
    *(f"conv1_mean{k}" for k in range(32)),
    *(f"conv2_mean{k}" for k in range(64)),
    *(f"conv2_max{k}" for k in range(64)),
)


def part_features(
    parts: Sequence[Group],
    activations: Activations,
    cut_ink: Sequence[tuple[float, float]],
    whole: Sequence[bool],
    height: float,
    digit_width: float,
) -> np.ndarray:
    """One row of FEATURES per part: its shape in the row, the ink its cuts cross, and what
    the network made of it (its probabilities and its pooled convolution maps)."""
    probs = np.clip(np.asarray(activations.probs, dtype=np.float64), 1e-7, 1.0)
    log_probs = np.log(probs)
    boxes = np.array([part.box for part in parts], dtype=np.float64)
    geometry = np.column_stack(
        [
            boxes[:, 2] / boxes[:, 3],
            boxes[:, 2] / height,
            boxes[:, 3] / height,
            np.log(boxes[:, 2] / digit_width),
            [left for left, _ in cut_ink],
            [right for _, right in cut_ink],
            np.asarray(whole, dtype=np.float64),
            log_probs.max(axis=1),
            -(probs * log_probs).sum(axis=1),
        ]
    )
    conv1, conv2 = np.asarray(activations.conv1), np.asarray(activations.conv2)
    return np.column_stack(
        [
            geometry,
            log_probs,
            conv1.mean(axis=(1, 2)),
            conv2.mean(axis=(1, 2)),
            conv2.max(axis=(1, 2)),
        ]
    )


def shape_only_one_digit(features: np.ndarray) -> np.ndarray:
    """Without a probe: a part is likely one digit when it reads well, is not much wider
    than tall nor than the row's digits, and its cuts cross little ink."""
    column = {name: features[:, index] for index, name in enumerate(GEOMETRY_FEATURES)}
    return (
        column["log_top_probability"]
        - SHAPE.aspect_penalty * np.maximum(0.0, column["aspect"] - SHAPE.aspect_from)
        - SHAPE.wide_penalty * np.maximum(0.0, np.exp(column["log_width_of_typical"]) - SHAPE.wide_from)
        - SHAPE.cut_ink_penalty * column["cut_ink_left"]
    )


def cut_options(
    group: Group,
    ink: np.ndarray,
    height: float,
    digit_width: float,
    run: ModelRunner,
    probe: OneDigitScorer | None,
    stroke: float,
    widest: float | None = None,
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


def choose_parts(options: CutOptions) -> list[Group]:
    """The reading of a piece as parts (one or more) that are most likely all single digits
    (the whole piece is always one of the readings)."""
    return _best_reading(options, None) or [options.group]


def choose_exactly(options: CutOptions, count: int) -> list[Group] | None:
    """The best reading of a piece as exactly ``count`` parts (None when there is none)."""
    return _best_reading(options, count)


def _best_reading(options: CutOptions, count: int | None) -> list[Group] | None:
    """A dynamic programme over the bounds, adding up each part's log-likelihood of being one
    digit; with ``count``, over readings of exactly that many parts."""
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


def read_whole(groups: list[Group], strokes: list[float], ink: np.ndarray, run: ModelRunner) -> Activations:
    """The digit network's answer for each piece read whole (one batch)."""
    return run(np.stack([normalize_part(crop_ink(ink, g), s) for g, s in zip(groups, strokes, strict=True)]))


def clearly_one_digit(
    groups: list[Group],
    whole: Activations | None,
    height: float,
    digit_width: float,
    probe: OneDigitScorer | None,
) -> list[bool]:
    """Which pieces need no cutting: read whole (``whole``, ``read_whole``'s answer), they look
    like one digit (by the probe; without it, by being no wider than 1.3 typical digits)."""
    if probe is None or whole is None:
        return [g.box.w <= CUTS.split_from * height or g.box.w <= 1.3 * digit_width for g in groups]
    features = part_features(groups, whole, [(0.0, 0.0)] * len(groups), [True] * len(groups), height, digit_width)
    return (probe.log_one_digit(features) >= np.log(CUTS.sure_one_digit)).tolist()
