"""MNIST loading: IDX files from a folder (official or ``train-10k-*`` names), or Keras's download.

IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian header ``0x00 0x00 <dtype> <ndim>``,
then ``ndim`` uint32 dimension sizes, then the data. Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IDX_UBYTE = 0x08

TRAIN_IMAGE_NAMES = ("train-images-idx3-ubyte", "train-images.idx3-ubyte", "train-10k-images-idx3-ubyte")
TRAIN_LABEL_NAMES = ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte", "train-10k-labels-idx1-ubyte")
TEST_IMAGE_NAMES = ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte")
TEST_LABEL_NAMES = ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte")


class IdxError(ValueError):
    """An IDX file that is corrupt, truncated or not what it claims to be."""


class DatasetNotFound(FileNotFoundError):
    """Neither the IDX files nor a Keras download were available."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8 [N, 28, 28]
    labels: np.ndarray  # uint8 [N]
    sources: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Mnist:
    train: Split
    test: Split
    origin: str


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise IdxError(f"{path}: cannot be read as {'gzip' if path.suffix == '.gz' else 'raw'} data: {exc}") from exc


def load_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally .gz) of unsigned bytes into an array of its declared shape."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise IdxError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IdxError(f"{path}: not an IDX file (magic number starts {data[:2].hex()}, expected 0000)")
    if dtype != IDX_UBYTE:
        raise IdxError(f"{path}: element type 0x{dtype:02x} is not unsigned byte (0x08)")
    if ndim not in (1, 3):
        raise IdxError(f"{path}: {ndim} dimensions; MNIST files have 1 (labels) or 3 (images)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{path}: header truncated")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = int(np.prod(dims)) if dims else 0
    actual = len(data) - header
    if actual != expected:
        raise IdxError(f"{path}: header declares shape {dims} ({expected} bytes) but {actual} bytes follow")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find(data_dir: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        for candidate in (data_dir / f"{name}.gz", data_dir / name):
            if candidate.is_file():
                return candidate
    return None


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _load_split(data_dir: Path, image_names: tuple[str, ...], label_names: tuple[str, ...]) -> Split:
    image_path, label_path = _find(data_dir, image_names), _find(data_dir, label_names)
    if image_path is None or label_path is None:
        wanted = image_names[0] if image_path is None else label_names[0]
        raise DatasetNotFound(f"{data_dir}: no {wanted}[.gz] (or its alternative names) found")
    images, labels = load_idx(image_path), load_idx(label_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise IdxError(f"{image_path}: images of shape {images.shape[1:]}, expected 28x28")
    if labels.ndim != 1:
        raise IdxError(f"{label_path}: labels must be one-dimensional, got shape {labels.shape}")
    if len(images) != len(labels):
        raise IdxError(f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise IdxError(f"{label_path}: label {int(labels.max())} is not a digit 0-9")
    sources = [{"file": p.name, "md5": _md5(p), "records": len(labels)} for p in (image_path, label_path)]
    return Split(images=images, labels=labels, sources=sources)


def load_from_dir(data_dir: str | Path) -> Mnist:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DatasetNotFound(f"--data-dir {data_dir} is not a directory")
    return Mnist(
        train=_load_split(data_dir, TRAIN_IMAGE_NAMES, TRAIN_LABEL_NAMES),
        test=_load_split(data_dir, TEST_IMAGE_NAMES, TEST_LABEL_NAMES),
        origin=str(data_dir),
    )


def load_from_keras() -> Mnist:
    """All 60,000 training images via ``keras.datasets.mnist`` (downloads once; needs internet)."""
    try:
        from keras.datasets import mnist  # lazy: TensorFlow/Keras only for training

        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except Exception as exc:  # network errors surface as many exception types
        raise DatasetNotFound(
            "keras.datasets.mnist could not be downloaded "
            f"({type(exc).__name__}: {exc}). Pass --data-dir with the MNIST IDX files, "
            "e.g. --data-dir ../shared/data/mnist"
        ) from exc
    return Mnist(Split(x_train, y_train), Split(x_test, y_test), origin="keras.datasets.mnist")


def load_mnist(data_dir: str | Path | None = None) -> Mnist:
    """IDX files from ``data_dir`` when given, else Keras's download."""
    return load_from_dir(data_dir) if data_dir else load_from_keras()
