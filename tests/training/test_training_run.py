"""``make model``'s pipeline end to end on a tiny slice: every step runs, every shipped file is
written, the exported signature keeps the contract, and a second run resumes (skips what is done)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recognizer.networks.contract import CONV1_SHAPE, CONV2_SHAPE, OUTPUT_NAMES, SIGNATURE_KEY
from tests.training.test_training_data import write_idx
from training import pipeline

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHIPPED = (
    "digits.keras",
    "digits.tflite",
    "digits.json",
    "calibration.json",
    "digit_probe.json",
    "scene.tflite",
    "scene.json",
    "row_reader.tflite",
    "row_reader.keras",
    "row_reader.json",
    "metrics.json",
    "confusion_matrix.png",
    "preprocessing_eval.json",
    "non_digit_eval.json",
    "rows_eval.json",
    "rows_eval_hands.json",
    "README.md",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    sample = np.load(REPO / "tests" / "data" / "mnist_sample.npz")
    data_dir = tmp_path_factory.mktemp("mnist")
    # The sample stands in for both sets here: this checks the plumbing, not the figures.
    write_idx(data_dir / "train-images-idx3-ubyte.gz", sample["images"])
    write_idx(data_dir / "train-labels-idx1-ubyte.gz", sample["labels"])
    write_idx(data_dir / "t10k-images-idx3-ubyte.gz", sample["images"][:60])
    write_idx(data_dir / "t10k-labels-idx1-ubyte.gz", sample["labels"][:60])
    models_dir = tmp_path_factory.mktemp("models")
    work_dir = tmp_path_factory.mktemp("work")
    argv = ["--data-dir", str(data_dir), "--models-dir", str(models_dir), "--work-dir", str(work_dir), "--smoke"]
    assert pipeline.main(argv) == 0
    return models_dir, work_dir, argv


def test_every_step_writes_its_files(built):
    models_dir, work_dir, _ = built
    for name in SHIPPED:
        assert (models_dir / name).stat().st_size > 0, name
    assert sorted(p.name for p in (work_dir / "done").iterdir()) == sorted(pipeline.STEPS)
    assert sorted(p.name for p in (work_dir / "row_strips").iterdir()) == ["train_24_7.npz", "val_6_8.npz"]
    metrics = json.loads((models_dir / "metrics.json").read_text())
    assert metrics["test_images"] == 60 and len(metrics["confusion_matrix"]) == 10
    assert 0.0 <= metrics["as_served"]["accuracy"] <= 1.0
    assert metrics["training"]["data"]["mnist"] == 270  # 300 less the validation tenth
    chosen = json.loads((models_dir / "digits.json").read_text())
    assert 0.0 <= chosen["not_digit_below_in_rows"] <= chosen["not_digit_below"] <= 0.5
    probe = json.loads((models_dir / "digit_probe.json").read_text())
    assert probe["model_sha256"] == metrics["tflite_sha256"]
    card = (models_dir / "README.md").read_text()
    assert "MNIST test set (10,000)" in card and "hairline_pen" in card


def test_exported_signature_keeps_the_contract(built):
    from ai_edge_litert.interpreter import Interpreter

    models_dir, _, _ = built
    interpreter = Interpreter(model_path=str(models_dir / "digits.tflite"))
    signature = interpreter.get_signature_list()
    assert list(signature) == [SIGNATURE_KEY]
    assert sorted(signature[SIGNATURE_KEY]["outputs"]) == sorted(OUTPUT_NAMES)
    batch = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    outputs = interpreter.get_signature_runner(SIGNATURE_KEY)(image=batch)
    assert outputs["probs"].shape == (3, 10)
    np.testing.assert_allclose(outputs["probs"].sum(axis=1), 1.0, atol=1e-5)
    assert outputs["digit"].shape == (3, 1) and 0 <= outputs["digit"].min() <= outputs["digit"].max() <= 1
    assert outputs["conv1"].shape == (3, *CONV1_SHAPE) and outputs["conv2"].shape == (3, *CONV2_SHAPE)
    assert outputs["conv1"].min() >= 0 and outputs["conv2"].min() >= 0  # post-ReLU


def test_a_second_run_skips_what_is_done(built, capsys):
    _, _, argv = built
    assert pipeline.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("skipped") == len(pipeline.STEPS)


def test_export_refuses_a_model_that_lost_its_weights(built):
    import keras

    from training.export import ExportMismatch, check_export, tflite_bytes

    models_dir, _, _ = built
    model = keras.models.load_model(models_dir / "digits.keras")
    content = tflite_bytes(model)
    for layer in model.layers:
        layer.set_weights([w * 0 + 0.5 for w in layer.get_weights()])
    with pytest.raises(ExportMismatch):
        check_export(model, content, np.random.default_rng(1).random((8, 28, 28, 1), dtype=np.float32))
