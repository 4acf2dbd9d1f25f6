"""Fit the digit probe: how likely a piece cut from a row of digits is exactly one digit.

    python -m training.fitting.fit_digit_probe --data-dir ../shared/data/mnist [--rows 3000] [--seed 1]

The network reads anything squeezed into 28x28 as some digit, often confidently: two touching
digits, or half of a wide one. Whether to cut a clump of ink, and where, is decided by a
small neural network (one hidden layer, fitted with Keras, run in NumPy by the service) over what the network's convolution layers made of each candidate part
(pooled maps, probabilities) and the part's shape (``recognizer.vision.rows.choose.FEATURES``).

It is fitted on rows made from MNIST *training* digits (``training.data.rows``, the same kinds as
the evaluation, never the test set): every candidate part the segmentation considers is
labelled one digit or not from the rows' true digit boxes. A fifth of the rows is held out to
report how often clumps are then cut into the right parts, and read as the right digits. Writes ``models/digit_probe.json``
for the current ``models/digits.tflite`` (its SHA-256 is recorded: after retraining the model,
fit the probe again; until then the service cuts touching digits by shape only).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.networks import DIGIT_TFLITE
from recognizer.networks.digit_cnn import load_digit_model
from recognizer.networks.probe import PROBE_FILE, DigitProbe
from recognizer.settings import Settings
from recognizer.vision.rows.choose import (
    FEATURES,
    CutOptions,
    ModelRunner,
    choose_parts,
    cut_options,
)
from recognizer.vision.rows.cuts import stroke_px
from recognizer.vision.rows.pieces import may_hold_several, typical_width
from training.data.mnist import load_from_dir
from training.data.row_parts import pieces_as_served
from training.data.rows import KINDS, covered_digit, make_rows

REPO = Path(__file__).resolve().parents[2]

MATCH_IOU = 0.5  # a part is a digit when it overlaps one true digit box this much, and no other
READ_FROM = FEATURES.index("log_p0")  # where a part's ten log-probabilities start
# Rows that hold clumps of touching digits teach the probe most: those kinds come more often.
FIT_KINDS = ("spaced", "close", "touching", "touching", "ruled", "photo", "mnist_strip", "touching", "close")


@dataclass
class Clump:
    """A piece of a row that may hold several digits: its options and the true digits in it."""

    row: int
    options: CutOptions
    truth: list[tuple[float, float, float, float]]  # true boxes (working pixels) in the piece
    digits: list[int]  # the true digit of each of those boxes


def is_one_digit(box, truth) -> bool:
    return covered_digit(box, truth, MATCH_IOU) is not None


def clumps_of(data: bytes, boxes, number: str, row: int, run: ModelRunner) -> list[Clump]:
    """Segment one generated row as the service does (``run``: the digit network), keeping
    every cutting option."""
    served = pieces_as_served(data, boxes)
    if served is None:
        return []
    digit_width = typical_width(served.groups, served.height)
    clumps = []
    for group in served.groups:
        if not may_hold_several(group, served.height):
            continue
        inside = served.digits_in(group)
        options = cut_options(
            group, served.ink, served.height, digit_width, run, probe=None, stroke=stroke_px(group.mask)
        )
        clumps.append(Clump(row, options, [served.truth[i] for i in inside], [int(number[i]) for i in inside]))
    return clumps


def fit_network(x: np.ndarray, y: np.ndarray, hidden: int, epochs: int, weight_decay: float, seed: int) -> dict:
    """One hidden ReLU layer and a logistic output, fitted with Keras (Adam on the cross-entropy,
    L2 weight decay, standardised inputs, deterministic for a seed). Returns DigitProbe's fields."""
    import keras  # TensorFlow: only for fitting

    keras.utils.set_random_seed(seed)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    decay = keras.regularizers.L2(weight_decay / 2)  # gradient weight_decay * w, as decoupled from the batch
    model = keras.Sequential(
        [
            keras.Input(shape=(x.shape[1],)),
            keras.layers.Dense(hidden, activation="relu", kernel_regularizer=decay, name="hidden"),
            keras.layers.Dense(1, kernel_regularizer=decay, name="logit"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(((x - mean) / scale).astype(np.float32), y.astype(np.float32), batch_size=256, epochs=epochs, verbose=0)
    hidden_kernel, hidden_bias = (np.asarray(w, dtype=np.float64) for w in model.get_layer("hidden").get_weights())
    output_kernel, output_bias = (np.asarray(w, dtype=np.float64) for w in model.get_layer("logit").get_weights())
    return {
        "mean": mean,
        "scale": scale,
        "hidden_weights": hidden_kernel,
        "hidden_bias": hidden_bias,
        "output_weights": output_kernel[:, 0],
        "output_bias": float(output_bias[0]),
    }


def clump_read_right(clump: Clump, probe: DigitProbe | None) -> tuple[bool, bool]:
    """Whether the piece is cut into its true digits' parts, and whether each then reads right."""
    options = clump.options
    scored = dataclasses.replace(
        options, one_digit=probe.log_one_digit(options.features) if probe else options.one_digit
    )
    parts = choose_parts(scored)
    cut_right = len(parts) == len(clump.truth) and all(is_one_digit(part.box, clump.truth) for part in parts)
    index = {id(part): k for k, part in enumerate(options.parts)}
    read = [int(np.argmax(options.features[index[id(part)], READ_FROM : READ_FROM + 10])) for part in parts]
    return cut_right, cut_right and read == clump.digits


def held_out_report(clumps: list[Clump], probe: DigitProbe | None) -> dict:
    several = [clump_read_right(c, probe) for c in clumps if len(c.truth) > 1]
    single = [clump_read_right(c, probe) for c in clumps if len(c.truth) == 1]
    return {
        "several_cut_right": round(float(np.mean([cut for cut, _ in several])), 4) if several else None,
        "several_read_right": round(float(np.mean([read for _, read in several])), 4) if several else None,
        "single_left_whole": round(float(np.mean([cut for cut, _ in single])), 4) if single else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=64, help="units in the probe's hidden layer")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    parser.add_argument(
        "--kinds",
        nargs="*",
        default=list(FIT_KINDS),
        choices=list(KINDS),
        help="kinds of row, in turn (name one twice to have more of it)",
    )
    parser.add_argument("--output", type=Path, default=None, help="default: MODEL_DIR/digit_probe.json")
    parser.add_argument("--clumps", type=Path, help="keep the segmented rows here (reused when it exists)")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    model_file = settings.model_dir / DIGIT_TFLITE
    output = args.output or settings.model_dir / PROBE_FILE
    run = load_digit_model("litert", model_file).run
    train = load_from_dir(args.data_dir).train
    started = time.perf_counter()
    if args.clumps and args.clumps.is_file():
        clumps: list[Clump] = pickle.loads(args.clumps.read_bytes())
    else:
        clumps = []
        for index, row in enumerate(
            make_rows(train.images, train.labels, args.rows, tuple(args.kinds), seed=args.seed)
        ):
            clumps += clumps_of(row.data, row.boxes, row.number, index, run)
            if (index + 1) % 200 == 0:
                print(f"{index + 1} rows, {len(clumps)} clumps, {time.perf_counter() - started:.0f} s", flush=True)
        if args.clumps:
            args.clumps.write_bytes(pickle.dumps(clumps))

    held_out = {i for i in range(args.rows) if i % 5 == 4}
    fit_clumps = [c for c in clumps if c.row not in held_out]
    test_clumps = [c for c in clumps if c.row in held_out]
    x = np.concatenate([c.options.features for c in fit_clumps])
    y = np.concatenate([[is_one_digit(p.box, c.truth) for p in c.options.parts] for c in fit_clumps]).astype(float)
    fitted = fit_network(x, y, args.hidden, args.epochs, args.weight_decay, args.seed)
    probe = DigitProbe(**fitted)

    report = {
        "pieces_held_out": len(test_clumps),
        "holding_several_digits": sum(len(c.truth) > 1 for c in test_clumps),
        "with_probe": held_out_report(test_clumps, probe),
        "by_shape_only": held_out_report(test_clumps, None),
    }
    print(json.dumps(report, indent=2))
    spec = {
        "what": "P(a candidate part of a row of digits is exactly one digit): one hidden ReLU layer",
        "command": "python -m training.fitting.fit_digit_probe " + " ".join(argv if argv is not None else sys.argv[1:]),
        "data": "rows made by training.data.rows from the MNIST training images (train-10k), seed "
        f"{args.seed}, {args.rows} rows of kinds {args.kinds} in turn; every fifth row held out",
        "model_file": model_file.name,
        "model_sha256": hashlib.sha256(model_file.read_bytes()).hexdigest(),
        "parts_fitted": len(y),
        "parts_one_digit": int(y.sum()),
        "held_out": report,
        "features": list(FEATURES),
        **{
            name: (np.round(value, 6).tolist() if isinstance(value, np.ndarray) else round(value, 6))
            for name, value in fitted.items()
        },
    }
    output.write_text(json.dumps(spec, indent=1) + "\n")
    print(f"wrote {output} ({len(y)} parts from {len(fit_clumps)} pieces, {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
