"""Accuracy per kind of realistic upload, through the real decoding + preprocessing + LiteRT model.

    python -m training.evaluation.evaluate_preprocessing [--data-dir ../shared/data/mnist] [--per-kind 500]

For every kind in ``training.data.realistic.KINDS`` it renders ``--per-kind`` uploads from MNIST test
digits (the same digits for every kind) and as many from handwriting-style fonts (when any are
installed), reads each one as the service does (``decode_for_recognition``, then
``readings.model_inputs`` and the reading the network is surest of) and as the original app did (grey, resize to 28x28, divide by 255), and
prints and writes (``models/preprocessing_eval.json``) the accuracy of both and the time our
reading took.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from recognizer.decoding import decode_for_recognition
from recognizer.errors import ClientError
from recognizer.networks.digit_cnn import THRESHOLD_FILE, load_not_digit_thresholds
from recognizer.settings import Settings
from recognizer.vision.readings import model_inputs
from training.calibration.measures import expected_calibration_error
from training.data import realistic
from training.data.mnist import TEST_IMAGE_NAMES, TEST_LABEL_NAMES, load_idx
from training.export import run_surest

REPO = Path(__file__).resolve().parents[2]

DEFAULT_OUTPUT = REPO / "models" / "preprocessing_eval.json"


@dataclass
class Tally:
    """Predictions for one (kind, source): ours and the original app's naive pipeline."""

    labels: list[int] = field(default_factory=list)
    ours: list[list[np.ndarray]] = field(default_factory=list)  # each upload's readings
    ours_refused: list[bool] = field(default_factory=list)
    naive: list[np.ndarray] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def naive_input(data: bytes) -> np.ndarray:
    """What the original app fed its model: grey, squashed to 28x28, divided by 255."""
    try:
        image = Image.open(io.BytesIO(data)).convert("L").resize((28, 28))
        return np.asarray(image, dtype=np.float32) / 255.0
    except Exception:  # the original app answered 500; count it as wrong
        return np.zeros((28, 28), dtype=np.float32)


def our_input(data: bytes, settings: Settings) -> tuple[list[np.ndarray], bool, float, float]:
    """Our readings (the service answers the one the network is surest of), refused, wall
    seconds, CPU seconds of this thread. A refusal (no digit found...) counts as wrong. CPU
    time is the fairer figure on a shared machine."""
    start, start_cpu = time.perf_counter(), time.thread_time()
    try:
        readings = model_inputs(decode_for_recognition(data, settings))  # as the service decodes
        refused = False
    except ClientError:
        readings, refused = [np.zeros((28, 28), dtype=np.float32)], True
    return readings, refused, time.perf_counter() - start, time.thread_time() - start_cpu


def _format_of(data: bytes) -> str:
    try:
        image = Image.open(io.BytesIO(data))
        return f"{image.format}/{image.mode}"
    except Exception:
        return "?"


def collect(samples, tally: Tally, settings: Settings) -> None:
    for sample in samples:
        x, refused, seconds, cpu_seconds = our_input(sample.data, settings)
        tally.labels.append(sample.label)
        tally.ours.append(x)
        tally.ours_refused.append(refused)
        tally.naive.append(naive_input(sample.data))
        tally.seconds.append(seconds)
        tally.cpu_seconds.append(cpu_seconds)
        tally.formats.append(_format_of(sample.data))
        tally.sources.append(sample.source)


@dataclass(frozen=True)
class Model:
    """A digit model file and its "not a digit" threshold (0: a model that never refuses)."""

    content: bytes
    not_digit_below: float

    @classmethod
    def load(cls, path: Path) -> Model:
        threshold_file = path.with_name(THRESHOLD_FILE)
        threshold = load_not_digit_thresholds(threshold_file).alone if threshold_file.is_file() else 0.0
        return cls(path.read_bytes(), threshold)

    def answers(self, inputs: list[list[np.ndarray]]) -> Answers:
        """One answer per upload: of its readings, the one the network is surest of (as served)."""
        _, outputs = run_surest(self.content, inputs)
        probs, digit = outputs["probs"], outputs["digit"][:, 0]
        return Answers(probs.argmax(1), probs.max(1) * digit, digit < self.not_digit_below)


@dataclass(frozen=True)
class Answers:
    predicted: np.ndarray  # [N] the closest digit
    confidence: np.ndarray  # [N] in [0, 1], as the API gives it (divided by 100)
    not_digit: np.ndarray  # [N] bool: answered "not a digit"

    def right(self, labels: np.ndarray) -> np.ndarray:
        """A digit answered "not a digit" is a miss."""
        return (self.predicted == labels) & ~self.not_digit


def accuracy(model: Model, inputs: list[list[np.ndarray]], labels: np.ndarray) -> tuple[float, Answers]:
    answers = model.answers(inputs)
    return float(answers.right(labels).mean()), answers


