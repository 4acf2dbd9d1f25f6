"""Train the digit network on every source of digits and non-digits we have.

    python -m training.fitting.train --data-dir DIR --work-dir build/model [--served build/model/served.npz]

Sources (``assemble``): MNIST's training split (all 60,000 less the validation tenth,
``training.data.splits``), digits in training fonts and Hershey pen fonts, MNIST digits in hand
styles, digits as the row reader cuts them from rows, uploads of every kind as the service reads
them (``training.data.served_digits``, made beforehand by ``training.pipeline``), non-digits, and
users' corrections when given. Augmented on the fly (``training.fitting.augment``). A fixed
schedule (cosine learning-rate decay over ``--epochs``), no early stopping: the validation split is
only watched, so nothing is chosen on a lucky epoch. Interrupted, it resumes from the last finished
epoch (``WORK_DIR/backup``).

Writes ``WORK_DIR/network.keras`` (the training model: softmax over eleven classes) and
``WORK_DIR/network.json`` (the data, the settings and the history). Export, calibration and the
figures are the next steps of ``training.pipeline``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.data.mnist import DatasetNotFound, IdxError, load_mnist
from training.data.splits import default_split


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the digit network.")
    parser.add_argument("--data-dir", help="folder with MNIST IDX files (default: keras.datasets.mnist)")
    parser.add_argument("--work-dir", type=Path, default=Path("build/model"))
    parser.add_argument("--served", type=Path, help="served uploads (.npz from training.pipeline); none if absent")
    parser.add_argument("--corrections-dir", type=Path, help="users' corrections (python -m infra.corrections export)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="peak, after one epoch of warm-up")
    parser.add_argument("--width", type=float, default=1.0, help="scales the layers after conv2")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--font-digits", type=int, default=6, help="renderings per digit per training font")
    parser.add_argument("--pen-digits", type=int, default=15, help="renderings per digit per Hershey pen font")
    parser.add_argument("--styled-digits", type=int, default=1500, help="training digits per hand style")
    parser.add_argument("--styled-non-digits", type=int, default=1000, help="letters, symbols, drawings per hand style")
    parser.add_argument("--row-parts", type=int, default=4000, help="rows whose cut digits join training")
    parser.add_argument("--non-digit-chars", type=int, default=2, help="renderings per letter/symbol per font")
    parser.add_argument("--pen-chars", type=int, default=3, help="renderings per letter/symbol per pen font")
    parser.add_argument("--non-digit-drawings", type=int, default=3000, help="scribbles, shapes and textures")
    parser.add_argument("--limit", type=int, help="only the first N MNIST training images (smoke runs)")
    parser.add_argument("--verbose", type=int, default=2, help="Keras output: 0, 1 (bar) or 2 (a line per epoch)")
    return parser.parse_args(argv)


@dataclass
class Assembled:
    """Training inputs as the network sees them, and where they came from."""

    images: list[np.ndarray] = field(default_factory=list)  # float32 [n, 28, 28] each
    labels: list[np.ndarray] = field(default_factory=list)  # int64 [n] each
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, source: str, images: np.ndarray, labels: np.ndarray) -> None:
        if len(images):
            self.images.append(np.asarray(images, np.float32).reshape(-1, 28, 28))
            self.labels.append(np.asarray(labels, np.int64))
        self.counts[source] = len(images)
        print(f"{source}: {len(images)}", flush=True)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self.images)[..., None], np.concatenate(self.labels)


def _rendered_sources(args: argparse.Namespace, data: Assembled, train_images, train_labels) -> None:
    """Fonts, pen fonts, hand styles and row parts: rendered from training sources only."""
    from training.data import font_digits, stroke_fonts
    from training.data.non_digits import NOT_A_DIGIT, training_inputs
    from training.data.row_parts import row_part_set
    from training.data.styled_digits import styled_digit_set, styled_non_digit_set

    fonts = font_digits.installed(font_digits.TRAINING_FONTS)
    if not fonts:
        print("note: no training fonts installed (models/README.md lists them); going on without", file=sys.stderr)
    if fonts and args.font_digits:
        rendered = font_digits.font_digit_set(fonts, args.font_digits, seed=args.seed)
        data.add("font_digits", rendered.images, rendered.labels)
    if args.pen_digits:
        data.add("pen_digits", *stroke_fonts.digit_set(args.pen_digits, args.seed + 2))
    if args.styled_digits:
        styled = styled_digit_set(train_images, train_labels, args.styled_digits, seed=args.seed + 3)
        data.add("styled_digits", styled.images, styled.labels)
    if args.row_parts:
        parts = row_part_set(train_images, train_labels, args.row_parts, seed=args.seed)
        data.add("row_parts", parts.images, parts.labels)
    chars_fonts = fonts if args.non_digit_chars else []
    non_digits = training_inputs(
        chars_fonts, args.non_digit_chars, args.non_digit_drawings, args.seed, pen_per_char=args.pen_chars
    )
    data.add("non_digits", non_digits, np.full(len(non_digits), NOT_A_DIGIT))
    if args.styled_non_digits:
        styled_non_digits = styled_non_digit_set(fonts, args.styled_non_digits, seed=args.seed + 5)
        data.add("styled_non_digits", styled_non_digits, np.full(len(styled_non_digits), NOT_A_DIGIT))


def assemble(args: argparse.Namespace, train_images: np.ndarray, train_labels: np.ndarray) -> Assembled:
    """Every training source, each counted."""
    data = Assembled()
    data.add("mnist", train_images / 255.0, train_labels)
    _rendered_sources(args, data, train_images, train_labels)
    if args.served is not None and args.served.exists():
        served = np.load(args.served)
        data.add("served_uploads", served["images"] / 255.0, served["labels"])
    if args.corrections_dir is not None:
        from training.data.corrections import load_corrections

        images, labels = load_corrections(args.corrections_dir)
        data.add("corrections", images / 255.0, labels)
    return data


# What decides the assembled inputs: a cached set made with other values is made again.
SOURCE_SETTINGS = (
    "data_dir",
    "served",
    "corrections_dir",
    "seed",
    "font_digits",
    "pen_digits",
    "styled_digits",
    "styled_non_digits",
    "row_parts",
    "non_digit_chars",
    "pen_chars",
    "non_digit_drawings",
    "limit",
)


def assembled_inputs(args: argparse.Namespace, train_images, train_labels) -> tuple[np.ndarray, np.ndarray, dict]:
    """``assemble``'s arrays, cached in WORK_DIR/inputs.npz (rendering takes minutes; an
    interrupted run resumes without it)."""
    cache = args.work_dir / "inputs.npz"
    key = json.dumps({name: str(getattr(args, name)) for name in SOURCE_SETTINGS}, sort_keys=True)
    if cache.exists():
        cached = np.load(cache)
        if str(cached["key"]) == key:
            print(f"training inputs: {len(cached['labels'])} (assembled before: {cache})", flush=True)
            return cached["images"].astype(np.float32) / 255.0, cached["labels"], json.loads(str(cached["counts"]))
    started = time.monotonic()
    data = assemble(args, train_images, train_labels)
    x, y = data.arrays()
    print(f"training inputs: {len(x)} ({time.monotonic() - started:.0f} s to assemble)", flush=True)
    np.savez(cache, images=np.rint(x * 255).astype(np.uint8), labels=y, counts=json.dumps(data.counts), key=key)
    return np.rint(x * 255).astype(np.float32) / 255.0, y, data.counts


AUGMENTATION = {
    "shear": 0.3,
    "rotation": 12.0,
    "zoom": 0.15,
    "elastic": 1.5,
    "elastic_share": 0.5,
    "thick_share": 0.15,
    "fill_share": 0.15,
    "low_resolution_share": 0.1,
    "blur_noise_share": 0.1,
    "occlude_share": 0.05,
}


def training_dataset(x, y, args: argparse.Namespace):
    """Shuffled, batched, augmented on the fly, repeated (``tf.data``)."""
    import keras
    import tensorflow as tf

    from recognizer.networks.contract import CLASSES
    from training.fitting.augment import Augmentation, augment_dataset

    dataset = (
        tf.data.Dataset.from_tensor_slices((x, keras.utils.to_categorical(y, CLASSES)))
        .shuffle(len(x), seed=args.seed, reshuffle_each_iteration=True)
        .batch(args.batch_size)
    )
    return augment_dataset(dataset, args.seed, Augmentation(**AUGMENTATION)).repeat().prefetch(2)


def fit(args: argparse.Namespace, x, y, x_val, y_val):
    """The network trained on a fixed schedule (resumable); its Keras history."""
    import keras

    from recognizer.networks.contract import CLASSES
    from training.fitting.model import build_model

    steps = int(np.ceil(len(x) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        args.learning_rate / 20,
        decay_steps=steps * max(1, args.epochs - 1),
        alpha=0.01,
        warmup_target=args.learning_rate,
        warmup_steps=steps,
    )
    model = build_model(args.width)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="categorical_crossentropy", metrics=["accuracy"])
    backup = keras.callbacks.BackupAndRestore(str(args.work_dir / "backup"), delete_checkpoint=True)
    history = model.fit(
        training_dataset(x, y, args),
        validation_data=(x_val, keras.utils.to_categorical(y_val, CLASSES)),
        epochs=args.epochs,
        steps_per_epoch=steps,
        callbacks=[backup],
        verbose=args.verbose,
    )
    return model, history.history


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import keras

    keras.utils.set_random_seed(args.seed)
    try:
        mnist = load_mnist(args.data_dir)
    except (DatasetNotFound, IdxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    images, labels = mnist.train.images, mnist.train.labels
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    (train_images, train_labels), (val_images, val_labels) = default_split(images, labels)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    x, y, counts = assembled_inputs(args, train_images, train_labels)
    started = time.monotonic()
    model, history = fit(args, x, y, (val_images / 255.0)[..., None].astype(np.float32), val_labels)
    model.save(args.work_dir / "network.keras")
    report = {
        "data": {"origin": mnist.origin, "validation_images": len(val_images), **counts},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "augmentation": AUGMENTATION,
        "parameters": int(model.count_params()),
        "seconds": round(time.monotonic() - started, 1),
        "history": {name: [round(float(v), 5) for v in values] for name, values in history.items()},
        "command": "python -m training.fitting.train " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    (args.work_dir / "network.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"validation accuracy (MNIST split): {history['val_accuracy'][-1]:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
