"""Filters and morphology of scipy.ndimage in NumPy alone: box filters (mean, minimum, maximum),
flat grey opening, binary erosion and dilation. Use them through ``recognizer.vision.ndimage``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

Sizes = int | Sequence[int]


class Filter1D(Protocol):
    def __call__(
        self, input: np.ndarray, size: int, axis: int = -1, *, mode: str = ..., cval: float = ..., origin: int = ...
    ) -> np.ndarray: ...


_PAD_MODES = {
    "reflect": "symmetric",  # d c b a | a b c d | d c b a
    "nearest": "edge",  # a a a a | a b c d | d d d d
    "constant": "constant",  # k k k k | a b c d | k k k k
}


# Boundaries and windows -----------------------------------------------------------------------


@lru_cache(maxsize=256)
def _extension(n: int, before: int, after: int, pad_mode: str) -> np.ndarray:
    """Indices into a line of ``n`` cells for the line extended by ``before`` and ``after``
    (kept: the same few shapes and windows come back on every upload)."""
    at = np.arange(-before, n + after)
    if pad_mode == "edge":
        at = np.clip(at, 0, n - 1)
    else:
        at %= 2 * n  # symmetric, period 2n: a b c | c b a | a b c
        at = np.where(at < n, at, 2 * n - 1 - at)
    at.flags.writeable = False
    return at


def _pad_along(values: np.ndarray, before: int, after: int, axis: int, mode: str, cval: float) -> np.ndarray:
    """``values`` extended along ``axis`` as SciPy extends a line for its filters."""
    try:
        pad_mode = _PAD_MODES[mode]
    except KeyError:
        raise ValueError(f"boundary mode not supported: {mode!r}") from None
    if before == after == 0:
        return values
    if pad_mode == "constant":
        shape = list(values.shape)
        shape[axis] = before
        head = np.full(shape, cval, dtype=values.dtype)
        shape[axis] = after
        return np.concatenate((head, values, np.full(shape, cval, dtype=values.dtype)), axis=axis)
    # One gather, several times faster than np.pad on the small maps the service filters.
    return values.take(_extension(values.shape[axis], before, after, pad_mode), axis=axis)


def _window_ends(size: int, origin: int) -> tuple[int, int]:
    """Input cells before and after an output cell that its window of ``size`` covers."""
    if size < 1:
        raise ValueError("filter size must be at least 1")
    if not 0 <= size // 2 + origin < size:
        raise ValueError("invalid origin")
    before = size // 2 + origin
    return before, size - 1 - before


def _along(axis: int, ndim: int, start: int | None, stop: int | None) -> tuple[slice, ...]:
    index = [slice(None)] * ndim
    index[axis] = slice(start, stop)
    return tuple(index)


def _sliding_extreme(padded: np.ndarray, size: int, axis: int, pick: np.ufunc) -> np.ndarray:
    """``pick`` (np.minimum or np.maximum) over every window of ``size`` along ``axis``.

    Windows double in length each step, then two overlapping windows cover the rest: exact,
    in log2(size) + 1 passes over the array however long the window.
    """
    ndim = padded.ndim
    span, result = 1, padded
    while 2 * span <= size:
        result = pick(result[_along(axis, ndim, None, -span)], result[_along(axis, ndim, span, None)])
        span *= 2
    rest = size - span
    if rest:
        result = pick(result[_along(axis, ndim, None, -rest)], result[_along(axis, ndim, rest, None)])
    return result


def _sizes(size: Sizes | None, ndim: int) -> list[int]:
    if size is None:
        raise TypeError("size must be given (footprints and structures are not supported)")
    if isinstance(size, int | np.integer):
        return [int(size)] * ndim
    sizes = [int(s) for s in size]
    if len(sizes) != ndim:
        raise ValueError("size must have one entry per dimension")
    return sizes


def _origins(origin: Sizes, ndim: int) -> list[int]:
    if isinstance(origin, int | np.integer):
        return [int(origin)] * ndim
    origins = [int(o) for o in origin]
    if len(origins) != ndim:
        raise ValueError("origin must have one entry per dimension")
    return origins


# 1-D filters ----------------------------------------------------------------------------------


def _extreme_filter1d(
    input: np.ndarray, size: int, axis: int, mode: str, cval: float, origin: int, pick: np.ufunc
) -> np.ndarray:
    values = np.asarray(input)
    axis = axis % values.ndim
    before, after = _window_ends(int(size), origin)
    if size == 1 or values.size == 0:
        return values.copy()
    padded = _pad_along(values, before, after, axis, mode, cval)
    return np.ascontiguousarray(_sliding_extreme(padded, int(size), axis, pick))


def minimum_filter1d(
    input: np.ndarray, size: int, axis: int = -1, *, mode: str = "reflect", cval: float = 0.0, origin: int = 0
) -> np.ndarray:
    """The minimum over a window of ``size`` along ``axis`` (scipy.ndimage.minimum_filter1d)."""
    return _extreme_filter1d(input, size, axis, mode, cval, origin, np.minimum)


def maximum_filter1d(
    input: np.ndarray, size: int, axis: int = -1, *, mode: str = "reflect", cval: float = 0.0, origin: int = 0
) -> np.ndarray:
    """The maximum over a window of ``size`` along ``axis`` (scipy.ndimage.maximum_filter1d)."""
    return _extreme_filter1d(input, size, axis, mode, cval, origin, np.maximum)


def _window_sums(padded: np.ndarray, size: int, axis: int, length: int) -> np.ndarray:
    """Sums of every ``size`` consecutive cells along ``axis``: sums of 1, 2, 4, ... cells
    by doubling, one of each binary digit of ``size`` added side by side (2 log2(size) passes)."""
    ndim = padded.ndim
    result: np.ndarray | None = None
    offset, span, current, remaining = 0, 1, padded, size
    while True:
        if remaining & 1:
            piece = current[_along(axis, ndim, offset, offset + length)]
            result = piece.copy() if result is None else np.add(result, piece, out=result)
            offset += span
        remaining >>= 1
        if not remaining:
            assert result is not None  # size >= 1 has a set bit
            return result
        current = current[_along(axis, ndim, None, -span)] + current[_along(axis, ndim, span, None)]
        span *= 2


def _running_sums(padded: np.ndarray, size: int, axis: int, length: int) -> np.ndarray:
    """SciPy's running sum, term by term: the first window added cell by cell, then each step
    adding the entering cell minus the leaving one."""
    lines = np.ascontiguousarray(np.moveaxis(padded, axis, -1))  # cumsum is fastest along the last axis
    steps = np.empty(lines.shape[:-1] + (length,))
    steps[..., 0] = np.cumsum(lines[..., :size], axis=-1)[..., -1]
    np.subtract(lines[..., size:], lines[..., :-size], out=steps[..., 1:])
    return np.moveaxis(np.cumsum(steps, axis=-1), -1, axis)


def uniform_filter1d(
    input: np.ndarray, size: int, axis: int = -1, *, mode: str = "reflect", cval: float = 0.0, origin: int = 0
) -> np.ndarray:
    """The mean over a window of ``size`` along ``axis`` (scipy.ndimage.uniform_filter1d).

    Summed in float64 and stored in the input's dtype (integers truncated), as SciPy does.
    Integer, bool and float64 input repeat SciPy's running sum term by term: the same bits.
    float32 (and float16) input sums each window directly, several times faster; each
    window's float64 sum is then exact, so equal to SciPy's, unless the values in one window
    (``cval`` included) span more than about 2^26, say 1.0 next to 1e-9, or ``cval`` is no
    float32 value: then the sum can differ in the last float64 bit and so, very rarely, the
    mean in the last float32 bit.
    """
    values = np.asarray(input)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"uniform_filter1d does not support {values.dtype} input")
    axis = axis % values.ndim
    size = int(size)
    before, after = _window_ends(size, origin)
    if values.size == 0:
        return values.copy()
    padded = _pad_along(values.astype(np.float64), before, after, axis, mode, cval)
    length = values.shape[axis]
    if values.dtype.kind == "f" and values.dtype.itemsize <= 4:
        sums = _window_sums(padded, size, axis, length)
    else:
        sums = _running_sums(padded, size, axis, length)
    sums /= size
    return np.ascontiguousarray(sums.astype(values.dtype, copy=False))


# N-D filters ----------------------------------------------------------------------------------


def _separable(
    filter1d: Filter1D, input: np.ndarray, size: Sizes | None, mode: str, cval: float, origin: Sizes
) -> np.ndarray:
    """SciPy's separable filters: one 1-D pass per axis whose size exceeds 1, in axis order,
    each pass stored in the input's dtype."""
    result = np.asarray(input)
    sizes, origins = _sizes(size, result.ndim), _origins(origin, result.ndim)
    passes = [(axis, s, o) for axis, (s, o) in enumerate(zip(sizes, origins, strict=False)) if s > 1]
    if not passes:
        return result.copy()
    for axis, s, o in passes:
        result = filter1d(result, s, axis, mode=mode, cval=cval, origin=o)
    return result


