"""recognizer.vision.ndimage against scipy.ndimage: the same results for the calls the service makes.

Each property draws masks and images of many shapes (1xN, Nx1, single cells, empty, full,
noise, blobs, thin strokes) and compares recognizer.vision.ndimage with SciPy call for call, with the
argument combinations the vision modules use first, then the wider options
recognizer.vision.ndimage also offers (its three boundary modes, origins, structures). Exact equality throughout,
dtypes included. float32 images hold 0 and values from about 2^-24 to 1, whose window sums
are exact in float64, which is what recognizer.vision.ndimage.uniform_filter1d needs to give SciPy's bits.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as sn
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recognizer.vision import ndimage as mi

EIGHT = np.ones((3, 3), dtype=bool)
MODES = ("reflect", "nearest", "constant")

same_examples = settings(max_examples=80, deadline=None, derandomize=True, database=None)

sides = st.integers(1, 40)
shapes = st.tuples(sides, sides) | st.tuples(st.just(1), sides) | st.tuples(sides, st.just(1))


@st.composite
def masks(draw: st.DrawFn) -> np.ndarray:
    """Boolean masks: hypothesis' own (shrinkable), or seeded noise, blobs or strokes."""
    shape = draw(shapes)
    kind = draw(st.sampled_from(["drawn", "noise", "blobs", "strokes", "empty", "full", "one"]))
    if kind == "drawn":
        return draw(hnp.arrays(bool, shape))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "empty":
        return np.zeros(shape, dtype=bool)
    if kind == "full":
        return np.ones(shape, dtype=bool)
    if kind == "one":
        mask = np.zeros(shape, dtype=bool)
        mask[tuple(rng.integers(0, shape))] = True
        return mask
    if kind == "noise":
        return rng.random(shape) < rng.random()
    seeds = rng.random(shape) < rng.uniform(0.002, 0.05)
    if kind == "blobs":
        return sn.binary_dilation(seeds, iterations=int(rng.integers(1, 6)))
    # strokes: rings of blobs, thin and thick, like pen strokes and their holes
    grown = sn.binary_dilation(seeds, iterations=int(rng.integers(2, 8)))
    return grown & ~sn.binary_erosion(grown, iterations=int(rng.integers(1, 4)))


@st.composite
def images(draw: st.DrawFn, shape=None) -> np.ndarray:
    """float32 maps in [0, 1] as the ink and paper maps are: noisy, 8-bit, or with plateaus
    of exact 0 and 1 (ties for minima and maxima)."""
    shape = shape or draw(shapes)
    kind = draw(st.sampled_from(["drawn", "noise", "8-bit", "clipped"]))
    if kind == "drawn":
        cell = st.just(0.0) | st.just(1.0) | st.floats(2.0**-20, 1.0, width=32)
        return draw(hnp.arrays(np.float32, shape, elements=cell))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.random(shape, dtype=np.float32)
    if kind == "8-bit":
        return (np.round(values * 255) / 255).astype(np.float32)
    if kind == "clipped":
        return np.clip((values - 0.3) * 2.5, 0.0, 1.0).astype(np.float32)
    return values


def assert_same(ours, theirs) -> None:
    """Equal values and types: arrays with their dtypes, tuples and lists element by element."""
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype, (ours, theirs)
        np.testing.assert_array_equal(ours, theirs)
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (ours, theirs)
        for a, b in zip(ours, theirs, strict=False):
            assert_same(a, b)
    else:
        assert type(ours) is type(theirs) and ours == theirs, (ours, theirs)


# Components and measurements (ink_components, _line_candidates, _without_slivers) ---------------


@same_examples
@given(masks(), st.sampled_from([None, EIGHT]))
def test_label_numbers_components_as_scipy(mask, structure) -> None:
    labels, count = mi.label(mask, structure=structure)
    expected, expected_count = sn.label(mask, structure=structure)
    assert type(count) is int and count == expected_count
    assert_same(labels, expected)


@same_examples
@given(masks(), st.data())
def test_sum_labels_find_objects_as_scipy(mask, data) -> None:
    ink = data.draw(images(mask.shape))
    labels, count = sn.label(mask | (ink >= 0.9), structure=EIGHT)
    index = np.arange(1, count + 1)
    assert_same(mi.sum_labels(mask, labels, index=index), sn.sum_labels(mask, labels, index=index))
    assert_same(mi.sum_labels(ink, labels, index), sn.sum_labels(ink, labels, index))
    assert_same(mi.find_objects(labels), sn.find_objects(labels))
    # Other index forms: a scalar, none, labels that are absent.
    assert_same(mi.sum_labels(ink, labels, 1), sn.sum_labels(ink, labels, 1))
    assert_same(mi.sum_labels(ink, labels), sn.sum_labels(ink, labels))
    wide = np.arange(-1, count + 3)
    assert_same(mi.sum_labels(ink, labels, wide), sn.sum_labels(ink, labels, wide))
    assert_same(mi.find_objects(labels, max_label=count + 2), sn.find_objects(labels, max_label=count + 2))


