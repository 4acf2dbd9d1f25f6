"""The committed model files: LiteRT and Keras agree, the LiteRT model is small and as accurate as claimed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.data.mnist import load_from_dir
from training.evaluation.evaluate import classification_report, mnist_batch
from training.export import OUTPUT_SHAPES, run_tflite

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"

pytestmark = pytest.mark.xdist_group("tensorflow")


def sample_digits() -> tuple[np.ndarray, np.ndarray]:
    sample = np.load(ROOT / "tests" / "data" / "mnist_sample.npz")
    return sample["images"], sample["labels"]


def official_test_set() -> tuple[np.ndarray, np.ndarray]:
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the full MNIST test set is not at {SHARED_MNIST} (a user's clone has no ../shared)")
    test = load_from_dir(SHARED_MNIST).test
    return test.images, test.labels


def keras_outputs(images: np.ndarray) -> dict[str, np.ndarray]:
    import keras

    serving = keras.models.load_model(MODELS / "digits.keras")  # the serving graph, as exported
    return serving.predict(mnist_batch(images), batch_size=500, verbose=0)


@pytest.fixture(scope="module", params=["sample", "official"])
def digits(request):
    return sample_digits() if request.param == "sample" else official_test_set()


def test_tflite_and_keras_agree(digits):
    images, _ = digits
    lite = run_tflite((MODELS / "digits.tflite").read_bytes(), mnist_batch(images))
    reference = keras_outputs(images)
    assert np.array_equal(lite["probs"].argmax(1), reference["probs"].argmax(1))
    assert np.abs(lite["probs"] - reference["probs"]).max() < 1e-4
    for name, shape in OUTPUT_SHAPES.items():
        assert lite[name].shape == (len(images), *shape)


def test_tflite_accuracy_matches_the_model_card(digits):
    images, labels = digits
    probs = run_tflite((MODELS / "digits.tflite").read_bytes(), mnist_batch(images))["probs"]
    report = classification_report(labels, probs.argmax(1))
    claimed = json.loads((MODELS / "metrics.json").read_text())
    assert claimed["test_accuracy"] >= 0.99
    if len(labels) == claimed["test_images"]:
        assert report["test_accuracy"] == pytest.approx(claimed["test_accuracy"], abs=1e-9)
        assert report["confusion_matrix"] == claimed["confusion_matrix"]
    else:
        assert report["test_accuracy"] >= 0.97


def test_tflite_is_small():
    # Issue #23's budget for the model files.
    assert (MODELS / "digits.tflite").stat().st_size < 10_000_000


def test_the_model_card_figures_are_the_evaluation_files():
    from training.evaluation import model_card

    card = (MODELS / "README.md").read_text()
    assert model_card.updated(card, model_card.figures(MODELS)) == card, (
        "models/README.md's figures differ from models/*.json: run python -m training.evaluation.model_card"
    )


def test_the_probe_was_fitted_for_the_shipped_network():
    import hashlib

    probe = json.loads((MODELS / "digit_probe.json").read_text())
    assert probe["model_sha256"] == hashlib.sha256((MODELS / "digits.tflite").read_bytes()).hexdigest()