def uniform_filter(
    input: np.ndarray, size: int | Sequence[int] = 3, *, mode: str = "reflect", cval: float = 0.0, origin: Sizes = 0
) -> np.ndarray:
    """The mean over a box of ``size`` (scipy.ndimage.uniform_filter)."""
    return _separable(uniform_filter1d, input, size, mode, cval, origin)


def minimum_filter(
    input: np.ndarray,
    size: int | Sequence[int] | None = None,
    *,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: Sizes = 0,
) -> np.ndarray:
    """The minimum over a box of ``size`` (scipy.ndimage.minimum_filter with ``size``)."""
    return _separable(minimum_filter1d, input, size, mode, cval, origin)


def maximum_filter(
    input: np.ndarray,
    size: int | Sequence[int] | None = None,
    *,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: Sizes = 0,
) -> np.ndarray:
    """The maximum over a box of ``size`` (scipy.ndimage.maximum_filter with ``size``)."""
    return _separable(maximum_filter1d, input, size, mode, cval, origin)


def grey_erosion(
    input: np.ndarray,
    size: int | Sequence[int] | None = None,
    *,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: Sizes = 0,
) -> np.ndarray:
    """Grey erosion with a flat box of ``size`` (scipy.ndimage.grey_erosion with ``size``)."""
    return minimum_filter(input, size, mode=mode, cval=cval, origin=origin)


