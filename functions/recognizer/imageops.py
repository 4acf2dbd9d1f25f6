"""The subset of scipy.ndimage the service uses, in NumPy alone.

SciPy is most of the serving install's size while serving needs only a few ndimage calls, so
this module provides them with scipy.ndimage's call signatures and results:
``from recognizer import imageops as ndi`` is a drop-in for those calls.

- Filters (``uniform_filter[1d]``, ``minimum_filter[1d]``, ``maximum_filter[1d]``,
  ``grey_erosion``, ``grey_dilation``, ``grey_opening``): a ``size`` (no footprint or
  structure), every boundary ``mode`` with ``cval`` and ``origin``, any number of dimensions.
  The output has the input's dtype. ``uniform_filter1d`` is bit-identical for float64 and
  integer input and, but for the rare cases its docstring gives, for float32.
- ``binary_erosion`` / ``binary_dilation``: any N-D structure with odd sides, ``iterations``
  (at least 1) and ``border_value``.
- ``label``: 2-D with 4- or 8-connectivity (any symmetric 3x3 structure whose middle row is
  full and whose lower row is one run), labels numbered in raster order as SciPy numbers them,
  int32 output and an int count.
- ``sum_labels``, ``center_of_mass``, ``find_objects``: as SciPy (same reductions, so the same
  floating-point sums).
- ``distance_transform_edt``: exact Euclidean distance of 1-D or 2-D input, float64, without
  ``sampling`` or indices; with no background at all, SciPy's distance to the point
  (-1, 0), which is what its feature transform leaves there.

Not offered: ``output=`` arguments, footprints, structuring-element grey morphology, and
``label`` on other than 2-D input; those raise TypeError or ValueError rather than differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_PAD_MODES = {
    "reflect": "symmetric",  # d c b a | a b c d | d c b a
    "grid-mirror": "symmetric",
    "mirror": "reflect",  # d c b | a b c d | c b a
    "nearest": "edge",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "constant": "constant",
    "grid-constant": "constant",
}


# Boundaries and windows -----------------------------------------------------------------------


def _extension(n: int, before: int, after: int, pad_mode: str) -> np.ndarray:
    """Indices into a line of ``n`` cells for the line extended by ``before`` and ``after``."""
    at = np.arange(-before, n + after)
    if pad_mode == "edge":
        return np.clip(at, 0, n - 1)
    if pad_mode == "wrap":
        return at % n
    if pad_mode == "symmetric":  # period 2n: a b c | c b a | a b c
        at %= 2 * n
        return np.where(at < n, at, 2 * n - 1 - at)
    if n == 1:  # reflect about the end cells, period 2n - 2: a b c b | a b c b
        return np.zeros_like(at)
    at %= 2 * n - 2
    return np.where(at < n, at, 2 * n - 2 - at)


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


def _sizes(size: int | Sequence[int] | None, ndim: int) -> list[int]:
    if size is None:
        raise TypeError("size must be given (footprints and structures are not supported)")
    if np.isscalar(size):
        return [int(size)] * ndim
    sizes = [int(s) for s in size]
    if len(sizes) != ndim:
        raise ValueError("size must have one entry per dimension")
    return sizes


def _origins(origin: int | Sequence[int], ndim: int) -> list[int]:
    if np.isscalar(origin):
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
    result, offset, span, current, remaining = None, 0, 1, padded, size
    while True:
        if remaining & 1:
            piece = current[_along(axis, ndim, offset, offset + length)]
            result = piece.copy() if result is None else np.add(result, piece, out=result)
            offset += span
        remaining >>= 1
        if not remaining:
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


def _separable(filter1d, input: np.ndarray, size, mode: str, cval: float, origin) -> np.ndarray:
    """SciPy's separable filters: one 1-D pass per axis whose size exceeds 1, in axis order,
    each pass stored in the input's dtype."""
    result = np.asarray(input)
    sizes, origins = _sizes(size, result.ndim), _origins(origin, result.ndim)
    passes = [(axis, s, o) for axis, (s, o) in enumerate(zip(sizes, origins)) if s > 1]
    if not passes:
        return result.copy()
    for axis, s, o in passes:
        result = filter1d(result, s, axis, mode=mode, cval=cval, origin=o)
    return result


def uniform_filter(
    input: np.ndarray, size: int | Sequence[int] = 3, *, mode: str = "reflect", cval: float = 0.0, origin=0
) -> np.ndarray:
    """The mean over a box of ``size`` (scipy.ndimage.uniform_filter)."""
    return _separable(uniform_filter1d, input, size, mode, cval, origin)


