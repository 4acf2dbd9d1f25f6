"""The model card's figures, written from the evaluation files (never by hand).

    python -m training.evaluation.model_card [--models-dir models] [--check]

In: ``metrics.json``, ``calibration.json``, ``preprocessing_eval.json``, ``non_digit_eval.json``,
``scene.json``, ``rows_eval.json``, ``rows_eval_hands.json`` (written by ``training.pipeline``). Out: the tables
between the ``figures`` markers of ``models/README.md``, replaced in place; ``--check`` only
says whether they are up to date (the test suite checks the committed card so).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

START = "<!-- model-card:figures (python -m training.evaluation.model_card writes this part) -->"
END = "<!-- /model-card:figures -->"


def _load(models_dir: Path, name: str) -> dict[str, Any] | None:
    path = models_dir / name
    return json.loads(path.read_text()) if path.is_file() else None


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def test_table(metrics: dict[str, Any]) -> list[str]:
    served = metrics.get("as_served", {})
    training = metrics.get("training") or {}
    return [
        "| MNIST test set (10,000) | figure |",
        "| --- | --- |",
        f"| read right, the 28x28 digits as they are | **{_pct(metrics['test_accuracy'])}** |",
        f"| read right, each uploaded as a PNG and read as the service reads it | **{_pct(served.get('accuracy'))}** |",
        f'| the same, a digit answered "not a digit" counted as a miss | {_pct(served.get("accuracy_refusals_as_misses"))} |',
        f'| answered "not a digit" (uploaded) | {_pct(served.get("refused_as_not_digit"))} |',
        f"| parameters | {training.get('parameters', '—'):,} |"
        if isinstance(training.get("parameters"), int)
        else "| parameters | — |",
        f"| digits.tflite | {metrics['tflite_bytes'] / 1e6:.2f} MB |",
    ]


def kinds_table(evaluation: dict[str, Any]) -> list[str]:
    lines = [
        '| kind | MNIST-made | font-made | "not a digit" | ECE | wrong at >90% |',
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, sources in evaluation["kinds"].items():
        mnist, fonts = sources.get("mnist", {}), sources.get("fonts", {})
        refused = max(mnist.get("not_digit", 0.0), fonts.get("not_digit", 0.0))
        ece = max(mnist.get("ece", 0.0), fonts.get("ece", 0.0))
        wrongs = [s["confident_wrong"] for s in (mnist, fonts) if "confident_wrong" in s]
        wrong = max(wrongs) if wrongs else None
        lines.append(
            f"| {kind} | {_pct(mnist.get('accuracy'), 1)} | {_pct(fonts.get('accuracy'), 1)} | {_pct(refused, 1)} "
            f"| {ece:.3f} | {_pct(wrong, 1)} |"  # "—": an evaluation from before the figure existed
        )
    return lines


def non_digit_table(report: dict[str, Any]) -> list[str]:
    lines = ["| non-digits | refused |", "| --- | --- |"]
    for family, entry in report["families"].items():
        lines.append(f"| {family} | {_pct(entry['refused'], 1)} |")
    lines.append(f"| **all** | **{_pct(report['refused_overall'], 1)}** |")
    photographs = report.get("photographs")
    if photographs:
        lines.append(
            f"| held-out photographs (apart: {photographs['n']}) | {_pct(photographs['refused'], 1)} "
            f"({_pct(photographs['refused_as_photographs'], 1)} as photographs) |"
        )
    digits = report.get("digits")
    if digits:
        shares = digits["refused_as_photographs"]
        worst = max(shares, key=shares.get)
        lines.append(
            f"| MNIST test digits refused as photographs ({digits['per_kind']} of each of {len(shares)} upload kinds) "
            + (f"| at most {_pct(shares[worst], 1)} ({worst}) |" if shares[worst] else "| none |")
        )
    return lines


def scene_table(report: dict[str, Any]) -> list[str]:
    """The scene judgement alone: refused per kind of upload, validation and held out."""
    lines = ["| upload kind | validation: refused | held out: refused |", "| --- | --- | --- |"]
    for kind, entry in report["validation"].items():
        held = report["held_out"].get(kind, {})
        lines.append(f"| {kind} | {_pct(entry['refused'], 1)} | {_pct(held.get('refused'), 1)} |")
    return lines


def rows_table(first: dict[str, Any] | None, hands: dict[str, Any] | None) -> list[str]:
    lines = ["| rows of 2-6 digits | exact number |", "| --- | --- |"]
    for report in (first, hands):
        if report is None:
            continue
        for kind, entry in report.get("by_kind", {}).items():
            lines.append(f"| {kind} | {_pct(entry.get('exact'), 1)} |")
    if first is not None:
        lines.append(f"| **first six kinds together** | **{_pct(first['exact_number_accuracy'], 1)}** |")
    return lines


def readings_table(calibration: dict[str, Any]) -> list[str]:
    """What the second reading (grey levels) and "the surer of the two" buy, per kind."""
    alone = calibration.get("ink_map_reading_only") or {}
    lines = [
        "| validation kind | as served (surer of two readings) | the ink map's reading alone |",
        "| --- | --- | --- |",
    ]
    for kind, after in calibration["after"].items():
        if "accuracy" in after and kind in alone:
            lines.append(f"| {kind} | {_pct(after['accuracy'], 1)} | {_pct(alone[kind]['accuracy'], 1)} |")
    return lines


def figures(models_dir: Path) -> str:
    """The generated block, markers included."""
    metrics = _load(models_dir, "metrics.json")
    calibration = _load(models_dir, "calibration.json")
    kinds = _load(models_dir, "preprocessing_eval.json")
    non_digits = _load(models_dir, "non_digit_eval.json")
    lines = [START, ""]
    if metrics is not None:
        lines += test_table(metrics) + [""]
    if calibration is not None:
        lines += [
            f"Calibration (validation uploads, `calibration.json`): temperature {calibration['temperature']:.3f}; "
            f'"not a digit" below P(digit) {calibration["not_digit_below"]:.4f}.',
            "",
        ]
        if calibration.get("ink_map_reading_only"):
            lines += [
                'What the grey-level reading and "the surer of the two" buy (validation uploads, '
                "`calibration.json`; refusals count as misses):",
                "",
                *readings_table(calibration),
                "",
            ]
    if kinds is not None:
        lines += [
            "Each evaluation kind (`preprocessing_eval.json`: MNIST test digits and the evaluation fonts, "
            'as uploads through the service; "not a digit", ECE and wrong-and-sure: the worse of the two sources):',
            "",
            *kinds_table(kinds),
            "",
        ]
    if non_digits is not None:
        lines += ["`non_digit_eval.json`:", "", *non_digit_table(non_digits), ""]
    scene = _load(models_dir, "scene.json")
    if scene is not None:
        # train_scene's figures are at its own threshold; scene_rule may choose another (below).
        own = float(scene.get("photograph_above_by_the_scene_set", scene["photograph_above"]))
        lines += [
            f"The scene judgement alone on its own sets (`scene.json`, at `train_scene`'s threshold: refused above "
            f"P(photograph) {own:.4f}; writing kinds should read 0%, photograph kinds 100%):",
            "",
            *scene_table(scene),
            "",
        ]
        joint = scene.get("scene_rule")
        if joint:
            figures = joint["validation"]
            lines += [
                f"With the digit network (`scene.json` `scene_rule`, `training.calibration.scene_rule`): {joint['rule']}. "
                f"Validation photographs refused {_pct(figures['photographs_refused'], 1)} (by the threshold and the "
                f"digit network without the rule: {_pct(figures['photographs_refused_by_the_threshold_alone'], 1)}); "
                f"validation writing the digit network accepted, refused by it: {_pct(figures['writing_refused'], 2)} "
                f"of {figures['writing_accepted_by_the_digit_network']} (worst kind "
                f"{_pct(figures['worst_kind_refused'], 2)}).",
                "",
            ]
    rows = rows_table(_load(models_dir, "rows_eval.json"), _load(models_dir, "rows_eval_hands.json"))
    if len(rows) > 2:
        lines += ["`rows_eval.json`, `rows_eval_hands.json` (MNIST test digits):", "", *rows, ""]
    lines.append(END)
    return "\n".join(lines)


def updated(card: str, block: str) -> str:
    if START not in card or END not in card:
        raise ValueError(f"the model card has no figures block ({START} ... {END})")
    head, rest = card.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=Path(__file__).resolve().parents[2] / "models")
    parser.add_argument("--check", action="store_true", help="exit 1 if the card's figures are stale")
    args = parser.parse_args(argv)
    card_path = args.models_dir / "README.md"
    card = card_path.read_text() if card_path.is_file() else f"# Model card\n\n{START}\n{END}\n"
    new = updated(card, figures(args.models_dir))
    if args.check:
        if new != card:
            print(f"{card_path}: figures are stale; run python -m training.evaluation.model_card", file=sys.stderr)
            return 1
        return 0
    card_path.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
