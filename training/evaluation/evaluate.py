"""Evaluate the LiteRT model on the official MNIST test set: accuracy, per class, confusion matrix.

``python -m training.evaluation.evaluate --data-dir DIR`` re-checks the committed model (the test
digits as they are, and uploaded through the service); ``--write`` writes metrics.json and
confusion_matrix.png (``training.pipeline``'s ``metrics`` step).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from training.data.mnist import DatasetNotFound, IdxError, load_mnist

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def mnist_batch(images: np.ndarray) -> np.ndarray:
    """MNIST uint8 images [N, 28, 28] as the network's input: float32 [N, 28, 28, 1] in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[..., None]


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (labels.astype(int), predicted.astype(int)), 1)
    return matrix


def classification_report(labels: np.ndarray, predicted: np.ndarray) -> dict:
    matrix = confusion_matrix(labels, predicted)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    return {
        "test_images": len(labels),
        "test_accuracy": float(np.mean(labels == predicted)),
        "per_class_accuracy": {str(d): round(float(a), 4) for d, a in enumerate(per_class)},
        "confusion_matrix": matrix.tolist(),
    }


def plot_confusion_matrix(matrix: np.ndarray, accuracy: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=110)
    shown = np.log1p(matrix)
    ax.imshow(shown, cmap="Blues")
    for true in range(10):
        for pred in range(10):
            count = matrix[true, pred]
            if count:
                colour = "white" if shown[true, pred] > shown.max() * 0.6 else "black"
                ax.text(pred, true, str(count), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(f"MNIST test set, LiteRT model: {accuracy:.2%} correct")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate_tflite(model_path: Path, test_images: np.ndarray, test_labels: np.ndarray) -> dict:
    from training.export import run_tflite

    probs = run_tflite(model_path.read_bytes(), mnist_batch(test_images))["probs"]
    return classification_report(test_labels, probs.argmax(axis=1))


def as_uploads(images: np.ndarray) -> list[list[np.ndarray]]:
    """Each test digit sent as a PNG (white on black, 28x28) and read as the service reads it."""
    from PIL import Image

    from recognizer.decoding import decode_for_recognition
    from recognizer.errors import ClientError
    from recognizer.settings import Settings
    from recognizer.vision.readings import model_inputs

    settings = Settings()
    readings = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        try:
            readings.append(model_inputs(decode_for_recognition(buffer.getvalue(), settings)))
        except ClientError:
            readings.append([np.zeros((28, 28), np.float32)])  # "no digit found": a miss
    return readings


def test_figures(models_dir: Path, images: np.ndarray, labels: np.ndarray) -> dict:
    """The network on the test set as it is, and as the service answers the same digits
    uploaded (its preprocessing, the reading it is surest of, "not a digit" counted a miss)."""
    from recognizer.networks.digit_cnn import load_not_digit_thresholds
    from training.export import run_surest, run_tflite

    model = (models_dir / "digits.tflite").read_bytes()
    threshold = load_not_digit_thresholds(models_dir / "digits.json").alone
    raw = run_tflite(model, mnist_batch(images))
    report = classification_report(labels, raw["probs"].argmax(axis=1))
    report["test_refused_as_not_digit"] = float(np.mean(raw["digit"][:, 0] < threshold))
    _, served = run_surest(model, as_uploads(images))
    read = served["probs"].argmax(axis=1)
    refused = served["digit"][:, 0] < threshold
    report["as_served"] = {
        "accuracy": float(np.mean(read == labels)),
        "accuracy_refusals_as_misses": float(np.mean((read == labels) & ~refused)),
        "refused_as_not_digit": float(np.mean(refused)),
        "how": "each test digit uploaded as a 28x28 PNG and read as the service reads it",
    }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: keras.datasets.mnist)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--write", action="store_true", help="write metrics.json and confusion_matrix.png")
    parser.add_argument("--network-report", type=Path, help="the training run's network.json, kept in metrics.json")
    args = parser.parse_args(argv)
    try:
        mnist = load_mnist(args.data_dir)
    except (DatasetNotFound, IdxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = test_figures(args.models_dir, mnist.test.images, mnist.test.labels)
    print(json.dumps({k: v for k, v in report.items() if k != "confusion_matrix"}, indent=2))
    if args.write:
        tflite = args.models_dir / "digits.tflite"
        metrics = {
            "model": "models/digits.tflite",
            **report,
            "tflite_bytes": tflite.stat().st_size,
            "tflite_sha256": hashlib.sha256(tflite.read_bytes()).hexdigest(),
            "how": "the LiteRT model on the official MNIST test set (t10k, 10,000 images), scored once after "
            "training and calibration; nothing was chosen on it",
            "training": json.loads(args.network_report.read_text()) if args.network_report else None,
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "command": "python -m training.evaluation.evaluate " + " ".join(sys.argv[1:] if argv is None else argv),
        }
        (args.models_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        plot_confusion_matrix(
            np.array(report["confusion_matrix"]), report["test_accuracy"], args.models_dir / "confusion_matrix.png"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
