"""Export the trained model for serving: Keras file, and LiteRT with the ``serving_default`` signature.

The LiteRT signature (docs/architecture.md, contract 2): input ``image`` float32 [N,28,28,1] in
[0,1]; outputs ``probs`` [N,10] (each digit's probability if it is one), ``digit`` [N,1] (the
probability that it is a digit), ``conv1`` [N,26,26,32], ``conv2`` [N,11,11,64]. The calibration
temperature is part of the graph; the refusal threshold is written beside it (``digits.json``).
We go through a SavedModel written by Keras's ExportArchive because, with Keras 3,
``TFLiteConverter.from_keras_model`` can silently drop the weights (all-NaN outputs).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from recognizer.networks.contract import DIGIT_KERAS, DIGIT_TFLITE, INPUT_NAME, INPUT_SHAPE, OUTPUT_SHAPES
from recognizer.networks.contract import SIGNATURE_KEY as SIGNATURE
from training.fitting.model import build_serving_model


class ExportMismatch(RuntimeError):
    """The LiteRT model does not reproduce the Keras model."""


@dataclass(frozen=True)
class ExportCheck:
    images: int
    argmax_disagreements: int
    max_abs_prob_diff: float
    max_abs_conv_diff: float


def tflite_bytes(serving: keras.Model) -> bytes:
    archive = keras.export.ExportArchive()
    archive.track(serving)
    archive.add_endpoint(
        name=SIGNATURE,
        fn=lambda image: serving(image, training=False),
        input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32, name=INPUT_NAME)],
    )
    with tempfile.TemporaryDirectory() as saved_model_dir:
        archive.write_out(saved_model_dir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[SIGNATURE])
        return converter.convert()


def run_surest(model_content: bytes, readings: list[list[np.ndarray]]) -> tuple[list[int], dict[str, np.ndarray]]:
    """Each upload's readings (float32 [28, 28] each) through the LiteRT model in one run:
    which reading of each the service answers (``networks.digit_cnn.surest``) and that
    reading's outputs, one row per upload (a model without ``digit`` counts all as digits)."""
    from recognizer.networks.digit_cnn import surest

    outputs = run_tflite(
        model_content, np.concatenate([np.stack(each) for each in readings]).astype(np.float32)[..., None]
    )
    if "digit" not in outputs:
        outputs["digit"] = np.ones((len(outputs["probs"]), 1), np.float32)
    chosen, rows, start = [], [], 0
    for each in readings:
        stop = start + len(each)
        best = surest(outputs["probs"][start:stop], outputs["digit"][start:stop])
        chosen.append(best)
        rows.append(start + best)
        start = stop
    return chosen, {name: values[rows] for name, values in outputs.items()}


def run_tflite(model_content: bytes, images: np.ndarray, batch_size: int = 500) -> dict[str, np.ndarray]:
    """All outputs of the LiteRT model for ``images`` float32 [N,28,28,1] (a model from before
    "not a digit" has no ``digit`` output: it is left out)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_content)
    runner = interpreter.get_signature_runner(SIGNATURE)
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in OUTPUT_SHAPES}
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].astype(np.float32)
        # The runner resizes the input tensor to each batch's size.
        outputs = runner(**{INPUT_NAME: batch})
        for name in OUTPUT_SHAPES:
            if name in outputs:
                chunks[name].append(outputs[name])
    return {name: np.concatenate(parts) for name, parts in chunks.items() if parts}


def check_export(serving: keras.Model, model_content: bytes, images: np.ndarray) -> ExportCheck:
    """Compare Keras and LiteRT outputs; raise ExportMismatch unless argmax agrees and probs within 1e-4."""
    reference = serving.predict(images, batch_size=500, verbose=0)
    lite = run_tflite(model_content, images)
    for name, shape in OUTPUT_SHAPES.items():
        if lite[name].shape[1:] != shape:
            raise ExportMismatch(f"LiteRT output {name} has shape {lite[name].shape}, expected [N,{shape}]")
        if not np.all(np.isfinite(lite[name])):
            raise ExportMismatch(f"LiteRT output {name} has non-finite values: the weights were not exported")
    check = ExportCheck(
        images=len(images),
        argmax_disagreements=int(np.sum(lite["probs"].argmax(1) != reference["probs"].argmax(1))),
        max_abs_prob_diff=float(max(np.abs(lite[n] - reference[n]).max() for n in ("probs", "digit"))),
        max_abs_conv_diff=float(max(np.abs(lite[n] - reference[n]).max() for n in ("conv1", "conv2"))),
    )
    if check.argmax_disagreements or check.max_abs_prob_diff >= 1e-4:
        raise ExportMismatch(f"LiteRT and Keras disagree: {check}")
    return check


def export_models(
    model: keras.Model, models_dir: Path, check_images: np.ndarray, temperature: float = 1.0
) -> ExportCheck:
    """Write digits.keras (the serving model) and digits.tflite into ``models_dir`` after
    verifying the LiteRT model against Keras."""
    return export_serving(build_serving_model(model, temperature), models_dir, check_images)


def export_serving(serving: keras.Model, models_dir: Path, check_images: np.ndarray) -> ExportCheck:
    """Write a serving model (``build_serving_model``'s outputs) as digits.keras and
    digits.tflite, after verifying the LiteRT model against Keras."""
    models_dir.mkdir(parents=True, exist_ok=True)
    content = tflite_bytes(serving)
    check = check_export(serving, content, check_images)
    serving.save(models_dir / DIGIT_KERAS)
    (models_dir / DIGIT_TFLITE).write_bytes(content)
    return check


def main(argv: list[str] | None = None) -> int:
    import argparse

    from training.data.mnist import load_mnist
    from training.data.splits import default_split

    parser = argparse.ArgumentParser(description="Export a trained digit network for serving.")
    parser.add_argument("--network", type=Path, required=True, help="the training model (training.fitting.train)")
    parser.add_argument("--data-dir", required=True, help="MNIST (its validation split checks the export)")
    parser.add_argument("--models-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    model = keras.saving.load_model(args.network, compile=False)
    mnist = load_mnist(args.data_dir)
    _, (val_images, _) = default_split(mnist.train.images, mnist.train.labels)
    check = export_models(model, args.models_dir, (val_images[:2000] / 255.0).astype(np.float32)[..., None])
    print(f"exported to {args.models_dir}: {check}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
