"""Train the whole-row reader (``recognizer.networks.row_reader``) with CTC and export it for serving.

    python -m training.fitting.train_row_reader --data-dir ../shared/data/mnist

Rows of training-split digits (``training.data.row_strips``: paper, photos, ruled lines, touching
and overlapping digits, rows at an angle, signs written in and dots of dirt) are the training
set; the reader learns the ten digits and the signs (``SYMBOLS``: a minus, a decimal point, a
decimal comma). Rows of the validation-split digits choose the epoch (early stopping on whole
rows read exactly). The test set plays no part. Writes
``models/row_reader.tflite`` (served), ``models/row_reader.keras`` (the same weights, to train on
from) and ``models/row_reader.json`` (how it was trained and how well it
reads the validation rows on its own).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recognizer.networks.row_reader import MODEL_FILE, SIGNATURE_KEY, LiteRTRowReader
from recognizer.vision.rows.strip import (
    BLANK,
    MARGIN,
    STEPS,
    STRIP_HEIGHT,
    STRIP_WIDTH,
    SYMBOLS,
    read_symbols,
)
from training.data.mnist import load_from_dir
from training.data.row_strips import StripSet, strip_set
from training.data.splits import default_split

REPO = Path(__file__).resolve().parents[2]

MODELS_DIR = REPO / "models"
MAX_LABEL = 10  # longest number a training row holds is 6 digits and 2 signs; room to spare
CHECKPOINT = "checkpoint.keras"  # the model with its optimizer, after the last finished epoch
PROGRESS = "checkpoint.json"  # which epoch that was, of how many, and the history so far


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--rows", type=int, default=40000, help="training rows (of training-split digits)")
    parser.add_argument("--val-rows", type=int, default=3000, help="rows of validation-split digits")
    parser.add_argument("--epochs", type=int, default=8, help="the learning rate decays to nothing over these")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--strips", type=Path, nargs="+", help="training strips made beforehand (training.data.row_strips --output)"
    )
    parser.add_argument("--val-strips", type=Path, help="validation strips made beforehand")
    parser.add_argument(
        "--initial", type=Path, help="a row_reader.keras to go on training from (its weights; the schedule starts anew)"
    )
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="where the cosine schedule starts")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on from the checkpoint in --models-dir (the model and its optimizer after its last finished epoch)",
    )
    parser.add_argument(
        "--stop-after", type=int, help="stop after this epoch (a long schedule run in parts: go on with --resume)"
    )
    return parser.parse_args(argv)


def build_row_reader():
    """Convolutions over the strip (height pooled away, width by 4), three 1-D convolutions along
    the row (the last dilated: each step sees about two digits either side), and a softmax per
    step over the symbols and CTC's blank (the last index). 0.92M parameters: the 0.33M reader
    before it stopped improving on overlapping rows (validation exact 88-89% whatever it was
    fine-tuned on)."""
    import keras
    from keras import layers

    def conv(x, filters: int, name: str):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    inputs = keras.Input(shape=(STRIP_HEIGHT, STRIP_WIDTH, 1), name="strip")
    x = conv(inputs, 32, "conv1")
    x = layers.MaxPooling2D(2, name="pool1")(x)  # 16 x 112
    x = conv(x, 64, "conv2")
    x = layers.MaxPooling2D(2, name="pool2")(x)  # 8 x 56
    x = conv(x, 96, "conv3")
    x = conv(x, 96, "conv4")
    x = layers.MaxPooling2D((2, 1), name="pool3")(x)  # 4 x 56
    x = conv(x, 128, "conv5")
    x = layers.Permute((2, 1, 3), name="columns")(x)  # 56 x 4 x 128
    x = layers.Reshape((STEPS, -1), name="steps")(x)
    x = layers.Dense(192, activation="relu", name="step_features")(x)
    x = layers.Conv1D(192, 5, padding="same", activation="relu", name="along_row")(x)
    x = layers.Conv1D(192, 5, padding="same", activation="relu", name="along_row2")(x)
    x = layers.Conv1D(192, 5, padding="same", dilation_rate=2, activation="relu", name="along_row3")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    logits = layers.Dense(BLANK + 1, name="logits")(x)
    return keras.Model(inputs, logits, name="row_reader")


def ctc_loss(labels, logits):
    """CTC loss per row; ``labels`` [N, MAX_LABEL] symbol indexes padded with -1."""
    import tensorflow as tf

    labels = tf.cast(labels, tf.int32)
    present = labels >= 0
    return tf.nn.ctc_loss(
        labels=tf.where(present, labels, 0),
        logits=logits,
        label_length=tf.reduce_sum(tf.cast(present, tf.int32), axis=1),
        logit_length=tf.fill([tf.shape(logits)[0]], tf.shape(logits)[1]),
        logits_time_major=False,
        blank_index=BLANK,
    )


def padded_labels(numbers: list[str]) -> np.ndarray:
    labels = np.full((len(numbers), MAX_LABEL), -1, dtype=np.int32)
    for index, number in enumerate(numbers):
        labels[index, : len(number)] = [SYMBOLS.index(c) for c in number]
    return labels


def shifted(strips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each strip moved right by a random amount that keeps its ink inside (the service
    places a row at the left margin; the network should not depend on it)."""
    out = np.zeros_like(strips)
    used = strips.any(axis=1)
    for index, strip in enumerate(strips):
        columns = np.flatnonzero(used[index])
        room = strips.shape[2] - MARGIN - (columns[-1] + 1 if len(columns) else 0)
        move = int(rng.integers(0, max(0, room) + 1))
        out[index, :, move:] = strip[:, : strips.shape[2] - move]
    return out


