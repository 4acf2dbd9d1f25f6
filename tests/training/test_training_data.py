"""The IDX loader: good files, gzip or raw, official and train-10k names, and corrupt files refused by name."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from training.data.mnist import DatasetNotFound, IdxError, load_from_dir, load_idx, load_mnist


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(12, 28, 28), dtype=np.uint8)


@pytest.fixture
def labels() -> np.ndarray:
    return np.arange(12, dtype=np.uint8) % 10


def write_dataset(folder: Path, images: np.ndarray, labels: np.ndarray, train_prefix: str = "train") -> Path:
    write_idx(folder / f"{train_prefix}-images-idx3-ubyte.gz", images)
    write_idx(folder / f"{train_prefix}-labels-idx1-ubyte.gz", labels)
    write_idx(folder / "t10k-images-idx3-ubyte", images[:5], compress=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", labels[:5], compress=False)
    return folder


def test_reads_gzip_and_raw_idx(tmp_path, images, labels):
    assert np.array_equal(load_idx(write_idx(tmp_path / "a.gz", images)), images)
    assert np.array_equal(load_idx(write_idx(tmp_path / "b", labels, compress=False)), labels)


@pytest.mark.parametrize("prefix", ["train", "train-10k"])
def test_loads_official_and_10k_names(tmp_path, images, labels, prefix):
    mnist = load_from_dir(write_dataset(tmp_path, images, labels, prefix))
    assert mnist.train.images.shape == (12, 28, 28)
    assert np.array_equal(mnist.train.labels, labels)
    assert mnist.test.images.shape == (5, 28, 28)
    assert {s["file"] for s in mnist.train.sources} == {
        f"{prefix}-images-idx3-ubyte.gz",
        f"{prefix}-labels-idx1-ubyte.gz",
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:-10], "bytes follow"),
        (lambda b: b"\x12\x34" + b[2:], "not an IDX file"),
        (lambda b: b[:2] + b"\x0d" + b[3:], "not unsigned byte"),
        (lambda b: b[:2], "too short"),
    ],
    ids=["truncated", "bad-magic", "float-type", "tiny"],
)
def test_corrupt_file_is_refused_naming_the_file(tmp_path, images, mutate, message):
    path = tmp_path / "broken-images-idx3-ubyte"
    path.write_bytes(mutate(idx_bytes(images)))
    with pytest.raises(IdxError, match=message) as info:
        load_idx(path)
    assert str(path) in str(info.value)


def test_not_gzip_despite_name(tmp_path, images):
    path = tmp_path / "x-images-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(images))
    with pytest.raises(IdxError, match="gzip"):
        load_idx(path)


def test_mismatched_image_and_label_counts(tmp_path, images, labels):
    write_dataset(tmp_path, images, labels)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels[:7])
    with pytest.raises(IdxError, match=r"12 images but .* 7 labels"):
        load_from_dir(tmp_path)


def test_labels_must_be_digits(tmp_path, images, labels):
    write_dataset(tmp_path, images, labels)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels + 5)
    with pytest.raises(IdxError, match="not a digit"):
        load_from_dir(tmp_path)


def test_images_must_be_28_by_28(tmp_path, labels):
    write_dataset(tmp_path, np.zeros((12, 20, 20), np.uint8), labels)
    with pytest.raises(IdxError, match="28x28"):
        load_from_dir(tmp_path)


def test_missing_folder_and_files_name_data_dir(tmp_path):
    with pytest.raises(DatasetNotFound, match="--data-dir"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(DatasetNotFound, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_keras_download_failure_names_data_dir(monkeypatch):
    import keras.datasets.mnist as keras_mnist

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras_mnist, "load_data", offline)
    with pytest.raises(DatasetNotFound, match="--data-dir"):
        load_mnist(None)
