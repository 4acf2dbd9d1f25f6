"""The rows tools end to end on the shipped MNIST sample: the rows evaluation (each source of
digits) and the digit probe's fit, each writing its report."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.training.test_training_data import write_idx
from training.data.splits import split_validation
from training.evaluation import evaluate_rows
from training.fitting import fit_digit_probe


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, mnist_sample):
    """The sample as an MNIST folder: its first 200 digits as train-10k, the rest as t10k."""
    folder = tmp_path_factory.mktemp("mnist")
    write_idx(folder / "train-10k-images-idx3-ubyte.gz", mnist_sample.images[:200])
    write_idx(folder / "train-10k-labels-idx1-ubyte.gz", mnist_sample.labels[:200])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", mnist_sample.images[200:])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", mnist_sample.labels[200:])
    return folder


@pytest.mark.parametrize("source", ["test", "train", "val"])
def test_rows_evaluation_reports_whole_numbers_by_kind_and_length(data_dir, tmp_path, source) -> None:
    output = tmp_path / "rows.json"
    code = evaluate_rows.main(
        ["--data-dir", str(data_dir), "--rows", "12", "--source", source, "--output", str(output)]
    )
    assert code == 0
    report = json.loads(output.read_text())
    assert report["rows"] == 12 and report["source"] == evaluate_rows.SOURCES[source]
    assert set(report["by_kind"]) == set(evaluate_rows.row_kinds.FIRST_KINDS)
    assert sum(kind["n"] for kind in report["by_kind"].values()) == 12
    assert sum(length["n"] for length in report["by_length"].values()) == 12
    # Sample digits on paper, two of twelve rows touching: most whole numbers must be right.
    assert report["exact_number_accuracy"] >= 0.5
    assert len(report["wrong"]) == round(12 * (1 - report["exact_number_accuracy"]))


def test_val_rows_are_made_only_of_the_digits_training_held_out(data_dir, monkeypatch) -> None:
    used = []
    real_make_rows = evaluate_rows.row_kinds.make_rows

    def recording(images, labels, *args, **kwargs):
        used.append(images)
        return real_make_rows(images, labels, *args, **kwargs)

    monkeypatch.setattr(evaluate_rows.row_kinds, "make_rows", recording)
    evaluate_rows.main(["--data-dir", str(data_dir), "--rows", "2", "--source", "val", "--output", "/dev/null"])
    train = evaluate_rows.load_from_dir(data_dir).train
    _, (held_out, _) = split_validation(train.images, train.labels, 0.1, 42)
    assert used[0].shape == held_out.shape and (used[0] == held_out).all()


def test_the_probe_fit_writes_a_probe_for_the_served_model(data_dir, tmp_path) -> None:
    from recognizer.networks.probe import load_probe
    from recognizer.settings import REPO_MODELS
    from recognizer.vision.rows.choose import FEATURES

    output = tmp_path / "digit_probe.json"
    kinds = ["touching", "close"]
    code = fit_digit_probe.main(
        ["--data-dir", str(data_dir), "--rows", "15", "--epochs", "3", "--kinds", *kinds, "--output", str(output)]
    )
    assert code == 0
    spec = json.loads(output.read_text())
    model = REPO_MODELS / "digits.tflite"
    assert spec["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert spec["features"] == list(FEATURES) and spec["parts_fitted"] > 0
    assert set(spec["held_out"]["with_probe"]) == {"several_cut_right", "several_read_right", "single_left_whole"}
    assert load_probe(output, tmp_path / "digits.tflite") is None  # no model file beside it: not used
    (tmp_path / "digits.tflite").write_bytes(model.read_bytes())
    assert load_probe(output, tmp_path / "digits.tflite") is not None


def test_the_row_reader_trains_and_exports_for_serving(data_dir, tmp_path) -> None:
    import numpy as np

    from recognizer.networks.row_reader import MODEL_FILE, load_row_reader
    from recognizer.vision.rows.strip import STEPS, STRIP_HEIGHT, STRIP_WIDTH, SYMBOLS
    from training.fitting import train_row_reader

    code = train_row_reader.main(
        ["--data-dir", str(data_dir), "--models-dir", str(tmp_path), "--rows", "24", "--val-rows", "6", "--epochs", "2"]
    )
    assert code == 0
    report = json.loads((tmp_path / "row_reader.json").read_text())
    assert report["training_rows"] == 24 and report["validation_rows"] == 6
    assert [entry["epoch"] for entry in report["history"]] == [1, 2]
    assert report["validation_rows_read_exactly_alone"] == report["best_validation_exact"]  # LiteRT = Keras
    reader = load_row_reader(tmp_path / MODEL_FILE)
    probs = reader.read(np.zeros((2, STRIP_HEIGHT, STRIP_WIDTH), np.float32))
    assert probs.shape == (2, STEPS, len(SYMBOLS) + 1)
    assert report["symbols"] == SYMBOLS
    assert np.allclose(probs.sum(axis=2), 1.0, atol=1e-4)


def test_the_row_reader_trains_in_parts(data_dir, tmp_path) -> None:
    """A schedule stopped after an epoch goes on from its checkpoint (model and optimizer) to the
    same report a whole run writes; a resume with another schedule is refused."""
    import keras

    from training.fitting import train_row_reader
    from training.fitting.train_row_reader import ctc_loss

    common = ["--data-dir", str(data_dir), "--models-dir", str(tmp_path), "--rows", "24", "--val-rows", "6"]
    assert train_row_reader.main([*common, "--epochs", "2", "--stop-after", "1"]) == 0
    assert not (tmp_path / "row_reader.json").exists()  # no report before the schedule's end
    progress = json.loads((tmp_path / train_row_reader.PROGRESS).read_text())
    assert progress["epoch"] == 1 and progress["epochs"] == 2
    assert not list(tmp_path.glob("*partial*"))  # each written whole, then moved into place
    checkpoint = keras.models.load_model(tmp_path / train_row_reader.CHECKPOINT, custom_objects={"ctc_loss": ctc_loss})
    assert int(checkpoint.optimizer.iterations) == 1  # 24 rows: one batch an epoch; the optimizer's state kept
    with pytest.raises(SystemExit, match="over 2 epochs, not 3"):
        train_row_reader.main([*common, "--epochs", "3", "--resume"])
    assert train_row_reader.main([*common, "--epochs", "2", "--resume"]) == 0
    report = json.loads((tmp_path / "row_reader.json").read_text())
    assert [entry["epoch"] for entry in report["history"]] == [1, 2]
    assert report["history"][0] == progress["history"][0]
    assert report["seconds"] >= progress["seconds"]
