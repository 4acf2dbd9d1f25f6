"""The model behind one interface: shapes, probabilities, agreement between backends."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from recognizer.networks import DIGIT_KERAS, DIGIT_TFLITE, load_networks
from recognizer.networks.digit_cnn import (
    Activations,
    KerasModel,
    LiteRTModel,
    as_model_batch,
)
from recognizer.networks.probe import DigitProbe
from recognizer.networks.row_reader import LiteRTRowReader
from recognizer.settings import REPO_MODELS


@pytest.fixture(scope="module")
def litert_model() -> LiteRTModel:
    return LiteRTModel(REPO_MODELS / DIGIT_TFLITE)


def batch_of(mnist_sample, count: int) -> tuple[np.ndarray, np.ndarray]:
    return mnist_sample.images[:count].astype(np.float32) / 255.0, mnist_sample.labels[:count]


def test_one_forward_pass_gives_probabilities_and_both_conv_layers(litert_model, mnist_sample):
    images, _ = batch_of(mnist_sample, 5)
    result = litert_model.run(images)
    assert isinstance(result, Activations) and len(result) == 5
    assert result.probs.shape == (5, 10)
    assert result.conv1.shape == (5, 26, 26, 32)
    assert result.conv2.shape == (5, 11, 11, 64)
    np.testing.assert_allclose(result.probs.sum(axis=1), 1.0, atol=1e-5)
    assert (result.conv1 >= 0).all() and (result.conv2 >= 0).all()  # post-ReLU


def test_litert_model_reads_mnist_digits(litert_model, mnist_sample):
    images, labels = batch_of(mnist_sample, 300)
    accuracy = (litert_model.run(images).probs.argmax(axis=1) == labels).mean()
    assert accuracy >= 0.95


def test_batch_results_equal_one_at_a_time(litert_model, mnist_sample):
    images, _ = batch_of(mnist_sample, 4)
    together = litert_model.run(images)
    for index in range(4):
        alone = litert_model.run(images[index])
        np.testing.assert_allclose(alone.probs, together.row(index).probs, atol=1e-6)
        np.testing.assert_allclose(alone.conv2, together.row(index).conv2, atol=1e-5)


def test_inputs_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError):
        as_model_batch(np.zeros((2, 32, 32), np.float32))
    assert as_model_batch(np.zeros((28, 28))).shape == (1, 28, 28, 1)
    assert as_model_batch(np.zeros((3, 28, 28, 1))).dtype == np.float32


def test_concurrent_calls_each_get_their_own_answer(litert_model, mnist_sample):
    digits = [mnist_sample.image_of(d).astype(np.float32) / 255.0 for d in range(10)]
    expected = [int(litert_model.run(image).probs.argmax()) for image in digits]
    answers: dict[tuple[int, int], int] = {}

    def worker(thread: int) -> None:
        for round_ in range(20):
            digit = (thread + round_) % 10
            answers[(thread, round_)] = int(litert_model.run(digits[digit]).probs.argmax())

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (thread, round_), answer in answers.items():
        assert answer == expected[(thread + round_) % 10]


def test_load_networks_reads_each_model_file(tmp_path):
    networks = load_networks(REPO_MODELS)
    assert networks.digit.backend == "litert"
    assert isinstance(networks.probe, DigitProbe) and isinstance(networks.row_reader, LiteRTRowReader)
    assert load_networks(REPO_MODELS, row_reader=False).row_reader is None
    # Without the helper files the digit CNN alone is served.
    for name in (DIGIT_TFLITE, "digits.json"):
        (tmp_path / name).write_bytes((REPO_MODELS / name).read_bytes())
    alone = load_networks(tmp_path)
    assert alone.probe is None and alone.row_reader is None


@pytest.mark.slow
@pytest.mark.filterwarnings("error::UserWarning")  # Keras warned of the call's input structure (make test)
def test_keras_backend_agrees_with_litert(litert_model, mnist_sample):
    pytest.importorskip("keras")
    keras_model = KerasModel(REPO_MODELS / DIGIT_KERAS)
    images, _ = batch_of(mnist_sample, 16)
    from_keras, from_litert = keras_model.run(images), litert_model.run(images)
    np.testing.assert_allclose(from_keras.probs, from_litert.probs, atol=1e-4)
    np.testing.assert_allclose(from_keras.conv1, from_litert.conv1, atol=1e-4)
    np.testing.assert_allclose(from_keras.conv2, from_litert.conv2, atol=1e-3)


def test_not_digit_thresholds_are_read_beside_the_model_and_checked(tmp_path) -> None:
    import json

    import pytest

    from recognizer.networks.digit_cnn import NotDigitThresholds, load_not_digit_thresholds

    path = tmp_path / "digits.json"
    path.write_text(json.dumps({"not_digit_below": 0.08, "not_digit_below_in_rows": 0.002}))
    assert load_not_digit_thresholds(path) == NotDigitThresholds(alone=0.08, in_row=0.002)
    path.write_text(json.dumps({"not_digit_below": 0.08}))  # a model calibrated without rows
    assert load_not_digit_thresholds(path) == NotDigitThresholds(alone=0.08, in_row=0.08)
    path.write_text(json.dumps({"not_digit_below": 1.5}))
    with pytest.raises(ValueError, match="not_digit_below"):
        load_not_digit_thresholds(path)
