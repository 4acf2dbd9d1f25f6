"""Training inputs made as the service makes them: uploads of every kind, read by the service.

What the network is shown in use is not MNIST: it is a photo, a pencil scan, a marker on ruled
paper or a digit drawn in a few pixels, turned into 28x28 by the service's own decoding and
preprocessing. Here training sources are made into uploads of every kind of
``training.data.realistic.KINDS`` (and non-digits into uploads of
``training.evaluation.evaluate_non_digits.KINDS``) and read with
``recognizer.vision.readings.model_inputs``; every reading the service may answer is kept.

In: MNIST training-split digits, training fonts (never the evaluation's or the validation
fonts). Out: ``ServedSet``, float32 [N, 28, 28] network inputs in [0, 1] and labels (10: not a
digit). The seeds differ from the evaluation's (0) and the calibration's (31,337), and the
sources are disjoint from both, so the same kind generators make different uploads of
different digits.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.decoding import decode_for_recognition
from recognizer.errors import ClientError
from recognizer.settings import Settings
from recognizer.vision.readings import model_inputs
from training.data import non_digits, realistic
from training.data.non_digits import NOT_A_DIGIT

SEED = 90_210  # neither the evaluation's nor the calibration's


@dataclass(frozen=True)
class ServedSet:
    images: np.ndarray  # float32 [N, 28, 28], as the service feeds the network
    labels: np.ndarray  # int64 [N], 10 = not a digit
    kinds: list[str]  # the upload kind (or "not_digit:<family>") of each input


@dataclass(frozen=True)
class _Job:
    kind: str
    images: np.ndarray | None  # MNIST digits for this job, or None for fonts / non-digits
    labels: np.ndarray | None
    count: int
    fonts: tuple[Path, ...]
    seed: int
    family: str | None = None  # a non-digit family


def _read(data: bytes, settings: Settings) -> list[np.ndarray]:
    try:
        return model_inputs(decode_for_recognition(data, settings))
    except ClientError:
        return []  # refused before the network: nothing to learn from


def _run(job: _Job) -> tuple[list[np.ndarray], list[int], list[str]]:
    from training.evaluation import evaluate_non_digits

    settings = Settings()
    images: list[np.ndarray] = []
    labels: list[int] = []
    if job.family is not None:
        items = evaluate_non_digits.items(
            job.family, job.count, list(job.fonts), seed=job.seed, style=non_digits.TRAINING_STYLE
        )
        uploads = [(NOT_A_DIGIT, item.data) for item in items]
        group = f"not_digit:{job.family}"
    elif job.images is not None and job.labels is not None:
        samples = realistic.mnist_samples(job.kind, job.images, job.labels, job.count, seed=job.seed)
        uploads = [(sample.label, sample.data) for sample in samples]
        group = job.kind
    else:
        samples = realistic.font_samples(job.kind, job.count, list(job.fonts), seed=job.seed)
        uploads = [(sample.label, sample.data) for sample in samples]
        group = job.kind
    for label, data in uploads:
        for reading in _read(data, settings):
            images.append(reading)
            labels.append(label)
    return images, labels, [group] * len(labels)


def _jobs(
    images: np.ndarray,
    labels: np.ndarray,
    per_kind: int,
    font_per_kind: int,
    fonts: list[Path],
    non_digit_per_family: int,
    seed: int,
) -> list[_Job]:
    rng = np.random.default_rng(seed)
    jobs = []
    for index, kind in enumerate(realistic.KINDS):
        chosen = rng.choice(len(images), size=min(per_kind, len(images)), replace=False)
        # Chunks of 250 keep both workers busy to the end.
        for start in range(0, len(chosen), 250):
            part = chosen[start : start + 250]
            jobs.append(_Job(kind, images[part], labels[part], len(part), (), seed + 1000 * index + start))
        if fonts and font_per_kind:
            jobs.append(_Job(kind, None, None, font_per_kind, tuple(fonts), seed + 1000 * index + 999))
    if non_digit_per_family:
        from training.evaluation import evaluate_non_digits

        for index, family in enumerate(evaluate_non_digits.FAMILIES):
            if family in ("letters", "symbols") and not fonts:
                continue
            jobs.append(_Job("", None, None, non_digit_per_family, tuple(fonts), seed + 77 * index, family))
    return jobs


def served_set(
    images: np.ndarray,
    labels: np.ndarray,
    per_kind: int,
    font_per_kind: int,
    fonts: list[Path],
    non_digit_per_family: int = 0,
    seed: int = SEED,
    workers: int = 2,
) -> ServedSet:
    """``per_kind`` uploads of every kind from random ``images`` (MNIST training-split digits,
    uint8 [N, 28, 28]) and ``font_per_kind`` from ``fonts``, and ``non_digit_per_family``
    non-digits of every family (letters and symbols from ``fonts``), each read as the service
    reads it. Deterministic for a seed, whatever ``workers``."""
    jobs = _jobs(images, labels, per_kind, font_per_kind, fonts, non_digit_per_family, seed)
    out_images: list[np.ndarray] = []
    out_labels: list[int] = []
    out_kinds: list[str] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for part_images, part_labels, part_kinds in pool.map(_run, jobs):
            out_images.extend(part_images)
            out_labels.extend(part_labels)
            out_kinds.extend(part_kinds)
    if not out_images:
        return ServedSet(np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64), [])
    return ServedSet(np.stack(out_images).astype(np.float32), np.asarray(out_labels, np.int64), out_kinds)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    from training.data import font_digits
    from training.data.mnist import load_mnist
    from training.data.splits import default_split

    parser = argparse.ArgumentParser(description="Make training inputs as the service reads uploads.")
    parser.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--output", type=Path, required=True, help=".npz: images uint8 [N, 28, 28], labels, kinds")
    parser.add_argument("--per-kind", type=int, default=700, help="uploads of each kind from MNIST training digits")
    parser.add_argument("--font-per-kind", type=int, default=200, help="uploads of each kind from training fonts")
    parser.add_argument("--non-digits-per-family", type=int, default=400)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    mnist = load_mnist(args.data_dir)
    (images, labels), _ = default_split(mnist.train.images, mnist.train.labels)
    fonts = font_digits.installed(font_digits.TRAINING_FONTS)
    started = time.monotonic()
    made = served_set(images, labels, args.per_kind, args.font_per_kind, fonts, args.non_digits_per_family, args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.output,
        images=np.rint(made.images * 255).astype(np.uint8),
        labels=made.labels,
        kinds=np.asarray(made.kinds),
    )
    print(f"{len(made.labels)} served inputs in {time.monotonic() - started:.0f} s -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
