"""One short training run end to end on a tiny generated dataset, and the exported signature."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.training.test_training_data import write_idx
from training.fitting import train

pytestmark = pytest.mark.slow


def synthetic_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Crude but learnable '0' (ring) and '1' (bar) images with jitter, labels 0 and 1 only."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for index in range(count):
        label = index % 2
        canvas = Image.new("L", (28, 28), 0)
        draw = ImageDraw.Draw(canvas)
        dx, dy = rng.integers(-2, 3, size=2)
        if label == 0:
            draw.ellipse((8 + dx, 5 + dy, 20 + dx, 23 + dy), outline=255, width=3)
        else:
            draw.line((14 + dx, 4 + dy, 14 + dx, 24 + dy), fill=255, width=3)
        images.append(np.asarray(canvas))
        labels.append(label)
    return np.stack(images), np.array(labels, dtype=np.uint8)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("mnist")
    models_dir = tmp_path_factory.mktemp("models")
    x_train, y_train = synthetic_digits(256, seed=1)
    x_test, y_test = synthetic_digits(40, seed=2)
    write_idx(data_dir / "train-10k-images-idx3-ubyte.gz", x_train)
    write_idx(data_dir / "train-10k-labels-idx1-ubyte.gz", y_train)
    write_idx(data_dir / "t10k-images-idx3-ubyte.gz", x_test)
    write_idx(data_dir / "t10k-labels-idx1-ubyte.gz", y_test)
    code = train.main(
        [
            "--data-dir",
            str(data_dir),
            "--models-dir",
            str(models_dir),
            "--epochs",
            "3",
            "--verbose",
            "0",
            "--font-digits",
            "0",
            "--row-parts",
            "12",
            "--non-digit-chars",
            "0",
            "--non-digit-drawings",
            "96",
            "--pen-chars",
            "0",
            "--pen-digits",
            "0",
            "--calibration-uploads",
            "4",
        ]
    )
    assert code == 0
    return models_dir, x_test, y_test


def test_training_writes_every_model_file(trained):
    models_dir, _, _ = trained
    for name in (
        "digits.keras",
        "digits.tflite",
        "digits.json",
        "calibration.json",
        "metrics.json",
        "confusion_matrix.png",
    ):
        assert (models_dir / name).stat().st_size > 0, name
    metrics = json.loads((models_dir / "metrics.json").read_text())
    assert metrics["test_images"] == 40
    assert metrics["training_data"]["train_images"] + metrics["training_data"]["validation_images"] == 256
    # Rows of the training split's rings and bars, cut as the row reader cuts them, joined training.
    assert metrics["training_data"]["row_part_rows"] == 12
    assert metrics["training_data"]["row_part_images"] > 0
    assert len(metrics["confusion_matrix"]) == 10
    assert metrics["export_check"]["argmax_disagreements"] == 0
    # Two easy shapes: three epochs must already beat chance clearly.
    assert metrics["test_accuracy"] > 0.8
    # Scribbles, shapes and textures were taught as "not a digit"; the threshold and the
    # temperature were chosen on validation data and written beside the model.
    assert metrics["training_data"]["non_digit_train_images"] == 96
    chosen = json.loads((models_dir / "digits.json").read_text())
    assert 0.0 <= chosen["not_digit_below"] <= 0.5
    assert chosen["temperature"] == metrics["validation"]["temperature"] > 0
    calibration = json.loads((models_dir / "calibration.json").read_text())
    assert calibration["validation_uploads"] > 0 and "thick_marker" in calibration["after"]


def test_exported_signature_shapes_and_dtypes(trained):
    from ai_edge_litert.interpreter import Interpreter

    models_dir, x_test, _ = trained
    interpreter = Interpreter(model_path=str(models_dir / "digits.tflite"))
    signature = interpreter.get_signature_list()
    assert list(signature) == ["serving_default"]
    assert signature["serving_default"]["inputs"] == ["image"]
    assert sorted(signature["serving_default"]["outputs"]) == ["conv1", "conv2", "digit", "probs"]

    runner = interpreter.get_signature_runner("serving_default")
    batch = (x_test[:3].astype(np.float32) / 255.0)[..., None]
    outputs = runner(image=batch)
    assert outputs["probs"].shape == (3, 10) and outputs["probs"].dtype == np.float32
    assert outputs["conv1"].shape == (3, 26, 26, 32) and outputs["conv1"].dtype == np.float32
    assert outputs["conv2"].shape == (3, 11, 11, 64) and outputs["conv2"].dtype == np.float32
    np.testing.assert_allclose(outputs["probs"].sum(axis=1), 1.0, atol=1e-5)
    assert outputs["digit"].shape == (3, 1) and 0 <= outputs["digit"].min() <= outputs["digit"].max() <= 1
    assert outputs["conv1"].min() >= 0 and outputs["conv2"].min() >= 0  # post-ReLU


def test_export_refuses_a_model_that_lost_its_weights(trained):
    import keras

    from training.export import ExportMismatch, check_export, tflite_bytes

    models_dir, x_test, _ = trained
    model = keras.models.load_model(models_dir / "digits.keras")
    content = tflite_bytes(model)
    for layer in model.layers:
        layer.set_weights([w * 0 + 0.5 for w in layer.get_weights()])
    with pytest.raises(ExportMismatch):
        check_export(model, content, (x_test.astype(np.float32) / 255.0)[..., None])
