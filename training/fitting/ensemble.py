"""Serve several trained digit networks as one: their logits averaged in one graph.

    python -m training.fitting.ensemble --data-dir ../shared/data/mnist --members RUN_DIR [RUN_DIR ...] \\
        [--models-dir models]

Each RUN_DIR is a ``training.fitting.train --models-dir`` output (its ``digits.keras``). Writes
``digits.keras`` and ``digits.tflite`` (the same signature as one network: conv1 and conv2 are the
first member's), then calibrates them (``training.calibration.calibrate``: temperature and "not a digit"
threshold, on validation uploads), then scores the result once on the official test set for
``metrics.json`` and ``confusion_matrix.png``. Members must share the validation split
(``training.fitting.train``'s default seed), or calibration would see digits a member trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recognizer.networks.digit_cnn import load_not_digit_thresholds
from recognizer.settings import REPO_MODELS
from training.data.mnist import load_mnist
from training.data.splits import default_split
from training.evaluation.evaluate import classification_report, mnist_batch, plot_confusion_matrix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files")
    parser.add_argument("--members", nargs="+", type=Path, required=True, help="training run folders")
    parser.add_argument(
        "--digit-only",
        nargs="*",
        type=Path,
        default=[],
        help="ten-class digits.keras files from before 'not a digit': they vote on which digit only",
    )
    parser.add_argument("--models-dir", type=Path, default=REPO_MODELS)
    parser.add_argument("--per-kind", type=int, default=200, help="validation uploads per kind for calibrating")
    parser.add_argument("--max-refused", type=float, default=0.008)
    args = parser.parse_args(argv)

    import keras

    from training.calibration.calibrate import calibrate
    from training.export import export_serving, run_tflite
    from training.fitting.model import ensemble_serving_model

    mnist = load_mnist(args.data_dir)
    members = [keras.saving.load_model(folder / "digits.keras", compile=False) for folder in args.members]
    digit_only = tuple(keras.saving.load_model(path, compile=False) for path in args.digit_only)
    serving = ensemble_serving_model(members, digit_only)
    x_test = mnist_batch(mnist.test.images)
    export_serving(serving, args.models_dir, x_test[:2000])
    calibration = calibrate(args.models_dir, args.data_dir, args.per_kind, args.max_refused)

    outputs = run_tflite((args.models_dir / "digits.tflite").read_bytes(), x_test)
    threshold = load_not_digit_thresholds(args.models_dir / "digits.json").alone
    report = classification_report(mnist.test.labels, outputs["probs"].argmax(axis=1))
    _, (val_images, val_labels) = default_split(mnist.train.images, mnist.train.labels)
    val = run_tflite((args.models_dir / "digits.tflite").read_bytes(), mnist_batch(val_images))
    metrics = {
        "model": "models/digits.tflite",
        **report,
        "test_refused_as_not_digit": float(np.mean(outputs["digit"][:, 0] < threshold)),
        "validation": {
            "mnist_accuracy": float(np.mean(val["probs"].argmax(1) == val_labels)),
            "temperature": calibration["temperature"],
            "not_digit_below": threshold,
        },
        "members": [json.loads((folder / "metrics.json").read_text()) for folder in args.members],
        "how": (
            "an ensemble: the members' logits averaged in one LiteRT graph, calibrated on validation uploads "
            "(training.calibration.calibrate); the official MNIST test set (t10k) scored once, after"
        ),
        "tflite_bytes": (args.models_dir / "digits.tflite").stat().st_size,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "command": "python -m training.fitting.ensemble " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    for member in metrics["members"]:
        member.pop("confusion_matrix", None)
    (args.models_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion_matrix(
        np.array(report["confusion_matrix"]), report["test_accuracy"], args.models_dir / "confusion_matrix.png"
    )
    print(
        f"validation MNIST {metrics['validation']['mnist_accuracy']:.4f}; test accuracy {report['test_accuracy']:.4f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