@same_examples
@given(images(), st.data())
def test_center_of_mass_as_scipy(field, data) -> None:
    if not field.any():
        field[tuple(np.array(field.shape) // 2)] = 1.0
    assert_same(mi.center_of_mass(field), sn.center_of_mass(field))
    labels, count = sn.label(field > 0.5)
    if count:
        index = list(range(1, count + 1))
        assert_same(mi.center_of_mass(field, labels, index), sn.center_of_mass(field, labels, index))


def spiral(side: int) -> np.ndarray:
    """One long winding path (4-connected), corners touching diagonally across the turns."""
    mask = np.zeros((side, side), dtype=bool)
    top, left, bottom, right = 0, 0, side - 1, side - 1
    while top <= bottom and left <= right:
        mask[top, left : right + 1] = True
        mask[top : bottom + 1, right] = True
        mask[bottom, left : right + 1] = True
        mask[top + 2 : bottom + 1, left] = True
        if top + 2 <= bottom:
            mask[top + 2, left : left + 3] = True
        top, left, bottom, right = top + 2, left + 2, bottom - 2, right - 2
    return mask


@pytest.mark.parametrize(
    "mask",
    [
        spiral(101),
        np.indices((64, 64)).sum(axis=0) % 2 == 0,  # checkerboard: 8-connected one piece, 4: cells
        np.eye(50, dtype=bool) | np.eye(50, dtype=bool)[::-1],
        np.random.default_rng(3).random((256, 256)) < 0.59,  # near percolation: huge components
    ],
    ids=["spiral", "checkerboard", "diagonals", "percolation"],
)
@pytest.mark.parametrize("structure", [None, EIGHT], ids=["4-connected", "8-connected"])
def test_label_long_and_tangled_components(mask, structure) -> None:
    labels, count = mi.label(mask, structure=structure)
    expected, expected_count = sn.label(mask, structure=structure)
    assert count == expected_count
    assert_same(labels, expected)
    assert_same(mi.find_objects(labels), sn.find_objects(expected))


@pytest.mark.parametrize(
    "structure",
    [[[0, 0, 0], [1, 1, 1], [0, 0, 0]], [[1, 0, 0], [1, 1, 1], [0, 0, 1]], [[0, 1, 1], [1, 1, 1], [1, 1, 0]]],
    ids=["rows only", "one diagonal", "other diagonal"],
)
def test_label_other_supported_structures(structure) -> None:
    mask = np.random.default_rng(4).random((40, 50)) < 0.5
    labels, count = mi.label(mask, structure=structure)
    expected, expected_count = sn.label(mask, structure=structure)
    assert count == expected_count
    assert_same(labels, expected)


# Filters (estimate_background, _opened_along, _may_hold_lines, stroke widths, cuts) ---------------


@same_examples
@given(images(), st.integers(1, 12))
def test_background_opening_and_smoothing_as_scipy(values, window) -> None:
    opened = mi.grey_opening(values, size=(window, window), mode="nearest")
    assert_same(opened, sn.grey_opening(values, size=(window, window), mode="nearest"))
    smooth = max(3, window // 2)
    assert_same(
        mi.uniform_filter(opened, size=smooth, mode="nearest"), sn.uniform_filter(opened, size=smooth, mode="nearest")
    )
    assert_same(mi.maximum_filter(values, size=3, mode="nearest"), sn.maximum_filter(values, size=3, mode="nearest"))


@same_examples
@given(images(), st.integers(1, 20), st.integers(0, 1))
def test_line_filters_as_scipy(ink, length, axis) -> None:
    across = 1 - axis
    paired = mi.uniform_filter1d(ink, 2, axis=across, mode="nearest") * 2.0
    assert_same(paired, sn.uniform_filter1d(ink, 2, axis=across, mode="nearest") * 2.0)
    tolerant = mi.maximum_filter1d(np.minimum(paired, 1.0), 3, axis=across, mode="nearest")
    assert_same(tolerant, sn.maximum_filter1d(np.minimum(paired, 1.0), 3, axis=across, mode="nearest"))
    eroded = mi.minimum_filter1d(tolerant, length, axis=axis, mode="nearest")
    assert_same(eroded, sn.minimum_filter1d(tolerant, length, axis=axis, mode="nearest"))
    assert_same(
        mi.maximum_filter1d(eroded, length, axis=axis, mode="nearest"),
        sn.maximum_filter1d(eroded, length, axis=axis, mode="nearest"),
    )
    size = (length, 1) if axis == 1 else (1, length)  # even sizes too
    for mode in ("nearest", "constant"):
        assert_same(mi.grey_opening(ink, size=size, mode=mode), sn.grey_opening(ink, size=size, mode=mode))
    blocks = ink > 0.5
    assert_same(mi.maximum_filter1d(blocks, 3, axis=axis), sn.maximum_filter1d(blocks, 3, axis=axis))


@same_examples
@given(masks())
def test_binary_morphology_as_scipy(mask) -> None:
    assert_same(mi.binary_erosion(mask), sn.binary_erosion(mask))
    assert_same(mi.binary_dilation(mask, structure=EIGHT), sn.binary_dilation(mask, structure=EIGHT))


@same_examples
@given(masks())
def test_distance_transform_as_scipy(mask) -> None:
    assert_same(mi.distance_transform_edt(np.pad(mask, 1)), sn.distance_transform_edt(np.pad(mask, 1)))
    assert_same(mi.distance_transform_edt(~mask), sn.distance_transform_edt(~mask))
    assert_same(mi.distance_transform_edt(mask), sn.distance_transform_edt(mask))  # no background: SciPy's quirk
    distance = sn.distance_transform_edt(np.pad(mask, 1))
    assert_same(mi.maximum_filter(distance, size=3), sn.maximum_filter(distance, size=3))


@pytest.mark.parametrize(
    "mask",
    [
        np.arange(256 * 256).reshape(256, 256) != 1000,  # one background cell: distances up to 300
        ~spiral(120),
        np.pad(np.ones((100, 400), dtype=bool), 1),  # a solid block, wider than tall
        np.array([1, 1, 0, 1, 1, 1], dtype=bool),  # 1-D
        np.ones(5, dtype=bool),
    ],
    ids=["single background cell", "spiral gaps", "solid block", "1-D", "1-D no background"],
)
def test_distance_transform_far_and_odd_cases(mask) -> None:
    assert_same(mi.distance_transform_edt(mask), sn.distance_transform_edt(mask))


@same_examples
@given(masks())
def test_column_profile_smoothing_as_scipy(mask) -> None:
    profile = mask.sum(axis=0).astype(np.float64)
    assert_same(mi.uniform_filter1d(profile, 3, mode="nearest"), sn.uniform_filter1d(profile, 3, mode="nearest"))


# The wider options it offers: its three modes, origins and sizes -------------------------------------------


@same_examples
@given(images(), st.integers(1, 24), st.sampled_from(MODES), st.integers(0, 1), st.data())
def test_one_dimensional_filters_in_every_mode(values, size, mode, axis, data) -> None:
    origin = data.draw(st.integers(-(size // 2), (size - 1) // 2))
    options = {"axis": axis, "mode": mode, "cval": 0.25, "origin": origin}
    for name in ("minimum_filter1d", "maximum_filter1d", "uniform_filter1d"):
        assert_same(getattr(mi, name)(values, size, **options), getattr(sn, name)(values, size, **options))


@same_examples
@given(images(), st.integers(1, 9), st.integers(1, 9), st.sampled_from(MODES))
def test_box_filters_in_every_mode(values, rows, cols, mode) -> None:
    options = {"size": (rows, cols), "mode": mode}
    for name in ("minimum_filter", "maximum_filter", "uniform_filter", "grey_erosion", "grey_dilation", "grey_opening"):
        assert_same(getattr(mi, name)(values, **options), getattr(sn, name)(values, **options))


@same_examples
@given(st.integers(0, 2**32 - 1), shapes, st.integers(1, 24), st.sampled_from(MODES))
def test_float64_and_integer_means_are_bit_identical(seed, shape, size, mode) -> None:
    rng = np.random.default_rng(seed)
    scattered = rng.normal(size=shape) * 10.0 ** rng.integers(-8, 8)
    for values in (scattered, rng.integers(-300, 300, shape).astype(np.int16)):
        for axis in (0, 1):
            ours = mi.uniform_filter1d(values, size, axis=axis, mode=mode, cval=0.3)
            assert_same(ours, sn.uniform_filter1d(values, size, axis=axis, mode=mode, cval=0.3))


@same_examples
@given(masks(), st.integers(0, 2**9 - 1), st.integers(1, 3), st.integers(0, 1))
def test_binary_morphology_with_any_structure(mask, cells, iterations, border_value) -> None:
    structure = (cells >> np.arange(9) & 1).astype(bool).reshape(3, 3)
    if not structure.any():
        return
    options = {"iterations": iterations, "border_value": border_value}
    assert_same(mi.binary_erosion(mask, structure, **options), sn.binary_erosion(mask, structure, **options))
    assert_same(mi.binary_dilation(mask, structure, **options), sn.binary_dilation(mask, structure, **options))


def test_what_ndimage_does_not_offer_is_refused() -> None:
    mask = np.ones((4, 4), dtype=bool)
    with pytest.raises(ValueError):
        mi.label(np.ones((2, 2, 2)))
    with pytest.raises(ValueError):
        mi.label(mask, structure=[[0, 1, 0], [0, 1, 0], [0, 1, 0]])  # columns only
    with pytest.raises(ValueError):
        mi.binary_erosion(mask, iterations=0)
    with pytest.raises(ValueError):
        mi.binary_dilation(mask, structure=np.ones((2, 2)))
    with pytest.raises(ValueError):
        mi.distance_transform_edt(np.ones((2, 2, 2)))
    for mode in ("sideways", "mirror", "wrap"):
        with pytest.raises(ValueError):
            mi.uniform_filter1d(np.ones(5), 3, mode=mode)
    with pytest.raises(ValueError):
        mi.maximum_filter1d(np.ones(5), 3, origin=2)
    with pytest.raises(TypeError):
        mi.maximum_filter(np.ones(5))
