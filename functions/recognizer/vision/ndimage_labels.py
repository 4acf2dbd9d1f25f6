"""Connected components, measurements and the distance transform of scipy.ndimage in NumPy
alone. Use them through ``recognizer.vision.ndimage``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Index = int | Sequence[int] | np.ndarray | None  # which labels: none (all > 0), one, or several

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


def sum_labels(input: np.ndarray, labels: np.ndarray | None = None, index: Index = None) -> Any:
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


def center_of_mass(input: np.ndarray, labels: np.ndarray | None = None, index: Index = None) -> Any:
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
    for low_at, high_at in zip(coordinates, last, strict=False):
        low = np.full(max_label + 1, np.iinfo(np.intp).max, dtype=np.intp)
        high = np.full(max_label + 1, -1, dtype=np.intp)
        np.minimum.at(low, which, low_at)
        np.maximum.at(high, which, high_at)
        bounds.append((low[1:].tolist(), (high[1:] + 1).tolist()))
    found = (np.bincount(which, minlength=max_label + 1)[1:] > 0).tolist()
    return [tuple(slice(low[i], high[i]) for low, high in bounds) if occurs else None for i, occurs in enumerate(found)]


# Distance transform ---------------------------------------------------------------------------


def _row_distances(background: np.ndarray, cap: int, dtype: type) -> np.ndarray:
    """Distance from each cell to the nearest background cell in its row (``cap`` where the
    row has none)."""
    width = background.shape[1]
    columns: np.ndarray = np.arange(width, dtype=dtype)
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


def squared_distances_to_background(foreground: np.ndarray) -> np.ndarray:
    """The squared Euclidean distance transform of a 2-D mask with at least one unset cell,
    as integers (``distance_transform_edt`` squared, exactly; not a SciPy function). Integers
    compare as the distances do, for a fraction of the memory traffic of float64."""
    if foreground.ndim != 2 or foreground.all():
        raise ValueError("needs a 2-D mask with background")
    transposed = foreground.shape[0] > foreground.shape[1]
    squared = _squared_distances(foreground.T if transposed else foreground)
    return squared.T if transposed else squared


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
