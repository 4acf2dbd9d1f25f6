"""Corrections as training data (training.data.corrections): MNIST's IDX format both ways, and
corrections made through the API, exported, loaded and fitted by Keras."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from infra.corrections import export
from recognizer.feature_maps import input_pixels
from tests.drawings import canvas_png
from tests.not_digits import mark_png
from training.data.corrections import IMAGES_FILE, LABELS_FILE, load_corrections, write_corrections
from training.data.mnist import DatasetNotFound, IdxError, load_idx
from training.data.non_digits import NOT_A_DIGIT


def tiny_fit(images: np.ndarray, labels: np.ndarray, epochs: int) -> dict[str, list[float]]:
    """A few steps of Keras fitting on corrections as training takes them (uint8 images, labels
    0-10): a tiny network, seeded; its history (loss and accuracy per epoch)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(NOT_A_DIGIT + 1),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    x = images[..., None].astype("float32") / 255.0
    return model.fit(x, labels, batch_size=8, epochs=epochs, verbose=0, shuffle=False).history


def test_written_corrections_load_back_and_read_as_mnist_idx(tmp_path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, NOT_A_DIGIT, 4, NOT_A_DIGIT], np.uint8)
    write_corrections(tmp_path, images, labels)
    loaded_images, loaded_labels = load_corrections(tmp_path)
    assert loaded_images.dtype == np.uint8 and loaded_labels.dtype == np.uint8
    assert np.array_equal(loaded_images, images) and np.array_equal(loaded_labels, labels)
    # MNIST's own loader reads them: gzip, the IDX magic (0x0803 / 0x0801) and dimensions.
    assert np.array_equal(load_idx(tmp_path / IMAGES_FILE), images)
    raw = gzip.decompress((tmp_path / IMAGES_FILE).read_bytes())
    assert raw[:4] == b"\x00\x00\x08\x03" and raw[4:16] == bytes.fromhex("00000005 0000001c 0000001c")
    assert gzip.decompress((tmp_path / LABELS_FILE).read_bytes())[:8] == bytes.fromhex("00000801 00000005")


def test_no_corrections_is_two_empty_files_not_an_error(tmp_path) -> None:
    write_corrections(tmp_path, np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))
    images, labels = load_corrections(tmp_path)
    assert images.shape == (0, 28, 28) and labels.shape == (0,)


def test_what_is_not_corrections_is_refused_by_name(tmp_path) -> None:
    with pytest.raises(DatasetNotFound, match=IMAGES_FILE):
        load_corrections(tmp_path)
    with pytest.raises(IdxError, match="label 11"):
        write_corrections(tmp_path, np.zeros((1, 28, 28), np.uint8), np.array([11], np.uint8))
    with pytest.raises(IdxError, match="expected"):
        write_corrections(tmp_path, np.zeros((1, 28, 27), np.uint8), np.array([1], np.uint8))
    write_corrections(tmp_path, np.zeros((2, 28, 28), np.uint8), np.array([1, 2], np.uint8))
    (tmp_path / LABELS_FILE).write_bytes(gzip.compress(bytes.fromhex("00000801 00000003") + bytes([1, 2, 3])))
    with pytest.raises(IdxError, match="2 images"):
        load_corrections(tmp_path)


@pytest.mark.slow
def test_corrections_made_through_the_api_are_exported_and_train_a_network(
    app_client, mnist_sample, moto_s3, tmp_path
) -> None:
    """From the API to training: predictions corrected (with consent), the bucket exported as
    IDX files, loaded for training exactly as the inputs the network saw, and a few steps of
    Keras fitting on them (a tiny network: it learns them by heart)."""
    truth: dict[str, int] = {}
    stored: dict[str, np.ndarray] = {}
    uploads = [(canvas_png(mnist_sample.image_of(digit)), digit) for digit in range(10)]
    uploads += [(mark_png(mark), NOT_A_DIGIT) for mark in ("hash", "star")]
    for data, label in uploads:
        answer = app_client.post("/api/predict", files={"image": ("drawing.png", data, "image/png")}).json()
        prediction_id = answer["prediction_id"]
        digit = None if label == NOT_A_DIGIT else label
        sent = app_client.post(f"/api/predictions/{prediction_id}/correction", json={"digit": digit, "consent": True})
        assert sent.status_code == 201, sent.text
        truth[prediction_id] = label
        png = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=f"predictions/{prediction_id}/input.png")
        stored[prediction_id] = input_pixels(png["Body"].read())

    exported = export(moto_s3.client, moto_s3.bucket, tmp_path)
    assert exported.skipped == []
    images, labels = load_corrections(tmp_path)
    order = sorted(truth)  # the export is in key order: corrections/{prediction_id}
    assert np.array_equal(labels, [truth[key] for key in order])
    assert np.array_equal(images, np.stack([stored[key] for key in order]))

    history = tiny_fit(images, labels, epochs=15)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] >= 0.9
