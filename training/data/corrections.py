"""People's corrections as extra training data: two IDX files, as MNIST's own.

``python -m infra.corrections export DIR`` writes what the site's users corrected (with their
consent: the 28x28 input the network saw and what it really was) as

    DIR/corrections-images-idx3-ubyte.gz   uint8 [N, 28, 28], white digit on black (MNIST's polarity)
    DIR/corrections-labels-idx1-ubyte.gz   uint8 [N]: 0-9, or 10 (``NOT_A_DIGIT``) for "not a digit"

in MNIST's IDX format (``training.data.mnist.load_idx`` reads them; gzip as MNIST's downloads).
``load_corrections(DIR)`` gives them to training (``make model CORRECTIONS_DIR=DIR``).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from training.data.mnist import IDX_UBYTE, DatasetNotFound, IdxError, load_idx
from training.data.non_digits import NOT_A_DIGIT

IMAGES_FILE = "corrections-images-idx3-ubyte.gz"
LABELS_FILE = "corrections-labels-idx1-ubyte.gz"
SIDE = 28


def idx_bytes(array: np.ndarray) -> bytes:
    """An array of unsigned bytes as an IDX file: ``0x00 0x00 0x08 <ndim>``, the dimensions as
    big-endian uint32, then the data row by row."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"IDX files here hold unsigned bytes, not {array.dtype}")
    header = struct.pack(">HBB", 0, IDX_UBYTE, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write_corrections(folder: str | Path, images: np.ndarray, labels: np.ndarray) -> tuple[Path, Path]:
    """Write ``images`` (uint8 [N, 28, 28]) and ``labels`` (uint8 [N], 0-10) into ``folder`` as
    the two gzipped IDX files; their paths."""
    images, labels = np.asarray(images), np.asarray(labels)
    _check(images, labels, "the corrections")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, array in ((IMAGES_FILE, images), (LABELS_FILE, labels)):
        path = folder / name
        partial = path.with_name(path.name + ".partial")
        # mtime=0: the same corrections make the same bytes.
        partial.write_bytes(gzip.compress(idx_bytes(array), mtime=0))
        partial.replace(path)
        written.append(path)
    return written[0], written[1]


def load_corrections(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The corrections exported into ``folder``: (images uint8 [N, 28, 28], white on black;
    labels uint8 [N], 0-9 or ``NOT_A_DIGIT`` (10) for "not a digit"). DatasetNotFound when the
    files are not there, IdxError when they are not what they should be."""
    folder = Path(folder)
    paths = [folder / IMAGES_FILE, folder / LABELS_FILE]
    for path in paths:
        if not path.is_file():
            raise DatasetNotFound(f"{path} not found: export corrections with python -m infra.corrections export DIR")
    images, labels = load_idx(paths[0]), load_idx(paths[1])
    _check(images, labels, str(folder))
    return images, labels


def _check(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise IdxError(f"{where}: images and labels must be unsigned bytes")
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise IdxError(f"{where}: images of shape {images.shape}, expected [N, {SIDE}, {SIDE}]")
    if labels.ndim != 1 or len(labels) != len(images):
        raise IdxError(f"{where}: {len(images)} images but labels of shape {labels.shape}")
    if labels.size and int(labels.max()) > NOT_A_DIGIT:
        raise IdxError(f"{where}: label {int(labels.max())} is neither a digit nor {NOT_A_DIGIT} (not a digit)")
