"""Evaluate the LiteRT model on the official MNIST test set: accuracy, per class, confusion matrix.

``python -m training.evaluation.evaluate --data-dir ../shared/data/mnist`` re-checks the committed model.
"""

from __future__ import annotations

import argparse
import json
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: keras.datasets.mnist)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    args = parser.parse_args(argv)
    try:
        mnist = load_mnist(args.data_dir)
    except (DatasetNotFound, IdxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate_tflite(args.models_dir / "digits.tflite", mnist.test.images, mnist.test.labels)
    print(json.dumps({k: v for k, v in report.items() if k != "confusion_matrix"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
