"""How many things that are not digits the service refuses, per kind of non-digit.

    python -m training.evaluation.evaluate_non_digits [--per-family 300]

Letters and symbols are written in the evaluation's handwriting fonts
(``training.data.realistic.HANDWRITING_FONTS``: never trained on, and not the fonts that chose the
threshold); scribbles, shapes and textures come from ``training.data.non_digits`` with the
evaluation's generator settings (``EVALUATION_STYLE``) and seeds of their own; "blank" is paper
with nothing written on it. Each becomes an upload of one of ``KINDS`` (a photo, a drawing, a
notebook page...) and is answered by the service itself (``Recognizer.predict_digit``): refused
means ``is_digit`` false or the error ``no_digit_found``. Apart, ``--photographs`` held-out
photographs (``training.data.scenes``) are answered the same way. Writes
``models/non_digit_eval.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ImageFont

from recognizer.errors import ClientError
from recognizer.networks import load_networks
from recognizer.service import Recognizer
from recognizer.settings import REPO_MODELS, Settings
from recognizer.vision.digit import crop_to_ink
from training.data import non_digits, realistic, scenes

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "models" / "non_digit_eval.json"

# The upload kinds non-digits arrive as (a subset of realistic.KINDS).
KINDS = (
    "clean_mnist",
    "dark_on_light",
    "photo_uneven_light",
    "pencil",
    "ruled_paper",
    "thick_marker",
    "canvas_rgba",
    "specks_noise",
)
FAMILIES = ("letters", "symbols", "scribbles", "shapes", "textures", "blank")
SEED = 7_000_003  # no other set uses it


@dataclass(frozen=True)
class Item:
    family: str
    what: str  # the character or drawing
    kind: str
    data: bytes


def _characters(chars: str, fonts: list[Path], rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    faces = {font: ImageFont.truetype(str(font), 64) for font in fonts}
    while True:
        font = fonts[int(rng.integers(len(fonts)))]
        char = chars[int(rng.integers(len(chars)))]
        if non_digits.has_glyph(faces[font], char, 64):
            ink = crop_to_ink(non_digits.text_ink(char, faces[font], 64), level=0.02)
            yield f"{char} ({font.name})", non_digits.varied(ink, rng, shear=0.2, angle=8)


def _drawings(
    names: tuple[str, ...], rng: np.random.Generator, style: non_digits.Style
) -> Iterator[tuple[str, np.ndarray]]:
    while True:
        name = names[int(rng.integers(len(names)))]
        yield name, non_digits.drawing(name, rng, style)


def _blank(rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    while True:
        yield "blank paper", np.zeros((int(rng.integers(40, 90)), int(rng.integers(40, 90))), np.float32)


def sources(
    fonts: list[Path], rng: np.random.Generator, style: non_digits.Style
) -> dict[str, Iterator[tuple[str, np.ndarray]]]:
    return {
        "letters": _characters(non_digits.LETTERS, fonts, rng),
        "symbols": _characters(non_digits.SYMBOLS, fonts, rng),
        "scribbles": _drawings(non_digits.FAMILIES["scribbles"], rng, style),
        "shapes": _drawings(non_digits.FAMILIES["shapes"], rng, style),
        "textures": _drawings(non_digits.FAMILIES["textures"], rng, style),
        "blank": _blank(rng),
    }


def items(
    family: str,
    count: int,
    fonts: list[Path],
    seed: int = SEED,
    style: non_digits.Style = non_digits.EVALUATION_STYLE,
) -> Iterator[Item]:
    """``count`` uploads of one family, the upload kinds in turn (seeded). The evaluation's
    defaults; validation (``training.calibration.calibrate``) passes its own fonts, seed and style."""
    rng = np.random.default_rng([seed, FAMILIES.index(family)])
    source = sources(fonts, rng, style)[family]
    for index in range(count):
        what, ink = next(source)
        kind = KINDS[index % len(KINDS)]
        yield Item(family, what, kind, realistic.KINDS[kind](realistic.ink_glyph(ink), rng))


def refused_by(recognizer: Recognizer) -> Callable[[bytes], tuple[bool, str]]:
    def answer(data: bytes) -> tuple[bool, str]:
        try:
            result = recognizer.predict_digit(data, store=False)
        except ClientError as exc:
            return exc.code == "no_digit_found", exc.code
        return not result.is_digit, f"{result.predicted_digit} ({result.confidence:g}%)"

    return answer


def digits_as_photographs(recognizer: Recognizer, data_dir: Path, per_kind: int) -> dict:
    """MNIST test digits as uploads of every kind (``realistic.mnist_samples``, seed 0, as
    ``evaluate_preprocessing`` makes them) through the service: the share of each kind refused
    as a photograph (the cost of refusing photographs, in real digits)."""
    from training.data.mnist import load_from_dir

    test = load_from_dir(data_dir).test
    shares: dict[str, float] = {}
    for kind in realistic.KINDS:
        refused = []
        for sample in realistic.mnist_samples(kind, test.images, test.labels, per_kind, seed=0):
            try:
                refused.append(recognizer.predict_digit(sample.data, store=False).refused_because == "photograph")
            except ClientError as exc:
                refused.append("photograph" in exc.message)
        shares[kind] = round(float(np.mean(refused)), 4)
    return {"per_kind": per_kind, "refused_as_photographs": shares}


def photographs(recognizer: Recognizer, count: int) -> dict:
    """Held-out photographs (``training.data.scenes``: packages, objects, graphics, screenshots the
    scene judgement never trained on) through the service: refused, and refused as photographs."""
    refused: dict[str, list[bool]] = {}
    as_photograph: list[bool] = []
    accepted: list[dict[str, str]] = []
    for kind, data in scenes.photograph_uploads("held_out", count, seed=SEED + 1):
        try:
            result = recognizer.predict_digit(data, store=False)
        except ClientError as exc:
            refused.setdefault(kind, []).append(exc.code == "no_digit_found")
            as_photograph.append("photograph" in exc.message)
            continue
        refused.setdefault(kind, []).append(not result.is_digit)
        as_photograph.append(result.refused_because == "photograph")
        if result.is_digit and len(accepted) < 20:
            accepted.append({"kind": kind, "answer": f"{result.predicted_digit} ({result.confidence:g}%)"})
    everything = [r for results in refused.values() for r in results]
    return {
        "n": len(everything),
        "refused": round(float(np.mean(everything)), 4) if everything else None,
        "refused_as_photographs": round(float(np.mean(as_photograph)), 4) if as_photograph else None,
        "by_kind": {kind: round(float(np.mean(results)), 4) for kind, results in sorted(refused.items())},
        "accepted_examples": accepted,
        "source": "training.data.scenes.photograph_uploads('held_out'): "
        + ", ".join(scenes.PHOTO_PACKAGES["held_out"])
        + f", the held-out fifth of {scenes.OBJECT_PACKAGE}, drawn graphics and screenshots",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-family", type=int, default=300)
    parser.add_argument("--model-dir", type=Path, default=REPO_MODELS)
    parser.add_argument("--families", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--photographs", type=int, default=400, help="held-out photographs (0: none)")
    parser.add_argument(
        "--digits-per-kind",
        type=int,
        default=0,
        help="MNIST test digits of each upload kind: how many refused as photographs",
    )
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "mnist")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    fonts = realistic.handwriting_fonts()
    if not fonts and {"letters", "symbols"} & set(args.families):
        print("note: no evaluation fonts installed: letters and symbols are skipped", file=sys.stderr)
    recognizer = Recognizer(Settings(), load_networks(args.model_dir, row_reader=False), store=None)
    answer = refused_by(recognizer)
    report: dict[str, dict] = {}
    print(f"{'family':<10} {'n':>5} {'refused':>8}   {'by kind'}")
    for family in args.families:
        if family in ("letters", "symbols") and not fonts:
            continue
        by_kind: dict[str, list[bool]] = {}
        accepted: list[dict[str, str]] = []
        for item in items(family, args.per_family, fonts):
            refused, said = answer(item.data)
            by_kind.setdefault(item.kind, []).append(refused)
            if not refused and len(accepted) < 40:
                accepted.append({"what": item.what, "kind": item.kind, "answer": said})
        everything = [r for results in by_kind.values() for r in results]
        report[family] = {
            "n": len(everything),
            "refused": round(float(np.mean(everything)), 4),
            "by_kind": {kind: round(float(np.mean(results)), 4) for kind, results in by_kind.items()},
            "accepted_examples": accepted,
        }
        kinds = " ".join(f"{kind[:6]}={value:.0%}" for kind, value in report[family]["by_kind"].items())
        print(f"{family:<10} {len(everything):>5} {report[family]['refused']:>8.1%}   {kinds}", flush=True)
    overall = [report[f]["refused"] * report[f]["n"] for f in report]
    total = sum(report[f]["n"] for f in report)
    summary = {
        "command": "python -m training.evaluation.evaluate_non_digits "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "refused_overall": round(sum(overall) / max(1, total), 4),
        "fonts": [font.name for font in fonts],
        "kinds": list(KINDS),
        "refused_means": "is_digit false, or the error no_digit_found",
        "families": report,
    }
    print(f"{'all':<10} {total:>5} {summary['refused_overall']:>8.1%}")
    if args.photographs:
        summary["photographs"] = photographs(recognizer, args.photographs)
        print(f"{'photos':<10} {summary['photographs']['n']:>5} {summary['photographs']['refused']:>8.1%}")
    if args.digits_per_kind:
        summary["digits"] = digits_as_photographs(recognizer, args.data_dir, args.digits_per_kind)
        worst = max(summary["digits"]["refused_as_photographs"].values())
        print(f"{'digits':<10} {args.digits_per_kind:>5} per kind, at most {worst:.1%} of a kind as photographs")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