def read_numbers(probs: np.ndarray) -> list[str]:
    """Best-path readings of per-step probabilities [N, STEPS, symbols + 1] (as the service reads them)."""
    return [read_symbols(row) for row in probs]


def signed_share(probs: np.ndarray, numbers: list[str]) -> float | None:
    """Of the rows with a sign, the share read exactly (None: no such row)."""
    signed = [index for index, number in enumerate(numbers) if not number.isdigit()]
    return round(exact_share(probs[signed], [numbers[i] for i in signed]), 4) if signed else None


def exact_share(probs: np.ndarray, numbers: list[str]) -> float:
    return float(np.mean([read == true for read, true in zip(read_numbers(probs), numbers, strict=True)]))


def tflite_bytes(model) -> bytes:
    """The model with a softmax on top, as LiteRT with signature serving_default: strip -> probs."""
    import keras
    import tensorflow as tf

    serving = keras.Model(model.inputs, {"probs": keras.layers.Softmax(name="probs")(model.outputs[0])})
    archive = keras.export.ExportArchive()
    archive.track(serving)
    archive.add_endpoint(
        name=SIGNATURE_KEY,
        fn=lambda strip: serving(strip, training=False),
        input_signature=[tf.TensorSpec([None, STRIP_HEIGHT, STRIP_WIDTH, 1], tf.float32, name="strip")],
    )
    with tempfile.TemporaryDirectory() as saved_model_dir:
        archive.write_out(saved_model_dir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[SIGNATURE_KEY])
        return converter.convert()


def load_strips(paths: list[Path] | Path | None, make) -> StripSet:
    """Strips saved by ``training.data.row_strips`` (several files are joined), or made now."""
    if paths is None:
        return make()
    saved = [np.load(path) for path in (paths if isinstance(paths, list) else [paths])]
    return StripSet(np.concatenate([s["strips"] for s in saved]), [str(n) for s in saved for n in s["numbers"]])


