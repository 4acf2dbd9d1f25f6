"""Rebuild every model file that ships, in order, with fixed seeds: ``make model DATA_DIR=...``.

    python -m training.pipeline --data-dir DIR [--work-dir build/model] [--models-dir models]
        [--corrections-dir DIR] [--only STEP ...] [--smoke]

Steps (each a command of its own, run as a child process so that one step's memory is freed
before the next):

1. ``served``: uploads of every kind made from training sources and read by the service
   (``training.data.served_digits``) -> WORK_DIR/served.npz
   ``scene``: the scene judgement, photographs against writing (``training.fitting.train_scene``;
   it needs no digit network) -> scene.tflite, scene.json
   ``row_reader``: the whole-row reader, digits and signs: its strips (``training.data.row_strips``,
   -> WORK_DIR/row_strips/) and the reader trained on them (``training.fitting.train_row_reader``;
   it needs no digit network either) -> row_reader.tflite, row_reader.keras, row_reader.json
2. ``network``: the digit network trained (``training.fitting.train``) -> WORK_DIR/network.keras
3. ``export``: the serving graph as digits.keras and digits.tflite, checked against Keras
4. ``calibrate``: temperature and the "not a digit" threshold on validation uploads
   (``training.calibration.calibrate``) -> digits.json, calibration.json
5. ``probe``: the digit probe for this digits.tflite (``training.fitting.fit_digit_probe``), then
   the threshold for parts of rows -> digit_probe.json, digits.json
   ``scene_rule``: when the scene judgement refuses an upload as a photograph (whatever it reads
   as, or when read unsurely), through the service with this digit network
   (``training.calibration.scene_rule``) -> scene.json
6. ``metrics``: the official test set, once (``training.evaluation.evaluate --write``) ->
   metrics.json, confusion_matrix.png
7. ``evaluate``: every evaluation kind, the non-digit set and the rows -> preprocessing_eval.json,
   non_digit_eval.json, rows_eval.json, rows_eval_hands.json
8. ``card``: the model card's tables from those files (``training.evaluation.model_card``), and
   the figures docs/ and the README quote (``infra.docs_figures``)

Resumable: a step that finished leaves a stamp in WORK_DIR/done/ and is skipped next time
(delete the stamp, or the work folder, to run it again); the network's training itself resumes
from its last finished epoch.
``--smoke`` runs every step on a tiny slice (the test suite does, into a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Sizes:
    """How much of everything each step makes: the real run's, or a smoke run's."""

    served_per_kind: int
    served_font_per_kind: int
    served_non_digits: int
    train: tuple[str, ...]
    calibration_per_kind: int
    probe_rows: int
    calibration_rows: int
    eval_per_kind: int
    eval_per_family: int
    eval_rows: int
    scene: tuple[str, ...]
    row_strips: tuple[tuple[str, ...], ...]  # each: training.data.row_strips's arguments (--output added)
    row_reader: tuple[str, ...]
    scene_rule: tuple[str, ...]


OVERLAPPING_ROWS = ("overlapping", "overlapping", "overlapping", "touching", "touching", "angled", "close", "photo")

FULL = Sizes(
    served_per_kind=700,
    served_font_per_kind=200,
    served_non_digits=400,
    train=("--verbose=1",),
    calibration_per_kind=200,
    probe_rows=3000,
    calibration_rows=1000,
    eval_per_kind=500,
    eval_per_family=300,
    eval_rows=1000,
    scene=("--count=30000", "--epochs=14", "--held-out=1600"),
    # 88,000 training rows: every kind, then rows with more stray marks, then overlapping and
    # touching ones; the validation rows (of the validation split) choose the epoch.
    row_strips=(
        ("--split=train", "--rows=40000", "--seed=7"),
        ("--split=train", "--rows=16000", "--seed=11", "--strays=0.4"),
        ("--split=train", "--rows=16000", "--seed=12", "--strays=0.5"),
        ("--split=train", "--rows=16000", "--seed=13", "--strays=0.35", "--kinds", *OVERLAPPING_ROWS),
        ("--split=val", "--rows=3000", "--seed=8"),
    ),
    row_reader=("--epochs=5",),
    scene_rule=("--per-kind=300", "--scenes=1400"),
)
SMOKE = Sizes(
    served_per_kind=4,
    served_font_per_kind=2,
    served_non_digits=4,
    train=(
        "--limit=600",
        "--epochs=1",
        "--font-digits=0",
        "--pen-digits=0",
        "--styled-digits=4",
        "--styled-non-digits=4",
        "--row-parts=8",
        "--non-digit-chars=0",
        "--pen-chars=0",
        "--non-digit-drawings=60",
        "--verbose=0",
    ),
    calibration_per_kind=4,
    probe_rows=40,
    calibration_rows=20,
    eval_per_kind=4,
    eval_per_family=6,
    eval_rows=10,
    scene=("--count=48", "--validation=24", "--held-out=24", "--epochs=1", "--verbose=0"),
    row_strips=(("--split=train", "--rows=24", "--seed=7"), ("--split=val", "--rows=6", "--seed=8")),
    row_reader=("--epochs=1",),
    scene_rule=("--per-kind=2", "--scenes=16"),
)


@dataclass(frozen=True)
class Context:
    data_dir: Path
    work_dir: Path
    models_dir: Path
    corrections_dir: Path | None
    sizes: Sizes

    def run(self, *module_and_args: str) -> None:
        """``python -m MODULE ARGS`` with MODEL_DIR set to the models being built."""
        command = [sys.executable, "-m", *module_and_args]
        print("$", " ".join(command[2:]), flush=True)
        env = {**os.environ, "MODEL_DIR": str(self.models_dir), "PYTHONPATH": str(REPO)}
        subprocess.run(command, check=True, cwd=REPO, env=env)


def served(ctx: Context) -> None:
    s = ctx.sizes
    ctx.run(
        "training.data.served_digits",
        f"--data-dir={ctx.data_dir}",
        f"--output={ctx.work_dir / 'served.npz'}",
        f"--per-kind={s.served_per_kind}",
        f"--font-per-kind={s.served_font_per_kind}",
        f"--non-digits-per-family={s.served_non_digits}",
    )


def network(ctx: Context) -> None:
    extra = [f"--corrections-dir={ctx.corrections_dir}"] if ctx.corrections_dir else []
    ctx.run(
        "training.fitting.train",
        f"--data-dir={ctx.data_dir}",
        f"--work-dir={ctx.work_dir}",
        f"--served={ctx.work_dir / 'served.npz'}",
        *ctx.sizes.train,
        *extra,
    )


def export(ctx: Context) -> None:
    ctx.run(
        "training.export",
        f"--network={ctx.work_dir / 'network.keras'}",
        f"--data-dir={ctx.data_dir}",
        f"--models-dir={ctx.models_dir}",
    )


def calibrate(ctx: Context) -> None:
    ctx.run(
        "training.calibration.calibrate",
        f"--data-dir={ctx.data_dir}",
        f"--models-dir={ctx.models_dir}",
        f"--per-kind={ctx.sizes.calibration_per_kind}",
    )


def probe(ctx: Context) -> None:
    ctx.run("training.fitting.fit_digit_probe", f"--data-dir={ctx.data_dir}", f"--rows={ctx.sizes.probe_rows}")
    ctx.run(
        "training.calibration.calibrate",
        f"--data-dir={ctx.data_dir}",
        f"--models-dir={ctx.models_dir}",
        f"--rows={ctx.sizes.calibration_rows}",
    )


def scene_rule(ctx: Context) -> None:
    ctx.run(
        "training.calibration.scene_rule",
        f"--data-dir={ctx.data_dir}",
        f"--models-dir={ctx.models_dir}",
        f"--work-dir={ctx.work_dir / 'scene-rule'}",
        *ctx.sizes.scene_rule,
    )


def metrics(ctx: Context) -> None:
    ctx.run(
        "training.evaluation.evaluate",
        f"--data-dir={ctx.data_dir}",
        f"--models-dir={ctx.models_dir}",
        f"--network-report={ctx.work_dir / 'network.json'}",
        "--write",
    )


def evaluate(ctx: Context) -> None:
    s, models = ctx.sizes, ctx.models_dir
    ctx.run(
        "training.evaluation.evaluate_preprocessing",
        f"--data-dir={ctx.data_dir}",
        f"--per-kind={s.eval_per_kind}",
        f"--model={models / 'digits.tflite'}",
        f"--output={models / 'preprocessing_eval.json'}",
    )
    ctx.run(
        "training.evaluation.evaluate_non_digits",
        f"--per-family={s.eval_per_family}",
        f"--photographs={s.eval_per_family}",
        f"--digits-per-kind={s.eval_per_family // 3}",
        f"--data-dir={ctx.data_dir}",
        f"--model-dir={models}",
        f"--output={models / 'non_digit_eval.json'}",
    )
    ctx.run(
        "training.evaluation.evaluate_rows",
        f"--data-dir={ctx.data_dir}",
        f"--rows={s.eval_rows}",
        f"--output={models / 'rows_eval.json'}",
    )
    ctx.run(
        "training.evaluation.evaluate_rows",
        f"--data-dir={ctx.data_dir}",
        f"--rows={s.eval_rows}",
        "--kinds",
        "overlapping",
        "angled",
        "signed",
        "marked",
        f"--output={models / 'rows_eval_hands.json'}",
    )


def card(ctx: Context) -> None:
    ctx.run("training.evaluation.model_card", f"--models-dir={ctx.models_dir}")
    if ctx.models_dir == (REPO / "models").resolve():  # the docs quote the shipped files only
        ctx.run("infra.docs_figures")


def scene(ctx: Context) -> None:
    ctx.run(
        "training.fitting.train_scene",
        f"--data-dir={ctx.data_dir}",
        f"--models-dir={ctx.models_dir}",
        f"--work-dir={ctx.work_dir / 'scene'}",
        *ctx.sizes.scene,
    )


def row_reader(ctx: Context) -> None:
    """The row reader's strips (each made once: a file there is kept), then the reader trained on
    them (the last set is the validation rows)."""
    folder = ctx.work_dir / "row_strips"
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / ("_".join(arg.split("=")[1] for arg in spec[:3]) + ".npz") for spec in ctx.sizes.row_strips]
    for spec, file in zip(ctx.sizes.row_strips, files, strict=True):
        if not file.exists():
            ctx.run("training.data.row_strips", f"--data-dir={ctx.data_dir}", *spec, f"--output={file}")
    ctx.run(
        "training.fitting.train_row_reader",
        f"--data-dir={ctx.data_dir}",
        f"--models-dir={ctx.models_dir}",
        "--strips",
        *map(str, files[:-1]),
        f"--val-strips={files[-1]}",
        *ctx.sizes.row_reader,
    )


STEPS: dict[str, Callable[[Context], None]] = {
    "served": served,
    "scene": scene,
    "row_reader": row_reader,
    "network": network,
    "export": export,
    "calibrate": calibrate,
    "probe": probe,
    "scene_rule": scene_rule,
    "metrics": metrics,
    "evaluate": evaluate,
    "card": card,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with the MNIST IDX files")
    parser.add_argument("--work-dir", type=Path, default=REPO / "build" / "model")
    parser.add_argument("--models-dir", type=Path, default=REPO / "models")
    parser.add_argument("--corrections-dir", type=Path, help="users' corrections to train on too")
    parser.add_argument("--only", nargs="*", choices=list(STEPS), help="these steps (stamps or not)")
    parser.add_argument("--smoke", action="store_true", help="every step on a tiny slice (for the tests)")
    args = parser.parse_args(argv)
    ctx = Context(
        args.data_dir.resolve(),
        args.work_dir.resolve(),
        args.models_dir.resolve(),
        args.corrections_dir.resolve() if args.corrections_dir else None,
        SMOKE if args.smoke else FULL,
    )
    stamps = ctx.work_dir / "done"
    stamps.mkdir(parents=True, exist_ok=True)
    for name, step in STEPS.items():
        stamp = stamps / name
        if args.only is not None and name not in args.only:
            continue
        if args.only is None and stamp.exists():
            print(f"== {name}: done before ({stamp}), skipped", flush=True)
            continue
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            step(ctx)
        except subprocess.CalledProcessError as exc:
            print(f"error: step {name} failed ({exc}); fix it and run again: finished steps are kept", file=sys.stderr)
            return 1
        stamp.write_text(f"{time.monotonic() - started:.0f} s\n")
        print(f"== {name}: {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
