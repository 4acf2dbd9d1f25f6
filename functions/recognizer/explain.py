"""Evidence maps: which pixels of the network's own input made its answer, found by occlusion.

In: 28x28 inputs as the network saw them (float32 in [0, 1], white digit on black), the digit
answered for each, the network's probabilities for each (``probs`` [10] of the forward pass that
answered) and the network's batch ``run`` (``DigitModel.run``: any network with the serving
signature).
Out: one ``Evidence`` per input: ``values`` float32 [28, 28] over that input, positive where
the ink is evidence for the answer, negative where it speaks against it, zero off the ink.

How (occlusion by pieces of ink): each input's ink is cut into ``OCCLUSION.pieces`` compact
pieces (k-means on the ink's pixel positions weighted by ink, started from the farthest points:
no randomness, the same input always gives the same map). Each piece is hidden (set to 0, the
background) in a copy of the input, and every copy of every input goes through the network in
one batch. A piece's evidence is how much hiding it lowers the answer's log-odds among the ten
digits (log p - log(1 - p)); it is shared among the piece's pixels in proportion to their ink,
so a piece's values add up to its effect (in log-odds). Log-odds rather than the probability: a
sure answer (p = 0.9999) hardly moves in probability when one piece goes, but its odds do; the
order of the pieces is the same either way, since the log-odds rise with the probability.

Faithful by construction: the pixels marked strongest are those whose hiding, measured, lowered
the answer most (``tests/test_explain.py`` and ``tests/api/test_explain.py`` check that hiding
them costs the answer more than hiding as many random ink pixels).

Cost: ``OCCLUSION.pieces`` inputs through the network per input explained, in one forward pass
(the network costs about 0.4 ms of CPU per input at this size); the k-means is a few hundred
points and takes tens of microseconds. ``infra/explain_cost.py`` measures the whole request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from recognizer.networks.digit_cnn import Activations

METHOD = "occlusion"
SIDE = 28


@dataclass(frozen=True)
class OcclusionTuning:
    """How finely the ink is cut, and what counts as ink."""

    # Pieces of ink hidden one at a time: inputs through the network per map. Five keep the map
    # within its CPU budget (+5 ms a request; infra/explain_cost.py) and still tell the parts of
    # a digit apart (a 7's bar, corner and stem). Hiding the fifth of the ink marked strongest
    # cost the answer more than hiding random ink for 36 of 40 drawn MNIST test digits with 5
    # pieces (34 with 4, 37 with 6 or 8), each piece costing about a forward pass of one input.
    pieces: int = 5
    ink_level: float = 0.02  # a pixel brighter than this is ink (the input is 0 off the digit)
    iterations: int = 6  # k-means rounds (pieces move little after the first few on 28x28 digits)


OCCLUSION = OcclusionTuning()


@dataclass(frozen=True)
class Evidence:
    """One input's evidence map."""

    method: str
    values: np.ndarray  # float32 [28, 28]: + evidence for the answer, - against it, 0 off the ink


RunNetwork = Callable[[np.ndarray], Activations]


def answer_log_odds(probs: np.ndarray, digit: int) -> np.ndarray:
    """[N, 10] probabilities -> [N] float64 log-odds of ``digit`` among the ten (log p - log(1 - p),
    1 - p taken as the other nine's sum, which stays exact when p is near 1)."""
    probs = np.asarray(probs, dtype=np.float64).reshape(-1, 10)
    chosen = probs[:, digit]
    others = probs.sum(axis=1) - chosen
    tiny = 1e-30
    return np.log(np.maximum(chosen, tiny)) - np.log(np.maximum(others, tiny))


def ink_pieces(model_input: np.ndarray, tuning: OcclusionTuning = OCCLUSION) -> tuple[np.ndarray, int]:
    """The input's ink cut into at most ``tuning.pieces`` compact pieces: (labels int [28, 28],
    -1 off the ink; how many pieces). Deterministic: k-means weighted by ink, started from the
    farthest points (the first the farthest from the ink's centre of mass)."""
    pixels = np.asarray(model_input, dtype=np.float64).reshape(SIDE, SIDE)
    rows, cols = np.nonzero(pixels > tuning.ink_level)
    labels = np.full((SIDE, SIDE), -1, dtype=np.int64)
    count = min(tuning.pieces, rows.size)
    if count == 0:
        return labels, 0
    points = np.stack([rows, cols], axis=1).astype(np.float64)
    weights = pixels[rows, cols]
    weighted = weights[:, None] * np.column_stack([np.ones(rows.size), points])  # [N, 3]: w, w*y, w*x
    distance = ((points - weighted[:, 1:].sum(axis=0) / weights.sum()) ** 2).sum(axis=1)
    chosen = []
    for _ in range(count):
        farthest = int(np.argmax(distance))
        chosen.append(farthest)
        distance = np.minimum(distance, ((points - points[farthest]) ** 2).sum(axis=1))
    centres = points[chosen]
    squared = (points**2).sum(axis=1)[:, None]
    nearest = np.full(rows.size, -1, dtype=np.int64)
    for _ in range(tuning.iterations):
        moved = (squared - 2.0 * points @ centres.T + (centres**2).sum(axis=1)).argmin(axis=1)
        if np.array_equal(moved, nearest):
            break
        nearest = moved
        sums = (nearest[None, :] == np.arange(count)[:, None]) @ weighted  # [count, 3]
        held = sums[:, 0] > 0
        centres[held] = sums[held, 1:] / sums[held, :1]
    # Pieces that ended up empty are dropped; labels stay 0..n-1.
    used, nearest = np.unique(nearest, return_inverse=True)
    labels[rows, cols] = nearest
    return labels, int(used.size)


def occlusion_evidence(
    model_inputs: Sequence[np.ndarray],
    digits: Sequence[int],
    probs: np.ndarray,
    run: RunNetwork,
    tuning: OcclusionTuning = OCCLUSION,
) -> list[Evidence]:
    """The evidence map of each input for its digit (``digits[i]``), ``probs`` [N, 10] being the
    network's answer for the unchanged inputs. Every hidden piece of every input goes through
    ``run`` in one batch."""
    if not (len(model_inputs) == len(digits) == len(probs)):
        raise ValueError("one digit and one row of probabilities per input")
    cut = [ink_pieces(model_input, tuning) for model_input in model_inputs]
    hidden: list[np.ndarray] = []
    for model_input, (labels, count) in zip(model_inputs, cut, strict=True):
        pixels = np.asarray(model_input, dtype=np.float32).reshape(SIDE, SIDE)
        for piece in range(count):
            hidden.append(np.where(labels == piece, np.float32(0.0), pixels))
    scores: np.ndarray = run(np.stack(hidden)).probs if hidden else np.zeros((0, 10), np.float32)
    maps: list[Evidence] = []
    start = 0
    for index, (labels, count) in enumerate(cut):
        digit = int(digits[index])
        before = answer_log_odds(probs[index], digit)[0]
        drops = before - answer_log_odds(scores[start : start + count], digit)
        start += count
        ink = np.asarray(model_inputs[index], dtype=np.float64).reshape(SIDE, SIDE)
        values = np.zeros((SIDE, SIDE), dtype=np.float64)
        if count:
            on_ink = labels >= 0
            ink_per_piece = np.bincount(labels[on_ink], weights=ink[on_ink], minlength=count)
            share = np.divide(drops, ink_per_piece, out=np.zeros(count), where=ink_per_piece > 0)
            values[on_ink] = share[labels[on_ink]] * ink[on_ink]
        maps.append(Evidence(METHOD, values.astype(np.float32)))
    return maps
