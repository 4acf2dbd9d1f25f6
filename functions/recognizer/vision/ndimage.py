"""The few scipy.ndimage operations the service uses, in NumPy alone.

SciPy is most of the serving install's size while serving needs only a few ndimage calls, so
this module provides them with scipy.ndimage's call signatures and results:
``from recognizer.vision import ndimage as ndi`` is a drop-in for those calls
(``tests/vision/test_ndimage.py`` checks them against SciPy).

- Filters (``uniform_filter[1d]``, ``minimum_filter[1d]``, ``maximum_filter[1d]``,
  ``grey_erosion``, ``grey_dilation``, ``grey_opening``): a ``size`` (no footprint or
  structure), the boundary modes ``reflect``, ``nearest`` and ``constant`` (with ``cval``),
  ``origin``, any number of dimensions.
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

Not offered: other boundary modes, ``output=`` arguments, footprints, structuring-element grey
morphology, and ``label`` on other than 2-D input; those raise TypeError or ValueError rather
than differ.
"""

from __future__ import annotations

from recognizer.vision.ndimage_filters import (
    binary_dilation,
    binary_erosion,
    grey_dilation,
    grey_erosion,
    grey_opening,
    maximum_filter,
    maximum_filter1d,
    minimum_filter,
    minimum_filter1d,
    uniform_filter,
    uniform_filter1d,
)
from recognizer.vision.ndimage_labels import center_of_mass, distance_transform_edt, find_objects, label, sum_labels

__all__ = [
    "binary_dilation",
    "binary_erosion",
    "center_of_mass",
    "distance_transform_edt",
    "find_objects",
    "grey_dilation",
    "grey_erosion",
    "grey_opening",
    "label",
    "maximum_filter",
    "maximum_filter1d",
    "minimum_filter",
    "minimum_filter1d",
    "sum_labels",
    "uniform_filter",
    "uniform_filter1d",
]
