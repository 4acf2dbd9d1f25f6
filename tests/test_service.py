"""The Recognizer: one object answers digits, rows and batches; each carries its own settings,
networks and store, so two of them in one process never share configuration or results."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from recognizer.errors import NoDigitFound, StorageError, UploadTooLarge
from recognizer.networks.scene import SceneRule
from recognizer.schemas import BatchFailure, BatchPrediction, percent, percent_text
from recognizer.service import Recognizer
from tests.not_digits import MARKS, mark_alpha, mark_png
from tests.vision.rows.test_segment import on_paper, row


def test_a_digit_is_read_and_nothing_is_stored_without_a_store(offline: Recognizer, digit_png) -> None:
    answer = offline.predict_digit(digit_png(7))
    assert answer.predicted_digit == 7 and answer.warnings == []
    assert answer.input_url is None and answer.feature_maps is None
    assert sum(answer.probabilities) == pytest.approx(1.0)
    assert answer.is_digit and answer.digit_probability > 0.99
    assert answer.confidence == percent(max(answer.probabilities) * answer.digit_probability)


def test_every_digit_is_a_digit(offline: Recognizer, digit_png) -> None:
    for digit in range(10):
        answer = offline.predict_digit(digit_png(digit))
        assert (answer.predicted_digit, answer.is_digit) == (digit, True)
        assert answer.digit_probability >= offline.networks.not_digit_below.alone


@pytest.mark.parametrize("mark", MARKS)
def test_a_mark_that_is_not_a_digit_is_answered_so(offline: Recognizer, mark: str) -> None:
    answer = offline.predict_digit(mark_png(mark))
    assert answer.is_digit is False
    assert answer.digit_probability < offline.networks.not_digit_below.alone
    # The closest digit is still given, and the confidence says how unlikely it is.
    assert 0 <= answer.predicted_digit <= 9 and sum(answer.probabilities) == pytest.approx(1.0)
    assert answer.confidence == percent(max(answer.probabilities) * answer.digit_probability)
    assert answer.confidence < 100 * offline.networks.not_digit_below.alone
    assert answer.warnings == [
        f"this does not look like a digit (closest: {answer.predicted_digit}, {percent_text(answer.confidence)})"
    ]


PHOTO = Path(__file__).resolve().parent / "data" / "photos" / "ribbon_art.jpg"


def test_a_photograph_is_refused_as_one_with_the_closest_digit(offline: Recognizer) -> None:
    answer = offline.predict_digit(PHOTO.read_bytes())
    assert answer.is_digit is False and answer.refused_because == "photograph"
    assert 0 <= answer.predicted_digit <= 9 and sum(answer.probabilities) == pytest.approx(1.0)
    assert answer.warnings == [
        f"this looks like a photograph, not handwriting (closest digit: {answer.predicted_digit}, "
        f"{percent_text(answer.confidence)})"
    ]


def test_a_photograph_is_refused_as_a_row_too(offline: Recognizer) -> None:
    try:
        answer = offline.read_row(PHOTO.read_bytes())
    except NoDigitFound as exc:  # nothing in it even looked like ink
        assert "this looks like a photograph, not handwriting" in str(exc)
        return
    assert answer.number == "" and answer.refused_because == "photograph"
    assert all(not digit.is_digit for digit in answer.digits)
    assert answer.warnings[-1] == "this looks like a photograph, not handwriting"


def test_a_digit_and_a_row_are_not_photographs(offline: Recognizer, digit_png, mnist_sample) -> None:
    assert offline.predict_digit(digit_png(5)).refused_because is None
    layout = row(mnist_sample, [1, 2, 3], gaps=[0.4, 0.4])
    assert offline.read_row(on_paper(layout.alpha)).refused_because is None


def test_without_the_scene_files_nothing_is_refused_as_a_photograph(offline: Recognizer) -> None:
    blind = dataclasses.replace(offline, networks=dataclasses.replace(offline.networks, scene=None))
    try:
        answer = blind.predict_digit(PHOTO.read_bytes())
    except NoDigitFound:
        return
    assert answer.refused_because != "photograph"


def test_a_likely_photograph_is_refused_when_its_digit_is_read_unsurely(offline: Recognizer, digit_png) -> None:
    judge = offline.networks.scene
    assert judge is not None
    upload = digit_png(7)
    plain = offline.predict_digit(upload)
    sureness = max(plain.probabilities) * plain.digit_probability

    def under(rule: SceneRule) -> Recognizer:
        networks = dataclasses.replace(offline.networks, scene=dataclasses.replace(judge, rule=rule))
        return dataclasses.replace(offline, networks=networks)

    # P(photograph) of a clean digit is above 1e-9 and below 1 - 1e-9: "likely", never certain.
    surely_read = under(SceneRule(1 - 1e-9, 1e-9, sureness - 1e-6)).predict_digit(upload)
    assert surely_read.is_digit and surely_read.refused_because is None
    unsurely_read = under(SceneRule(1 - 1e-9, 1e-9, sureness + 1e-6)).predict_digit(upload)
    assert unsurely_read.is_digit is False and unsurely_read.refused_because == "photograph"
    assert unsurely_read.predicted_digit == 7
    assert unsurely_read.warnings[0].startswith("this looks like a photograph, not handwriting (closest digit: 7")
    [in_a_batch] = under(SceneRule(1 - 1e-9, 1e-9, sureness + 1e-6)).predict_digits([upload], sent_to_s3=False)
    assert not isinstance(in_a_batch, Exception) and in_a_batch.refused_because == "photograph"


def with_mark(alpha: np.ndarray, mark: str, gap: int = 40) -> np.ndarray:
    """A row's ink with a mark drawn after it, as tall as the row."""
    height = alpha.shape[0]
    drawn = mark_alpha(mark, size=int(height * 0.8))
    top = (height - drawn.shape[0]) // 2
    placed = np.zeros((height, drawn.shape[1]), np.float32)
    placed[top : top + drawn.shape[0]] = drawn
    return np.hstack([alpha, np.zeros((height, gap), np.float32), placed, np.zeros((height, gap), np.float32)])