def minimum_filter(
    input: np.ndarray, size: int | Sequence[int] | None = None, *, mode: str = "reflect", cval: float = 0.0, origin=0
) -> np.ndarray:
    """The minimum over a box of ``size`` (scipy.ndimage.minimum_filter with ``size``)."""
    return _separable(minimum_filter1d, input, size, mode, cval, origin)


def maximum_filter(
    input: np.ndarray, size: int | Sequence[int] | None = None, *, mode: str = "reflect", cval: float = 0.0, origin=0
) -> np.ndarray:
    """The maximum over a box of ``size`` (scipy.ndimage.maximum_filter with ``size``)."""
    return _separable(maximum_filter1d, input, size, mode, cval, origin)


def grey_erosion(
    input: np.ndarray, size: int | Sequence[int] | None = None, *, mode: str = "reflect", cval: float = 0.0, origin=0
) -> np.ndarray:
    """Grey erosion with a flat box of ``size`` (scipy.ndimage.grey_erosion with ``size``)."""
    return minimum_filter(input, size, mode=mode, cval=cval, origin=origin)


def grey_dilation(
    input: np.ndarray, size: int | Sequence[int] | None = None, *, mode: str = "reflect", cval: float = 0.0, origin=0
) -> np.ndarray:
    """Grey dilation with a flat box of ``size`` (scipy.ndimage.grey_dilation with ``size``).

    The box is mirrored: an even side's window reaches one cell further forward than the
    erosion's does, so that an opening's two windows cover the same cells.
    """
    ndim = np.ndim(input)
    sizes = _sizes(size, ndim)
    origins = [-o - (1 - s % 2) for s, o in zip(sizes, _origins(origin, ndim))]
    return maximum_filter(input, sizes, mode=mode, cval=cval, origin=origins)


def grey_opening(
    input: np.ndarray, size: int | Sequence[int] | None = None, *, mode: str = "reflect", cval: float = 0.0, origin=0
) -> np.ndarray:
    """Grey opening with a flat box of ``size`` (scipy.ndimage.grey_opening with ``size``)."""
    eroded = grey_erosion(input, size, mode=mode, cval=cval, origin=origin)
    return grey_dilation(eroded, size, mode=mode, cval=cval, origin=origin)


# Binary morphology ----------------------------------------------------------------------------


def generate_binary_structure(rank: int, connectivity: int) -> np.ndarray:
    """The 3^rank neighbourhood of cells within ``connectivity`` unit steps of the centre."""
    if rank < 1:
        return np.array(True)
    steps = np.abs(np.indices((3,) * rank) - 1).sum(axis=0)
    return steps <= max(connectivity, 1)


def _structure(structure: np.ndarray | None, ndim: int) -> np.ndarray:
    if structure is None:
        return generate_binary_structure(ndim, 1)
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
    result = None
    for offset in offsets:
        view = padded[tuple(slice(r + o, r + o + n) for r, o, n in zip(reach, offset, mask.shape))]
        result = view.copy() if result is None else combine(result, view, out=result)
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


# Connected components -------------------------------------------------------------------------


