"""Rows of training digits as the row reader sees them, with their numbers, for training it.

Rows come from ``training.data.rows`` (paper, pencil, photos, ruled lines, touching and
overlapping digits, rows at an angle, MNIST strips), made from training-split digits only; a
share of them have signs written in (a minus, a decimal point or comma), dots of dirt, or a
mark that is no digit (labelled as nothing: the reader learns to leave it out). Each
is decoded and mapped to ink as the service does (``row_parts.pieces_as_served``: its ink map
and its pieces), then the row's band of ink scaled into the row reader's strip
(``recognizer.vision.rows.strip``: ``row_band``, ``row_strip``).

    python -m training.data.row_strips --data-dir ../shared/data/mnist --rows 40000 --output /tmp/strips.npz

(``training.fitting.train_row_reader`` calls ``strip_set`` itself; the command is for inspecting a set.)
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.vision.rows.pieces import row_groups, row_height
from recognizer.vision.rows.skew import levelling
from recognizer.vision.rows.strip import STRIP_HEIGHT, STRIP_WIDTH, Strip, row_band, row_strip
from training.data.row_parts import pieces_as_served
from training.data.rows import make_rows

REPO = Path(__file__).resolve().parents[2]

# Touching and overlapping digits are where the row reader earns its place: those rows come most often.
STRIP_KINDS = (
    "touching",
    "close",
    "overlapping",
    "ruled",
    "touching",
    "photo",
    "angled",
    "overlapping",
    "spaced",
    "mnist_strip",
    "touching",
    "close",
)
SIGNED_SHARE = 0.35  # rows with signs written in
DIRTY_SHARE = 0.2  # rows with dots of dirt that are no sign
STRAY_SHARE = 0.15  # rows with a mark that is no digit (a letter, a "#", a scribble), read as nothing


@dataclass(frozen=True)
class StripSet:
    strips: np.ndarray  # float32 [N, STRIP_HEIGHT, STRIP_WIDTH]
    numbers: list[str]  # each row's true number


def strip_of_row(data: bytes, boxes) -> Strip | None:
    """A row image file as the row reader's strip, turned level first as the service turns it
    (None: the service finds no ink in it)."""
    pieces = pieces_as_served(data, boxes)
    if pieces is None:
        return None
    ink, groups, height = pieces.ink, pieces.groups, pieces.height
    turn = levelling(ink)
    if turn is not None:
        ink = turn.apply(ink)
        groups = row_groups(ink)
        if not groups:
            return None
        height = row_height(groups)
    return row_strip(ink, row_band(ink, [group.box for group in groups], height), height)


def _strips_of(
    job: tuple[np.ndarray, np.ndarray, int, int, float, tuple[str, ...]],
) -> tuple[list[np.ndarray], list[str]]:
    images, labels, count, seed, strays, kinds = job
    strips, numbers = [], []
    made = make_rows(images, labels, count, kinds, seed=seed, signs=SIGNED_SHARE, dirt=DIRTY_SHARE, strays=strays)
    for row in made:
        strip = strip_of_row(row.data, row.boxes)
        if strip is not None:
            strips.append(strip.pixels)
            numbers.append(row.number)
    return strips, numbers


def strip_set(
    images: np.ndarray,
    labels: np.ndarray,
    rows: int,
    seed: int,
    workers: int = 2,
    strays: float = STRAY_SHARE,
    kinds: tuple[str, ...] = STRIP_KINDS,
) -> StripSet:
    """``rows`` rows of the given (training) digits as strips, seeded, of ``kinds`` in turn
    (a kind named twice comes twice as often), a share ``strays`` of them with a stray mark;
    made in ``workers`` processes."""
    chunk = -(-rows // max(1, workers))
    jobs = [
        (images, labels, min(chunk, rows - start), seed * 1000 + start, strays, kinds)
        for start in range(0, rows, chunk)
    ]
    strips: list[np.ndarray] = []
    numbers: list[str] = []
    if len(jobs) == 1:  # one worker: made here, no process to start
        parts = [_strips_of(jobs[0])]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_strips_of, jobs))
    for part_strips, part_numbers in parts:
        strips += part_strips
        numbers += part_numbers
    pixels = np.stack(strips) if strips else np.zeros((0, STRIP_HEIGHT, STRIP_WIDTH), np.float32)
    return StripSet(pixels.astype(np.float32), numbers)


def main(argv: list[str] | None = None) -> int:
    from training.data.mnist import load_from_dir
    from training.data.splits import default_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=("train", "val"), default="train")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2, help="processes making rows")
    parser.add_argument("--strays", type=float, default=STRAY_SHARE, help="share of rows with a stray mark")
    parser.add_argument(
        "--kinds", nargs="+", default=list(STRIP_KINDS), help="row kinds, in turn (name one twice for twice as many)"
    )
    args = parser.parse_args(argv)
    mnist = load_from_dir(args.data_dir)
    training, validation = default_split(mnist.train.images, mnist.train.labels)
    chosen = training if args.split == "train" else validation
    made = strip_set(*chosen, args.rows, args.seed, workers=args.workers, strays=args.strays, kinds=tuple(args.kinds))
    np.savez_compressed(args.output, strips=made.strips, numbers=np.asarray(made.numbers))
    print(f"{len(made.numbers)} strips -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