def grey_dilation(
    input: np.ndarray,
    size: int | Sequence[int] | None = None,
    *,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: Sizes = 0,
) -> np.ndarray:
    """Grey dilation with a flat box of ``size`` (scipy.ndimage.grey_dilation with ``size``).

    The box is mirrored: an even side's window reaches one cell further forward than the
    erosion's does, so that an opening's two windows cover the same cells.
    """
    ndim = np.ndim(input)
    sizes = _sizes(size, ndim)
    origins = [-o - (1 - s % 2) for s, o in zip(sizes, _origins(origin, ndim), strict=False)]
    return maximum_filter(input, sizes, mode=mode, cval=cval, origin=origins)


def grey_opening(
    input: np.ndarray,
    size: int | Sequence[int] | None = None,
    *,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: Sizes = 0,
) -> np.ndarray:
    """Grey opening with a flat box of ``size`` (scipy.ndimage.grey_opening with ``size``)."""
    eroded = grey_erosion(input, size, mode=mode, cval=cval, origin=origin)
    return grey_dilation(eroded, size, mode=mode, cval=cval, origin=origin)


# Binary morphology ----------------------------------------------------------------------------


def _structure(structure: np.ndarray | None, ndim: int) -> np.ndarray:
    if structure is None:  # the cross: the cells one unit step from the centre, and it
        return np.abs(np.indices((3,) * ndim) - 1).sum(axis=0) <= 1
    structure = np.asarray(structure, dtype=bool)
    if structure.ndim != ndim:
        raise ValueError("structure and input must have the same number of dimensions")
    if any(side % 2 == 0 for side in structure.shape):
        raise ValueError("structure sides must be odd")
    return structure


def _offsets(structure: np.ndarray) -> np.ndarray:
    """Offsets from the centre of a structure's cells that are set."""
    return np.argwhere(structure) - np.array(structure.shape) // 2


def _hit(mask: np.ndarray, offsets: np.ndarray, border_value: bool, combine: np.ufunc) -> np.ndarray:
    """``combine`` (and/or) over ``mask`` shifted by each offset, ``border_value`` outside."""
    reach = np.abs(offsets).max(axis=0)
    padded = np.pad(mask, [(r, r) for r in reach], constant_values=border_value)
    result = np.ones(mask.shape, dtype=bool) if combine is np.logical_and else np.zeros(mask.shape, dtype=bool)
    for offset in offsets:
        view = padded[tuple(slice(r + o, r + o + n) for r, o, n in zip(reach, offset, mask.shape, strict=False))]
        combine(result, view, out=result)
    return result


def _binary_morphology(
    input: np.ndarray, structure: np.ndarray | None, iterations: int, border_value: int, erode: bool
) -> np.ndarray:
    mask = np.asarray(input) != 0
    structure = _structure(structure, mask.ndim)
    if not structure.any():
        raise ValueError("structure must have a set cell")
    # SciPy's iterations < 1 (repeat until stable) never ends for structures that make the
    # mask oscillate; nothing here needs it.
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    border = bool(border_value)
    box = structure.all()  # a box: one minimum or maximum pass per axis
    box_filter = minimum_filter if erode else maximum_filter
    offsets = _offsets(structure) if erode else -_offsets(structure)  # dilation: the mirror
    combine = np.logical_and if erode else np.logical_or  # erosion: all cells under it; dilation: any
    for _ in range(iterations):
        if box:
            mask = box_filter(mask, structure.shape, mode="constant", cval=border)
        else:
            mask = _hit(mask, offsets, border, combine)
    return mask


def binary_erosion(
    input: np.ndarray, structure: np.ndarray | None = None, iterations: int = 1, *, border_value: int = 0
) -> np.ndarray:
    """Cells whose whole structure neighbourhood is set (scipy.ndimage.binary_erosion).

    ``structure``: None (the cross) or an array with odd sides; ``border_value``: what lies
    outside the array."""
    return _binary_morphology(input, structure, iterations, border_value, erode=True)


def binary_dilation(
    input: np.ndarray, structure: np.ndarray | None = None, iterations: int = 1, *, border_value: int = 0
) -> np.ndarray:
    """Cells that the mirrored structure placed on a set cell covers (scipy.ndimage.binary_dilation).

    ``structure``: None (the cross) or an array with odd sides; ``border_value``: what lies
    outside the array."""
    return _binary_morphology(input, structure, iterations, border_value, erode=False)