def test_a_digit_is_stored_when_there_is_a_store(recognizer: Recognizer, moto_s3, digit_png) -> None:
    answer = recognizer.predict_digit(digit_png(3))
    assert answer.feature_maps is not None and answer.input_url is not None
    assert len(moto_s3.keys(f"predictions/{answer.prediction_id}/")) == 3
    assert recognizer.delete_prediction(answer.prediction_id) == 3
    unstored = recognizer.predict_digit(digit_png(3), store=False)
    assert unstored.input_url is None and moto_s3.keys(f"predictions/{unstored.prediction_id}/") == []


def test_two_recognizers_keep_their_own_limits(offline: Recognizer, digit_png) -> None:
    data = digit_png(5)
    strict = dataclasses.replace(
        offline, settings=offline.settings.model_copy(update={"max_upload_bytes": len(data) - 1})
    )
    with pytest.raises(UploadTooLarge):
        strict.predict_digit(data)
    assert offline.predict_digit(data).predicted_digit == 5  # the other one is untouched
    assert strict.networks is offline.networks  # the networks are read-only and may be shared


def test_a_row_is_read_left_to_right_with_boxes(offline: Recognizer, mnist_sample) -> None:
    layout = row(mnist_sample, [4, 0, 7], [0.6, 0.6])
    answer = offline.read_row(on_paper(layout.alpha))
    assert answer.number == "407"
    assert [digit.box[0] for digit in answer.digits] == sorted(digit.box[0] for digit in answer.digits)
    assert all(digit.feature_maps is None and digit.prediction_id is None for digit in answer.digits)
    for digit in answer.digits:
        assert sum(digit.probabilities) == pytest.approx(1.0)
        assert digit.is_digit


@pytest.mark.parametrize("mark", ["letter_k", "hash", "star", "spiral", "zigzag"])
def test_a_mark_in_a_row_is_left_out_of_the_number_and_said_so(offline: Recognizer, mnist_sample, mark: str) -> None:
    """Judged whole, not cut into "digits": a "#" is no "44" (issue #25)."""
    layout = row(mnist_sample, [4, 0, 7], [0.6, 0.6])
    answer = offline.read_row(on_paper(with_mark(layout.alpha, mark)))
    assert answer.number == "407"
    assert [digit.is_digit for digit in answer.digits] == [True, True, True, False]
    mark = answer.digits[-1]
    assert mark.box[0] > layout.alpha.shape[1]
    assert answer.warnings == [f"1 mark that did not look like a digit left out of the number (at x={mark.box[0]})"]


def test_a_row_of_nothing_but_marks_reads_no_number(offline: Recognizer) -> None:
    alpha = with_mark(with_mark(np.zeros((100, 40), np.float32), "spiral"), "spiral")
    answer = offline.read_row(on_paper(alpha))
    assert answer.number == "" and len(answer.digits) >= 2
    assert not any(digit.is_digit for digit in answer.digits)
    count = len(answer.digits)
    assert answer.warnings[-1].startswith(f"{count} marks that did not look like a digit left out of the number")


def test_a_batch_answers_each_file_in_order(offline: Recognizer, digit_png) -> None:
    results = offline.predict_batch([("two.png", digit_png(2)), ("empty.png", b""), ("nine.png", digit_png(9))])
    assert [type(result) for result in results] == [BatchPrediction, BatchFailure, BatchPrediction]
    assert [result.filename for result in results] == ["two.png", "empty.png", "nine.png"]
    assert isinstance(results[0], BatchPrediction) and results[0].predicted_digit == 2
    assert isinstance(results[1], BatchFailure) and results[1].error.code == "missing_image"


def test_a_blank_page_is_no_digit(offline: Recognizer) -> None:
    blank = on_paper(np.zeros((80, 200), np.float32))
    with pytest.raises(NoDigitFound):
        offline.predict_digit(blank)
    with pytest.raises(NoDigitFound):
        offline.read_row(blank)


def test_deleting_needs_a_store(offline: Recognizer) -> None:
    with pytest.raises(StorageError):
        offline.delete_prediction("0" * 32)


@pytest.mark.parametrize(
    ("probability", "shown"),
    [(1.0, 100.0), (0.99999998, 99.9), (0.9995, 99.9), (0.99949, 99.9), (0.987654, 98.8), (0.0004, 0.0), (0.5, 50.0)],
)
def test_confidence_is_one_decimal_and_never_certain_below_one(probability: float, shown: float) -> None:
    assert percent(probability) == shown


def test_an_empty_file_is_a_missing_image_wherever_it_comes_from(offline: Recognizer) -> None:
    from recognizer.errors import MissingUpload

    with pytest.raises(MissingUpload):
        offline.predict_digit(b"")
    with pytest.raises(MissingUpload):
        offline.read_row(b"")