def save_checkpoint(model, models_dir: Path, progress: dict) -> None:
    """The model with its optimizer, and how far the schedule went, each written whole before it
    replaces the last (a run killed while saving leaves the previous epoch's pair)."""
    partial = models_dir / "checkpoint.partial.keras"  # Keras wants the .keras suffix
    model.save(partial)
    written = models_dir / (PROGRESS + ".partial")
    written.write_text(json.dumps(progress, indent=2) + "\n")
    os.replace(partial, models_dir / CHECKPOINT)
    os.replace(written, models_dir / PROGRESS)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import keras

    keras.utils.set_random_seed(args.seed)
    started = time.time()
    mnist = load_from_dir(args.data_dir)
    (x_train, y_train), (x_val, y_val) = default_split(mnist.train.images, mnist.train.labels)
    train = load_strips(args.strips, lambda: strip_set(x_train, y_train, args.rows, seed=args.seed))
    val = load_strips(args.val_strips, lambda: strip_set(x_val, y_val, args.val_rows, seed=args.seed + 1))
    print(f"{len(train.numbers)} training rows, {len(val.numbers)} validation rows ({time.time() - started:.0f} s)")

    args.models_dir.mkdir(parents=True, exist_ok=True)
    progress = args.models_dir / PROGRESS
    if args.resume:
        state = json.loads(progress.read_text())
        if state["epochs"] != args.epochs:
            raise SystemExit(f"the checkpoint's schedule runs over {state['epochs']} epochs, not {args.epochs}")
        model = keras.models.load_model(args.models_dir / CHECKPOINT, custom_objects={"ctc_loss": ctc_loss})
        done, best_exact, best_epoch, history = (
            state["epoch"],
            state["best_exact"],
            state["best_epoch"],
            state["history"],
        )
        started -= state["seconds"]
        print(f"going on after epoch {done} (optimizer at step {int(model.optimizer.iterations)})", flush=True)
    else:
        model = keras.models.load_model(args.initial, compile=False) if args.initial else build_row_reader()
        steps = args.epochs * -(-len(train.numbers) // args.batch_size)
        model.compile(
            optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(args.learning_rate, steps)),
            loss=ctc_loss,
        )
        done, best_exact, best_epoch, history = 0, -1.0, 0, []
    labels = padded_labels(train.numbers)
    last = args.epochs if args.stop_after is None else min(args.stop_after, args.epochs)
    for epoch in range(done + 1, last + 1):
        rng = np.random.default_rng([args.seed, epoch])  # the same shifts whether or not the run was resumed
        fit = model.fit(shifted(train.strips, rng)[..., None], labels, batch_size=args.batch_size, epochs=1, verbose=0)
        logits = model.predict(val.strips[..., None], batch_size=256, verbose=0)
        exact = exact_share(logits, val.numbers)  # argmax of logits = argmax of softmax
        history.append({"epoch": epoch, "loss": round(float(fit.history["loss"][-1]), 4), "val_exact": round(exact, 4)})
        print(history[-1], f"{time.time() - started:.0f} s", flush=True)
        if exact > best_exact:  # written at once: the best so far survives an interrupted run
            best_exact, best_epoch = exact, epoch
            (args.models_dir / MODEL_FILE).write_bytes(tflite_bytes(model))
            model.save(args.models_dir / "row_reader.keras")
        state = {"epoch": epoch, "epochs": args.epochs, "best_exact": best_exact, "best_epoch": best_epoch}
        state["seconds"] = round(time.time() - started)
        save_checkpoint(model, args.models_dir, {**state, "history": history})

    if last < args.epochs:
        print(f"stopped after epoch {last} of {args.epochs}: go on with --resume", flush=True)
        return 0
    content = (args.models_dir / MODEL_FILE).read_bytes()
    lite = LiteRTRowReader(content=content)
    lite_probs = lite.read(val.strips)
    lite_exact = exact_share(lite_probs, val.numbers)
    report = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_rows": len(train.numbers),
        "validation_rows": len(val.numbers),
        "rows_from": "training.data.row_strips: rows of the training split's digits; validation rows of the held-out split's",
        "symbols": SYMBOLS,
        "signed_validation_exact": signed_share(lite_probs, val.numbers),
        "started_from": str(args.initial) if args.initial else None,
        "best_epoch": best_epoch,
        "best_validation_exact": round(best_exact, 4),
        "validation_rows_read_exactly_alone": round(lite_exact, 4),
        "history": history,
        "seconds": round(time.time() - started),
        "command": "python -m training.fitting.train_row_reader "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    (args.models_dir / "row_reader.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "history"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
