"""How well rows of digits are read: whole numbers exactly right, by length and by kind.

    python -m training.evaluation.evaluate_rows --data-dir ../shared/data/mnist [--rows 1000] [--seed 0] [--source test|train|val]

Builds ``--rows`` rows of 2 to 6 MNIST *test* digits (``--source train``: the training digits,
``train-10k``, on which the segmentation's thresholds and weights are tuned; ``--source val``: only
its 1,000 validation-split digits, which no model was trained on, for choosing between models) on paper (``training.data.rows``: spaced,
close, touching, ruled, photo, MNIST strips; kinds in turn, seeded), reads each one as
``POST /api/predict/multi`` does (``Recognizer.read_row`` on the decoded upload,
the committed LiteRT model, nothing stored), and prints and writes
(``models/rows_eval.json``) the share of rows whose whole number is exactly right, overall,
by length and by kind, and the share whose digit count is right.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recognizer.errors import ClientError
from recognizer.networks import DIGIT_TFLITE, ROW_READER_FILE
from recognizer.service import Recognizer
from recognizer.settings import Settings
from training.data import rows as row_kinds
from training.data.mnist import load_from_dir
from training.data.splits import default_split

REPO = Path(__file__).resolve().parents[2]

DEFAULT_OUTPUT = REPO / "models" / "rows_eval.json"
SOURCES = {
    "test": "MNIST test set (t10k), digits drawn at random per row, seeded",
    "train": "MNIST training set (train-10k: what the segmentation is tuned on), digits drawn at random per row, seeded",
    "val": "the validation split of the MNIST training set (the 1,000 train-10k images training.fitting.train holds out; "
    "for choosing between models), digits drawn at random per row, seeded",
}


def read_number(recognizer: Recognizer, data: bytes) -> tuple[str, list[list[int]], int]:
    """The number the service reads in an image file ('' when none), the boxes of the digits
    in it, and how many marks it left out as not digits."""
    try:
        answer = recognizer.read_row(data)
    except ClientError:
        return "", [], 0
    left_out = sum(not digit.is_digit for digit in answer.digits)
    return answer.number, [digit.box for digit in answer.digits if digit.is_digit], left_out


def boxes_match(found: list[list[int]], truth: Sequence[Sequence[int]]) -> bool:
    """Every digit found where it is: as many boxes, each overlapping its own by IoU >= 0.5."""
    return len(found) == len(truth) and all(row_kinds.box_iou(f, t) >= 0.5 for f, t in zip(found, truth, strict=True))


def _share(values: list[bool]) -> dict:
    return {"n": len(values), "exact": round(float(np.mean(values)), 4) if values else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", nargs="*", default=list(row_kinds.FIRST_KINDS), choices=list(row_kinds.KINDS))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--failures", type=Path, help="write the misread rows' images here")
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="test",
        help="digits from the MNIST test set (the reported figure), the training set (for tuning the segmentation) "
        "or its validation split (for choosing between models: no model trained on those digits)",
    )
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    recognizer = Recognizer.from_settings(settings, store=None)
    mnist = load_from_dir(args.data_dir)
    if args.source == "test":
        images, labels = mnist.test.images, mnist.test.labels
    elif args.source == "train":
        images, labels = mnist.train.images, mnist.train.labels
    else:
        _, (images, labels) = default_split(mnist.train.images, mnist.train.labels)
    exact: list[bool] = []
    count_right: list[bool] = []
    segmented: list[bool] = []
    by_length: dict[int, list[bool]] = defaultdict(list)
    by_kind: dict[str, list[bool]] = defaultdict(list)
    seconds: list[float] = []
    wrong: list[dict] = []
    refused: list[int] = []
    if args.failures:
        args.failures.mkdir(parents=True, exist_ok=True)
    rows = row_kinds.make_rows(images, labels, args.rows, tuple(args.kinds), seed=args.seed)
    for index, row in enumerate(rows):
        started = time.perf_counter()
        read, boxes, left_out = read_number(recognizer, row.data)
        seconds.append(time.perf_counter() - started)
        refused.append(left_out)
        right = read == row.number
        exact.append(right)
        count_right.append(sum(c.isdigit() for c in read) == sum(c.isdigit() for c in row.number))
        segmented.append(boxes_match(boxes, row.boxes))
        by_length[sum(c.isdigit() for c in row.number)].append(right)
        by_kind[row.kind].append(right)
        if not right:
            wrong.append(
                {"index": index, "kind": row.kind, "number": row.number, "read": read, "segmented": segmented[-1]}
            )
            if args.failures:
                suffix = "png" if row.data.startswith(b"\x89PNG") else "jpg"
                name = f"{index:05d}_{row.kind}_{row.number}_read{read or 'none'}{'' if segmented[-1] else '_seg'}"
                (args.failures / f"{name}.{suffix}").write_bytes(row.data)

    ms = np.asarray(seconds) * 1000
    model = settings.model_dir / DIGIT_TFLITE  # the model read_row used (MODEL_DIR may point elsewhere)
    reader = settings.model_dir / ROW_READER_FILE
    reader_used = settings.row_reader and reader.is_file()
    report = {
        "command": "python -m training.evaluation.evaluate_rows "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "rows": len(exact),
        "seed": args.seed,
        "source": SOURCES[args.source],
        "model": str(model.relative_to(REPO)) if model.is_relative_to(REPO) else str(model),
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest() if model.is_file() else None,
        "row_reader_sha256": hashlib.sha256(reader.read_bytes()).hexdigest() if reader_used else None,
        "exact_number_accuracy": round(float(np.mean(exact)), 4),
        "digit_count_accuracy": round(float(np.mean(count_right)), 4),
        "segmentation_accuracy": round(float(np.mean(segmented)), 4),
        "segmentation": "rows whose digits were all found where they are (box IoU >= 0.5 each)",
        "marks_left_out_as_not_digits": int(np.sum(refused)),
        "rows_with_a_mark_left_out": round(float(np.mean(np.asarray(refused) > 0)), 4),
        "by_length": {str(k): _share(v) for k, v in sorted(by_length.items())},
        "by_kind": {k: _share(v) for k, v in by_kind.items()},
        "ms_per_row_p50": round(float(np.percentile(ms, 50)), 1),
        "ms_per_row_p95": round(float(np.percentile(ms, 95)), 1),
        "timing": "decode + segmentation + the networks' forward passes, per row on this machine (shared CPU)",
        "wrong": wrong[:100],
    }
    print(
        f"rows {report['rows']}: whole number exact {report['exact_number_accuracy']:.2%}, "
        f"digit count right {report['digit_count_accuracy']:.2%}, "
        f"every digit found where it is {report['segmentation_accuracy']:.2%}"
    )
    print("by length: " + ", ".join(f"{k}: {v['exact']:.2%} (n={v['n']})" for k, v in report["by_length"].items()))
    print("by kind:   " + ", ".join(f"{k}: {v['exact']:.2%} (n={v['n']})" for k, v in report["by_kind"].items()))
    print(
        f"marks left out as not digits: {report['marks_left_out_as_not_digits']} (rows: {report['rows_with_a_mark_left_out']:.2%})"
    )
    print(f"ms per row: p50 {report['ms_per_row_p50']}, p95 {report['ms_per_row_p95']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
