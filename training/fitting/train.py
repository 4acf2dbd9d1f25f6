"""Train the digit CNN on MNIST, export it for serving, and evaluate it on the official test set.

    python -m training.fitting.train --data-dir ../shared/data/mnist

Writes models/digits.keras, models/digits.tflite, models/digits.json (the "not a digit"
threshold and the calibration temperature, chosen by ``training.calibration.calibrate`` on validation
uploads), models/calibration.json, models/metrics.json and models/confusion_matrix.png. The test set is used only after training, for the final figures:
validation (early stopping, learning-rate schedule) is a split of the training images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from training.data.mnist import DatasetNotFound, IdxError, load_mnist
from training.evaluation.evaluate import (
    MODELS_DIR,
    classification_report,
    mnist_batch,
    plot_confusion_matrix,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train, export and evaluate the digit CNN.")
    parser.add_argument("--data-dir", help="folder with MNIST IDX files (default: keras.datasets.mnist, 60,000 images)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--head", choices=("original", "wide", "wide-light"), default="wide-light")
    parser.add_argument(
        "--conv3", type=int, default=128, help="filters of a third convolution after conv2's pooling (0: none)"
    )
    parser.add_argument("--epochs", type=int, default=80, help="upper bound; early stopping usually ends sooner")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--patience",
        type=int,
        default=8,
        help="epochs without a better validation loss before stopping (the best weights are kept)",
    )
    parser.add_argument(
        "--passes-per-epoch",
        type=int,
        default=2,
        help="augmented passes over the training split per Keras epoch (early-stopping patience counts these epochs)",
    )
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument(
        "--shear", type=float, default=0.2, help="random slant: horizontal shear factor up to this (0: none)"
    )
    parser.add_argument("--elastic", type=float, default=1.5, help="elastic distortion, about this many px (0: none)")
    parser.add_argument(
        "--elastic-share", type=float, default=0.5, help="share of training images distorted elastically"
    )
    parser.add_argument(
        "--font-digits",
        type=int,
        default=6,
        help="renderings per digit per training font (training.data.font_digits; 0: MNIST only)",
    )
    parser.add_argument(
        "--thick-share", type=float, default=0.15, help="share of training images thickened (3x3 dilation)"
    )
    parser.add_argument(
        "--fill-share",
        type=float,
        default=0.2,
        help="share of training images with loops filled as a thick marker fills them (3x3 or 5x5 closing)",
    )
    parser.add_argument(
        "--row-parts",
        type=int,
        default=4000,
        help="rows of training digits whose digits, as the row reader cuts them, join training (training.data.row_parts; 0: none)",
    )
    parser.add_argument(
        "--val-font-digits", type=int, default=25, help="renderings per digit per held-out validation font"
    )
    parser.add_argument(
        "--non-digit-chars",
        type=int,
        default=2,
        help="renderings of each non-digit letter and symbol per training font, taught as 'not a digit' (0: none)",
    )
    parser.add_argument(
        "--non-digit-drawings", type=int, default=3000, help="scribbles, shapes and textures taught as 'not a digit'"
    )
    parser.add_argument(
        "--pen-chars",
        type=int,
        default=3,
        help="renderings of each non-digit letter and symbol per Hershey pen font (training.data.stroke_fonts; 0: none)",
    )
    parser.add_argument(
        "--pen-digits",
        type=int,
        default=15,
        help="renderings of each digit per Hershey pen font, 1s and 7s partly in European forms (0: none)",
    )
    parser.add_argument(
        "--styled-digits",
        type=int,
        default=800,
        help="training digits per hand style (training.data.styled_digits: low resolution, slanted, broad nib; 0: none)",
    )
    parser.add_argument(
        "--max-refused",
        type=float,
        default=0.008,
        help="share of any kind's validation digit uploads the 'not a digit' threshold may refuse (training.calibration.calibrate)",
    )
    parser.add_argument(
        "--calibration-uploads",
        type=int,
        default=200,
        help="validation digit uploads per kind for calibrating (training.calibration.calibrate)",
    )
    parser.add_argument("--limit", type=int, help="use only the first N training images (smoke runs)")
    parser.add_argument(
        "--verbose", type=int, default=2, help="Keras progress output: 0, 1 (bar) or 2 (a line per epoch)"
    )
    return parser.parse_args(argv)


def split_validation(images: np.ndarray, labels: np.ndarray, fraction: float, seed: int):
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = max(1, int(round(len(images) * fraction)))
    val, train = order[:n_val], order[n_val:]
    return (images[train], labels[train]), (images[val], labels[val])


def default_split(images: np.ndarray, labels: np.ndarray):
    """The training and validation split ``training.fitting.train`` makes by default (so the validation
    digits are ones the committed model never trained on)."""
    defaults = parse_args([])
    return split_validation(images, labels, defaults.val_fraction, defaults.seed)


def font_digit_splits(args: argparse.Namespace):
    """Font-rendered digits for training and, from held-out fonts, for validation (None: none)."""
    from training.data import font_digits

    if args.font_digits <= 0:
        return None, None
    train_fonts = font_digits.installed(font_digits.TRAINING_FONTS)
    val_fonts = font_digits.installed(font_digits.VALIDATION_FONTS)
    if not train_fonts:
        print(
            "note: no training fonts installed (see models/README.md for the Debian packages); training on MNIST alone",
            file=sys.stderr,
        )
        return None, None
    train_set = font_digits.font_digit_set(train_fonts, args.font_digits, seed=args.seed)
    val_set = font_digits.font_digit_set(val_fonts, args.val_font_digits, seed=args.seed + 1) if val_fonts else None
    print(
        f"font digits: {len(train_set.labels)} for training from {len(train_set.fonts)} fonts, "
        f"{0 if val_set is None else len(val_set.labels)} for validation from {[] if val_set is None else val_set.fonts}",
        flush=True,
    )
    return train_set, val_set


def row_part_split(args: argparse.Namespace, images: np.ndarray, labels: np.ndarray):
    """Training-split digits as the row reader cuts them from rows (None: not asked for)."""
    from training.data.row_parts import row_part_set

    if args.row_parts <= 0:
        return None
    started = time.monotonic()
    parts = row_part_set(images, labels, args.row_parts, seed=args.seed)
    print(
        f"row parts: {len(parts.labels)} digits from {args.row_parts} rows ({parts.from_touching} cut from touching "
        f"digits), {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return parts


def non_digit_splits(args: argparse.Namespace, train_fonts: list, val_fonts: list):
    """Non-digits for training (training fonts, training drawings) and validation (held-out
    fonts, drawings from another seed): network inputs [N, 28, 28]."""
    from training.data import non_digits

    started = time.monotonic()
    train_set = non_digits.training_inputs(
        train_fonts, args.non_digit_chars, args.non_digit_drawings, args.seed, pen_per_char=args.pen_chars
    )
    val_set = non_digits.training_inputs(val_fonts, 4, max(50, args.non_digit_drawings // 6), args.seed + 1)
    print(
        f"non-digits: {len(train_set)} for training, {len(val_set)} for validation, {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return train_set, val_set


def held_out_accuracy(model, font_val) -> float | None:
    if font_val is None or not len(font_val.labels):
        return None
    predicted = model.predict(font_val.images[..., None], batch_size=500, verbose=0)[:, :10].argmax(1)
    return float(np.mean(predicted == font_val.labels))


def train(args: argparse.Namespace) -> dict:
    import keras
    import tensorflow as tf

    from training.export import export_models, run_tflite
    from training.fitting.augment import augment_dataset
    from training.fitting.model import CLASSES, build_model

    keras.utils.set_random_seed(args.seed)
    mnist = load_mnist(args.data_dir)
    images, labels = mnist.train.images, mnist.train.labels
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    (train_images, train_labels), (val_images, y_val) = split_validation(images, labels, args.val_fraction, args.seed)
    x_train, y_train, x_val = mnist_batch(train_images), train_labels, mnist_batch(val_images)
    n_mnist_train, n_mnist_val = len(x_train), len(x_val)
    font_train, font_val = font_digit_splits(args)
    if font_train is not None and len(font_train.labels):
        x_train = np.concatenate([x_train, font_train.images[..., None]])
        y_train = np.concatenate([y_train, font_train.labels.astype(y_train.dtype)])
    n_font_train = len(x_train) - n_mnist_train
    from training.data import font_digits, stroke_fonts

    pen_images, pen_labels = stroke_fonts.digit_set(args.pen_digits, args.seed + 2)
    x_train = np.concatenate([x_train, pen_images[..., None]])
    y_train = np.concatenate([y_train, pen_labels.astype(y_train.dtype)])
    print(f"pen digits: {len(pen_labels)} from the Hershey fonts", flush=True)
    from training.data.non_digits import NOT_A_DIGIT

    nd_train, nd_val = non_digit_splits(
        args,
        font_digits.installed(font_digits.TRAINING_FONTS) if args.non_digit_chars else [],
        font_digits.installed(font_digits.NON_DIGIT_VALIDATION_FONTS),
    )
    x_train = np.concatenate([x_train, nd_train[..., None]])
    y_train = np.concatenate([y_train, np.full(len(nd_train), NOT_A_DIGIT, dtype=y_train.dtype)])
    if args.styled_digits > 0:
        from training.data.styled_digits import styled_digit_set

        started_styles = time.monotonic()
        styled = styled_digit_set(train_images, train_labels, args.styled_digits, seed=args.seed + 3)
        x_train = np.concatenate([x_train, styled.images[..., None]])
        y_train = np.concatenate([y_train, styled.labels.astype(y_train.dtype)])
        print(f"styled digits: {len(styled.labels)}, {time.monotonic() - started_styles:.0f} s", flush=True)
    row_parts = row_part_split(args, train_images, train_labels)
    if row_parts is not None:
        x_train = np.concatenate([x_train, row_parts.images[..., None]])
        y_train = np.concatenate([y_train, row_parts.labels.astype(y_train.dtype)])
    train_ds = (
        tf.data.Dataset.from_tensor_slices((x_train, keras.utils.to_categorical(y_train, CLASSES)))
        .shuffle(len(x_train), seed=args.seed, reshuffle_each_iteration=True)
        .batch(args.batch_size)
    )
    if not args.no_augment:
        train_ds = augment_dataset(
            train_ds,
            seed=args.seed,
            shear=args.shear,
            elastic=args.elastic,
            elastic_share=args.elastic_share,
            thick_share=args.thick_share,
            fill_share=args.fill_share,
        )
    # Augmented batches never repeat, so one "epoch" may span several passes: with a single
    # pass of 9,000 images, validation loss was too noisy for patience=5 and training stopped
    # while the model was still improving. Two passes of MNIST, font and row-part digits
    # (about 18,000) see as many images per epoch as three of MNIST and fonts did.
    steps_per_epoch = int(np.ceil(len(x_train) / args.batch_size)) * args.passes_per_epoch
    train_ds = train_ds.repeat().prefetch(2)

    model = build_model(args.head, conv3=args.conv3)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    callbacks = [
        # Early stopping watches the MNIST validation split alone: with the held-out non-digits
        # in it too, the loss swung so that two runs kept a lucky epoch 7 (98.96% on test).
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5),
    ]
    started = time.monotonic()
    history = model.fit(
        train_ds,
        validation_data=(x_val, keras.utils.to_categorical(y_val, CLASSES)),
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=args.verbose,
    )
    seconds = time.monotonic() - started
    val_loss = history.history["val_loss"]
    best_epoch = int(np.argmin(val_loss)) + 1

    # Early stopping and the LR schedule watch the MNIST split: the held-out non-digits and
    # fonts are scored once, at the end; the held-out fonts are a few hundred hard, alike images whose loss swings from epoch to epoch
    # and stopped training while MNIST validation was still improving. They are scored once, at
    # the end, for choosing.
    validation = {
        "mnist_accuracy": float(np.mean(model.predict(x_val, batch_size=500, verbose=0)[:, :10].argmax(1) == y_val)),
        "held_out_fonts_accuracy": held_out_accuracy(model, font_val),
        "held_out_fonts": [] if font_val is None else font_val.fonts,
        "non_digits_read_as_not_digit": float(
            np.mean(model.predict(nd_val[..., None], batch_size=500, verbose=0).argmax(1) == NOT_A_DIGIT)
        ),
        "best_val_loss": float(np.min(val_loss)),
    }
    print("validation:", json.dumps(validation), flush=True)

    x_test = mnist_batch(mnist.test.images)
    check = export_models(model, args.models_dir, x_test)
    # Temperature and "not a digit" threshold, chosen on validation uploads (digits.json).
    from training.calibration.calibrate import calibrate

    calibration = calibrate(args.models_dir, args.data_dir, args.calibration_uploads, args.max_refused)
    validation["temperature"] = calibration["temperature"]
    validation["not_digit_below"] = calibration["not_digit_below"]
    tflite_path = args.models_dir / "digits.tflite"
    outputs = run_tflite(tflite_path.read_bytes(), x_test)
    report = classification_report(mnist.test.labels, outputs["probs"].argmax(axis=1))
    report["test_refused_as_not_digit"] = float(np.mean(outputs["digit"][:, 0] < calibration["not_digit_below"]))
    keras_accuracy = float(
        np.mean(model.predict(x_test, batch_size=500, verbose=0)[:, :10].argmax(1) == mnist.test.labels)
    )
    metrics = {
        "model": "models/digits.tflite",
        **report,
        "keras_test_accuracy": keras_accuracy,
        "validation_accuracy": float(history.history["val_accuracy"][best_epoch - 1]),
        "validation": validation,
        "how": (
            "LiteRT model on the official MNIST test set (t10k, 10,000 images), evaluated once after "
            "training; validation split of the training images used for early stopping and LR schedule"
        ),
        "training_data": {
            "origin": mnist.origin,
            "train_images": int(n_mnist_train),
            "validation_images": int(n_mnist_val),
            "font_train_images": int(n_font_train),
            "row_part_rows": int(args.row_parts),
            "row_part_images": 0 if row_parts is None else len(row_parts.labels),
            "row_part_images_from_touching": 0 if row_parts is None else int(row_parts.from_touching),
            "pen_digit_images": len(pen_labels),
            "non_digit_train_images": len(nd_train),
            "non_digit_validation_images": len(nd_val),
            "font_train_fonts": [] if font_train is None else font_train.fonts,
            "font_validation_images": 0 if font_val is None else len(font_val.labels),
            "files": mnist.train.sources + mnist.test.sources,
        },
        "training": {
            "head": args.head,
            "conv3": args.conv3,
            "augmentation": not args.no_augment,
            "shear": args.shear,
            "elastic_px": args.elastic,
            "elastic_share": args.elastic_share,
            "thick_share": args.thick_share,
            "fill_share": args.fill_share,
            "font_digits_per_digit_per_font": args.font_digits,
            "row_parts": args.row_parts,
            "non_digit_chars": args.non_digit_chars,
            "non_digit_drawings": args.non_digit_drawings,
            "pen_chars": args.pen_chars,
            "pen_digits": args.pen_digits,
            "styled_digits_per_style": args.styled_digits,
            "optimizer": "Adam(1e-3)",
            "batch_size": args.batch_size,
            "passes_per_epoch": args.passes_per_epoch,
            "patience": args.patience,
            "epochs_run": len(val_loss),
            "best_epoch": best_epoch,
            "seed": args.seed,
            "seconds": round(seconds, 1),
        },
        "export_check": check.__dict__,
        "tflite_bytes": tflite_path.stat().st_size,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "command": "python -m training.fitting.train " + " ".join(sys.argv[1:]),
    }
    (args.models_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion_matrix(
        np.array(report["confusion_matrix"]), report["test_accuracy"], args.models_dir / "confusion_matrix.png"
    )
    return metrics


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        metrics = train(args)
    except (DatasetNotFound, IdxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"test accuracy (LiteRT): {metrics['test_accuracy']:.4f}")
    print("per class:", json.dumps(metrics["per_class_accuracy"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