def _vertical_reach(structure: np.ndarray | None) -> tuple[int, int] | None:
    """For a label structure: the column offsets (lowest, highest) by which a cell touches
    the row below, or None when it touches none. Rows must be runs for the run algorithm."""
    if structure is None:
        return 0, 0
    s = np.asarray(structure, dtype=bool)
    if s.shape != (3, 3):
        raise ValueError("label supports 2-D input with a 3x3 structure")
    if not np.array_equal(s, s[::-1, ::-1]):
        raise ValueError("structure must be symmetric")
    below = np.flatnonzero(s[2]) - 1
    if not s[1].all() or (below.size and below[-1] - below[0] + 1 != below.size):
        raise ValueError("label supports structures with a full middle row and a contiguous lower row")
    return (int(below[0]), int(below[-1])) if below.size else None


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Runs of set cells along rows, as flat start and end (exclusive) positions in the mask
    with one unset column appended (so that no run wraps onto the next row), and that stride."""
    height, width = mask.shape
    framed = np.zeros((height, width + 1), dtype=bool)
    framed[:, :width] = mask
    bounds = np.flatnonzero(np.diff(framed.ravel(), prepend=False))
    return bounds[0::2], bounds[1::2], width + 1


def _touching_runs(
    starts: np.ndarray, ends: np.ndarray, stride: int, reach: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b) of runs, b in the row below a's, that touch with columns offset by
    ``reach``. Runs are sorted, so the b of one a are consecutive: found by two searches."""
    low, high = reach
    first = np.searchsorted(ends, starts + stride + low, side="right")
    last = np.searchsorted(starts, ends + stride + high, side="left")
    counts = np.maximum(last - first, 0)
    a = np.repeat(np.arange(starts.size), counts)
    offsets = np.arange(a.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return a, np.repeat(first, counts) + offsets


def _component_roots(count: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each of ``count`` nodes, the smallest node of its component under edges (a, b):
    hook each root onto the smallest root it shares an edge with, jump pointers to the
    roots, and repeat with the edges still joining two roots."""
    parent = np.arange(count)
    while a.size:
        root_a, root_b = parent[a], parent[b]
        apart = root_a != root_b
        if not apart.any():
            break
        a, b, root_a, root_b = a[apart], b[apart], root_a[apart], root_b[apart]
        np.minimum.at(parent, np.maximum(root_a, root_b), np.minimum(root_a, root_b))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def label(input: np.ndarray, structure: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Connected components of the non-zero cells of a 2-D array (scipy.ndimage.label).

    ``structure``: None (4-connected) or e.g. ``np.ones((3, 3))`` (8-connected). Components are
    numbered 1.. in the raster order of their first cell, as SciPy numbers them.
    """
    mask = np.asarray(input) != 0
    if mask.ndim != 2:
        raise ValueError("label supports 2-D input")
    reach = _vertical_reach(structure)
    labels = np.zeros(mask.shape, dtype=np.int32)
    starts, ends, stride = _runs(mask)
    if starts.size == 0:
        return labels, 0
    if reach is None:
        a = b = np.zeros(0, dtype=np.intp)
    else:
        a, b = _touching_runs(starts, ends, stride, reach)
    roots = _component_roots(starts.size, a, b)
    is_root = roots == np.arange(starts.size)
    numbers = np.cumsum(is_root, dtype=np.int32)
    labels[mask] = np.repeat(numbers[roots], ends - starts)
    return labels, int(numbers[-1])


# Measurements ---------------------------------------------------------------------------------


def sum_labels(input: np.ndarray, labels: np.ndarray | None = None, index=None):
    """Sum of ``input`` over each label in ``index`` (scipy.ndimage.sum_labels).

    As SciPy: no labels: the sum of everything; no index: of labels > 0; a scalar index: one
    sum in the input's type; a sequence: float64 sums by np.bincount (0 for absent labels).
    """
    values = np.asarray(input)
    if labels is None:
        return values.sum()
    values, labels = np.broadcast_arrays(values, np.asarray(labels))
    if index is None:
        return values[labels > 0].sum()
    if np.isscalar(index):
        return values[labels == index].sum()
    flat = labels.ravel()
    castable = np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool
    if labels.size and (not castable or flat.min() < 0 or flat.max() > labels.size):
        unique, inverse = np.unique(flat, return_inverse=True)
        sums = np.bincount(inverse.reshape(-1), weights=values.ravel())
        found_at = np.searchsorted(unique, index)
        found_at[found_at >= unique.size] = 0
        found = unique[found_at] == index
    else:
        sums = np.bincount(flat, weights=values.ravel())
        found_at = np.asanyarray(index, np.int_).copy()
        found = (found_at >= 0) & (found_at < sums.size)
        found_at[~found] = 0
    result = sums[found_at]
    result[~found] = 0
    return result


def center_of_mass(input: np.ndarray, labels: np.ndarray | None = None, index=None):
    """Centre of mass, a tuple of floats per axis (scipy.ndimage.center_of_mass); a list of
    such tuples when ``index`` is a sequence."""
    values = np.asarray(input)
    total = sum_labels(values, labels, index)
    grids = np.ogrid[tuple(slice(0, n) for n in values.shape)]
    results = [sum_labels(values * grid.astype(float), labels, index) / total for grid in grids]
    if np.isscalar(results[0]):
        return tuple(results)
    return [tuple(v) for v in np.array(results).T]


def find_objects(input: np.ndarray, max_label: int = 0) -> list[tuple[slice, ...] | None]:
    """For labels 1..max_label (default: the largest), the box of each as a tuple of slices,
    or None for a label that does not occur (scipy.ndimage.find_objects)."""
    labels = np.asarray(input)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError("find_objects needs integer labels")
    if labels.ndim == 0:
        raise ValueError("find_objects needs labels of at least one dimension")
    if max_label < 1:
        max_label = int(labels.max()) if labels.size else 0
    if max_label < 1:
        return []
    # Boxes from runs of equal labels along the last axis: far fewer than cells.
    lines = labels.reshape(-1, labels.shape[-1])
    line_length = lines.shape[1]
    changes = np.ones(lines.shape, dtype=bool)
    np.not_equal(lines[:, 1:], lines[:, :-1], out=changes[:, 1:])
    starts = np.flatnonzero(changes)
    ends = np.append(starts[1:], lines.size)  # each line opens with a run: ends stay in line
    which = lines.ravel()[starts]
    keep = (which > 0) & (which <= max_label)
    starts, ends, which = starts[keep], ends[keep], which[keep]
    line, first = np.divmod(starts, line_length)
    leading = np.unravel_index(line, labels.shape[:-1]) if labels.ndim > 1 else ()
    coordinates = [*leading, first]
    last = [*coordinates[:-1], ends - line * line_length - 1]
    bounds = []
    for low_at, high_at in zip(coordinates, last):
        low = np.full(max_label + 1, np.iinfo(np.intp).max, dtype=np.intp)
        high = np.full(max_label + 1, -1, dtype=np.intp)
        np.minimum.at(low, which, low_at)
        np.maximum.at(high, which, high_at)
        bounds.append((low[1:].tolist(), (high[1:] + 1).tolist()))
    found = (np.bincount(which, minlength=max_label + 1)[1:] > 0).tolist()
    return [
        tuple(slice(low[i], high[i]) for low, high in bounds) if occurs else None
        for i, occurs in enumerate(found)
    ]


# Distance transform ---------------------------------------------------------------------------


def _row_distances(background: np.ndarray, cap: int, dtype: type) -> np.ndarray:
    """Distance from each cell to the nearest background cell in its row (``cap`` where the
    row has none)."""
    width = background.shape[1]
    columns = np.arange(width, dtype=dtype)
    before = np.maximum.accumulate(np.where(background, columns, -cap), axis=1)
    after = np.minimum.accumulate(np.where(background, columns, width + cap)[:, ::-1], axis=1)[:, ::-1]
    return np.minimum(np.minimum(columns - before, after - columns), cap)


def _squared_distances(foreground: np.ndarray) -> np.ndarray:
    """Exact squared Euclidean distance to the nearest background cell (there is one).

    Row distances h first; then down each column d(i) = min over k of h(k)^2 + (i - k)^2,
    taken over offsets t = |i - k| = 1, 2, ... (whole shifted rows at a time) until t^2
    reaches the largest d. The passes follow the largest distance: a stroke's half width
    for distances inside strokes.
    """
    height, width = foreground.shape
    cap = height + width  # more than any distance, so a capped row distance never wins
    dtype = np.int32 if 2 * cap * cap < np.iinfo(np.int32).max else np.int64
    h = _row_distances(~foreground, cap, dtype)
    squares = h * h
    best = squares.copy()
    largest = int(best.max())
    for t in range(1, height):
        t2 = t * t
        if t2 >= largest:
            break
        np.minimum(best[t:], squares[:-t] + t2, out=best[t:])
        np.minimum(best[:-t], squares[t:] + t2, out=best[:-t])
        largest = int(best.max())
    return best


def distance_transform_edt(input: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from each non-zero cell to the nearest zero cell, float64,
    for 1-D or 2-D input (scipy.ndimage.distance_transform_edt without options)."""
    foreground = np.asarray(input) != 0
    if foreground.ndim not in (1, 2):
        raise ValueError("distance_transform_edt supports 1-D and 2-D input")
    if foreground.size == 0:
        return np.zeros(foreground.shape, dtype=np.float64)
    if foreground.all():
        # SciPy's feature transform leaves every cell pointing at (-1, 0, ...).
        grids = np.indices(foreground.shape, dtype=np.float64)
        grids[0] += 1
        return np.sqrt(np.add.reduce(grids * grids, axis=0))
    plane = foreground.reshape(1, -1) if foreground.ndim == 1 else foreground
    # One pass per offset, at most one per row: let the offsets run along the shorter side.
    transposed = plane.shape[0] > plane.shape[1]
    squared = _squared_distances(plane.T if transposed else plane)
    if transposed:
        squared = squared.T
    return np.sqrt(squared.astype(np.float64, order="C")).reshape(foreground.shape)