def summarise(model: Model, tally: Tally) -> dict:
    labels = np.asarray(tally.labels)
    ours, answers = accuracy(model, tally.ours, labels)
    predicted = np.where(answers.not_digit, -1, answers.predicted)
    naive, _ = accuracy(model, [[x] for x in tally.naive], labels)
    ms = np.asarray(tally.seconds) * 1000
    cpu_ms = np.asarray(tally.cpu_seconds) * 1000
    wrong = np.flatnonzero(predicted != labels)
    by_format: dict[str, list[int]] = {}
    by_source: dict[str, list[int]] = {}
    for fmt, source, right in zip(tally.formats, tally.sources, predicted == labels, strict=True):
        by_format.setdefault(fmt, []).append(int(right))
        by_source.setdefault(source, []).append(int(right))
    return {
        "n": len(labels),
        "accuracy": round(ours, 4),
        "naive_accuracy": round(naive, 4),
        "refused": int(np.sum(tally.ours_refused)),
        "not_digit": round(float(np.mean(answers.not_digit & ~np.asarray(tally.ours_refused))), 4),
        "ece": round(expected_calibration_error(answers.confidence, answers.predicted == labels), 4),
        # Wrong and sure of it: the answers a person would believe (the API's confidence > 90%).
        "confident_wrong": round(float(np.mean((answers.predicted != labels) & (answers.confidence > 0.9))), 4),
        "ms_p50": round(float(np.percentile(ms, 50)), 2),
        "ms_p95": round(float(np.percentile(ms, 95)), 2),
        "cpu_ms_p50": round(float(np.percentile(cpu_ms, 50)), 2),
        "cpu_ms_p95": round(float(np.percentile(cpu_ms, 95)), 2),
        "by_format": {k: {"n": len(v), "accuracy": round(float(np.mean(v)), 4)} for k, v in sorted(by_format.items())},
        "by_source": {k: {"n": len(v), "accuracy": round(float(np.mean(v)), 4)} for k, v in sorted(by_source.items())},
        "wrong": [{"index": int(i), "label": int(labels[i]), "predicted": int(predicted[i])} for i in wrong[:50]],
    }


def load_test_set(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    def find(names: tuple[str, ...]) -> Path:
        for name in names:
            for candidate in (data_dir / f"{name}.gz", data_dir / name):
                if candidate.is_file():
                    return candidate
        raise SystemExit(f"{data_dir}: no {names[0]}[.gz]; pass --data-dir with the MNIST test set")

    return load_idx(find(TEST_IMAGE_NAMES)), load_idx(find(TEST_LABEL_NAMES))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--per-kind", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", nargs="*", default=list(realistic.KINDS), choices=list(realistic.KINDS))
    parser.add_argument("--no-fonts", action="store_true", help="MNIST digits only")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "digits.tflite")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    images, labels = load_test_set(args.data_dir)
    chosen = np.random.default_rng(args.seed).permutation(len(images))[: args.per_kind]
    images, labels = images[chosen], labels[chosen]
    fonts = [] if args.no_fonts else realistic.handwriting_fonts()
    model = Model.load(args.model)
    settings = Settings.from_env()

    results: dict[str, dict[str, dict]] = {}
    header = (
        f"{'kind':<20} {'MNIST ours':>10} {'naive':>7} {'fonts ours':>10} {'naive':>7}"
        f" {'ms p50':>7} {'ms p95':>7} {'cpu p50':>7}"
    )
    print(header)
    print("-" * len(header))
    for kind in args.kinds:
        results[kind] = {}
        tally = Tally()
        collect(realistic.mnist_samples(kind, images, labels, args.per_kind, seed=args.seed), tally, settings)
        results[kind]["mnist"] = summarise(model, tally)
        if fonts:
            tally_fonts = Tally()
            collect(realistic.font_samples(kind, args.per_kind, fonts, seed=args.seed), tally_fonts, settings)
            results[kind]["fonts"] = summarise(model, tally_fonts)
        row = results[kind]
        fonts_cols = (
            f"{row['fonts']['accuracy']:>10.2%} {row['fonts']['naive_accuracy']:>7.2%}"
            if "fonts" in row
            else f"{'-':>10} {'-':>7}"
        )
        print(
            f"{kind:<20} {row['mnist']['accuracy']:>10.2%} {row['mnist']['naive_accuracy']:>7.2%} {fonts_cols}"
            f" {row['mnist']['ms_p50']:>7.2f} {row['mnist']['ms_p95']:>7.2f} {row['mnist']['cpu_ms_p50']:>7.2f}",
            flush=True,
        )

    report = {
        "command": "python -m training.evaluation.evaluate_preprocessing "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": str(args.model.relative_to(REPO) if args.model.is_relative_to(REPO) else args.model),
        "model_sha256": hashlib.sha256(args.model.read_bytes()).hexdigest(),
        "not_digit_below": model.not_digit_below,
        "scoring": "accuracy counts a digit answered 'not a digit' as a miss; not_digit is the share so answered; "
        "ece: expected calibration error (15 bins) of the confidence the API gives",
        "per_kind": args.per_kind,
        "seed": args.seed,
        "mnist_test_indices": "numpy.random.default_rng(seed).permutation(10000)[:per_kind]",
        "fonts": [f.name for f in fonts],
        "naive": "Image.convert('L').resize((28, 28)) / 255, as the original app",
        "timing": "ms per image (MNIST-made uploads) for decode_for_recognition + model_inputs: wall and this thread's CPU",
        "kinds": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
