"""The figures in docs/ and the README that come from files, written from those files.

    python -m infra.docs_figures                    # rewrite every marked figure from its file
    python -m infra.docs_figures --check            # list the figures that disagree (exit 1)
    python -m infra.docs_figures --measure-install  # measure the install sizes again first (pip: minutes)

A figure is marked in the Markdown by a pair of HTML comments, invisible once rendered:
``<!-- figures:NAME -->...<!-- /figures:NAME -->``, inline in a sentence or around whole lines
(a table). NAME is one of ``FIGURES`` below, each a function of the repository's files:
``models/*.json`` (the evaluations training writes: re-run this after ``make model``), the
model file's size, and ``docs/install_sizes.json`` (``python -m infra.bench --install-sizes``).
``tests/infra/test_docs_figures.py`` fails while any marked figure differs from what its file
gives, and while the install sizes were measured with other requirements than today's.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/accuracy.md", "docs/rows.md", "docs/benchmarks.md")
INSTALL_SIZES = "docs/install_sizes.json"
MARKED = re.compile(r"<!-- figures:(?P<name>[\w-]+) -->(?P<body>.*?)<!-- /figures:(?P=name) -->", re.DOTALL)
ROWS_GOAL = 0.95  # the share of whole numbers read exactly that rows aim at (docs/rows.md)
UNDER = 0.98  # preprocessing figures under this are named one by one

# What each evaluation kind imitates (models/preprocessing_eval.json names them; training/data/realistic.py makes them).
KIND_DESCRIPTIONS = {
    "clean_mnist": "the MNIST image itself",
    "dark_on_light": "scan: dark ink on white",
    "light_on_dark": "chalk on a board, uneven light",
    "photo_uneven_light": "tint, light fall-off, shadow, blur, JPEG",
    "ruled_paper": "blue or grey rules, red margin, tilted",
    "squared_paper": "grid crossing the strokes",
    "pencil": "faint, grainy, thin",
    "thick_marker": "felt tip, strokes 1/5 to 1/4 of the height",
    "small_in_large": "4-12% of a 0.5-3.4 MP photo",
    "specks_noise": "dust, blots, heavy JPEG",
    "canvas_rgba": "strokes on a transparent canvas",
    "exotic_format": "16-bit, CMYK, palette, LA, GIF, WebP, TIFF, float, 1-bit, EXIF-rotated",
    "low_resolution": "a digit scanned in 7-10 px and enlarged again, blocky or blurry",
    "cursive_slant": "an italic hand leaning 17-31 degrees, narrower",
    "hairline_pen": "a fine pen, or a broad nib with hairline joins, often grey or blue ink",
}
SOURCES = {"mnist": "made from MNIST", "fonts": "made from fonts"}


def percent(share: float, digits: int = 1) -> str:
    return f"{share * 100:.{digits}f}%"


def kind_name(kind: str) -> str:
    return kind.replace("_", " ")


@dataclass
class Files:
    """The files figures come from, read once each, under ``root`` (a checkout)."""

    root: Path
    _read: dict[str, Any] = field(default_factory=dict)

    def json(self, path: str) -> Any:
        if path not in self._read:
            self._read[path] = json.loads((self.root / path).read_text())
        return self._read[path]

    @cached_property
    def preprocessing(self) -> dict[str, Any]:
        return self.json("models/preprocessing_eval.json")

    @cached_property
    def rows(self) -> dict[str, Any]:
        return self.json("models/rows_eval.json")

    def install(self, which: str) -> dict[str, Any]:
        return self.json(INSTALL_SIZES)[which]


# --- models/metrics.json, the model file ---------------------------------------------------------


def mnist_test_accuracy(files: Files) -> str:
    return percent(files.json("models/metrics.json")["test_accuracy"], 2)


def model_size(files: Files) -> str:
    return f"{(files.root / 'models' / 'digits.tflite').stat().st_size / 1e6:.1f} MB"


# --- models/preprocessing_eval.json -----------------------------------------------------------


def pooled(kind: dict[str, dict[str, Any]]) -> float:
    """The accuracy over every image of a kind, whatever it was made from."""
    parts = list(kind.values())
    return sum(part["accuracy"] * part["n"] for part in parts) / sum(part["n"] for part in parts)


def preprocessing_table(files: Files) -> str:
    lines = [
        "| kind | MNIST-made: ours | naive | font-made: ours | naive | both: ours | ms (CPU) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, made in files.preprocessing["kinds"].items():
        description = KIND_DESCRIPTIONS.get(kind)
        label = f"{kind} ({description})" if description else kind
        cells = [label]
        for source in ("mnist", "fonts"):
            part = made.get(source)
            cells += [percent(part["accuracy"]), percent(part["naive_accuracy"])] if part else ["-", "-"]
        timing = (made.get("mnist") or next(iter(made.values())))["cpu_ms_p50"]
        cells += [percent(pooled(made)), f"{timing:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def preprocessing_summary(files: Files) -> str:
    kinds: dict[str, dict[str, dict[str, Any]]] = files.preprocessing["kinds"]
    lowest = min(kinds, key=lambda kind: pooled(kinds[kind]))
    from_mnist = {kind: made["mnist"]["accuracy"] for kind, made in kinds.items() if "mnist" in made}
    lowest_mnist = min(from_mnist, key=lambda kind: from_mnist[kind])
    figures = [(kind, source, part) for kind, made in kinds.items() for source, part in made.items()]
    under = [(kind, source, part) for kind, source, part in figures if part["accuracy"] < UNDER]
    refused_kind, refused_source, refused = max(figures, key=lambda figure: figure[2]["not_digit"])
    named = "; ".join(
        f"{kind_name(kind)} {SOURCES.get(source, source)} ({percent(part['accuracy'])})"
        for kind, source, part in sorted(under, key=lambda figure: figure[2]["accuracy"])
    )
    text = (
        f"Pooled, every kind is read at {percent(pooled(kinds[lowest]))} or better (the lowest: "
        f"{kind_name(lowest)}); every kind made from MNIST digits at {percent(from_mnist[lowest_mnist])} or better "
        f"(the lowest: {kind_name(lowest_mnist)}). "
    )
    if under:
        text += f"{len(under)} figures of {len(figures)} are under {percent(UNDER, 0)}: {named}. "
    else:
        text += f"None of the {len(figures)} figures is under {percent(UNDER, 0)}. "
    text += (
        f"Answered 'not a digit': at most {percent(refused['not_digit'])} of a kind "
        f"({kind_name(refused_kind)} {SOURCES.get(refused_source, refused_source)})."
    )
    return text


def preprocessing_per_kind(files: Files) -> str:
    return str(files.preprocessing["per_kind"])


def preprocessing_font_count(files: Files) -> str:
    return str(len(files.preprocessing["fonts"]))


# --- models/rows_eval.json ----------------------------------------------------------------------


def rows_table(files: Files) -> str:
    rows = files.rows
    lines = [
        "| rows | whole number exact |",
        "| --- | --- |",
        f"| all {rows['rows']} | **{percent(rows['exact_number_accuracy'])}** |",
    ]
    for length, part in sorted(rows["by_length"].items(), key=lambda item: int(item[0])):
        lines.append(f"| {length} digits ({part['n']}) | {percent(part['exact'])} |")
    for kind, part in rows["by_kind"].items():
        lines.append(f"| {kind_name(kind)} ({part['n']}) | {percent(part['exact'])} |")
    if "touching" in rows["by_kind"]:
        others = [part for kind, part in rows["by_kind"].items() if kind != "touching"]
        count = sum(part["n"] for part in others)
        exact = sum(part["exact"] * part["n"] for part in others) / count
        lines.append(f"| all but touching ({count}) | {percent(exact)} |")
    return "\n".join(lines)


def rows_summary(files: Files) -> str:
    rows = files.rows
    exact = rows["exact_number_accuracy"]
    wrong = rows["wrong"]
    cut_wrong = [row for row in wrong if not row["segmented"]]
    too_few = sum(len(row["read"]) < len(row["number"]) for row in cut_wrong)
    too_many = sum(len(row["read"]) > len(row["number"]) for row in cut_wrong)
    hardest = min(rows["by_kind"], key=lambda kind: rows["by_kind"][kind]["exact"])
    verdict = "met" if exact >= ROWS_GOAL else "not met"
    return (
        f"Digit count right in {percent(rows['digit_count_accuracy'])} of rows; every digit found where it is "
        f"(box IoU >= 0.5) in {percent(rows['segmentation_accuracy'])}; {rows['ms_per_row_p50']:.0f} ms per row at "
        f"the median ({rows['ms_per_row_p95']:.0f} ms p95) on the machine that measured it. "
        f"**The goal, {percent(ROWS_GOAL, 0)} of whole numbers exact: {percent(exact)}, {verdict}.** "
        f"Of the {len(wrong)} rows misread, {len(cut_wrong)} are cut wrong ({too_few} with a digit too few, "
        f"{too_many} with one too many) and the rest have a digit misread; the hardest kind is "
        f"{kind_name(hardest)} ({percent(rows['by_kind'][hardest]['exact'])})."
    )


# --- docs/install_sizes.json --------------------------------------------------------------------


def largest(install: dict[str, Any], count: int = 4) -> str:
    return ", ".join(f"{name} {size:.0f}" for name, size in list(install["largest_mb"].items())[:count])


def serving_install(files: Files) -> str:
    install = files.install("serving_install")
    return (
        f"{install['installed_mb']} MiB ({install['installed_mb'] * 1.048576:.0f} MB; "
        f"the largest, MiB: {largest(install)})"
    )


def run_install(files: Files) -> str:
    return f"{files.install('run_install')['installed_mb']:.0f} MiB"


def install_table(files: Files) -> str:
    lines = ["| what | requirements | installed | the largest (MiB) |", "| --- | --- | --- | --- |"]
    for which, what in (("serving_install", "the function (Lambda image)"), ("run_install", "`make run`")):
        install = files.install(which)
        lines.append(
            f"| {what} | `{install['requirements']}` | {install['installed_mb']} MiB | {largest(install, 6)} |"
        )
    return "\n".join(lines)


FIGURES: dict[str, Callable[[Files], str]] = {
    "mnist-test-accuracy": mnist_test_accuracy,
    "model-size": model_size,
    "preprocessing-table": preprocessing_table,
    "preprocessing-summary": preprocessing_summary,
    "preprocessing-per-kind": preprocessing_per_kind,
    "preprocessing-font-count": preprocessing_font_count,
    "rows-table": rows_table,
    "rows-summary": rows_summary,
    "serving-install": serving_install,
    "run-install": run_install,
    "install-table": install_table,
}


# --- rewriting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    document: str
    name: str
    said: str
    files_say: str


def rewritten(text: str, files: Files) -> str:
    """``text`` with each marked figure as its files give it (a block keeps its own lines)."""

    def figure(match: re.Match[str]) -> str:
        name, body = match["name"], match["body"]
        if name not in FIGURES:
            raise KeyError(f"no figure named {name!r} (infra/docs_figures.py: FIGURES)")
        value = FIGURES[name](files)
        if body.startswith("\n"):  # around whole lines
            value = f"\n{value}\n"
        return f"<!-- figures:{name} -->{value}<!-- /figures:{name} -->"

    return MARKED.sub(figure, text)


def differences(root: Path = REPO_ROOT) -> list[Difference]:
    """Each marked figure whose text differs from what its file gives."""
    files = Files(root)
    found = []
    for document in DOCUMENTS:
        text = (root / document).read_text()
        for said, should in zip(MARKED.finditer(text), MARKED.finditer(rewritten(text, files)), strict=True):
            if said["body"] != should["body"]:
                found.append(Difference(document, said["name"], said["body"].strip(), should["body"].strip()))
    return found


def marked_names(root: Path = REPO_ROOT) -> set[str]:
    return {match["name"] for document in DOCUMENTS for match in MARKED.finditer((root / document).read_text())}


def rewrite(root: Path = REPO_ROOT) -> list[str]:
    """Rewrite every document's marked figures; the documents that changed."""
    files = Files(root)
    changed = []
    for document in DOCUMENTS:
        path = root / document
        text = path.read_text()
        new = rewritten(text, files)
        if new != text:
            path.write_text(new)
            changed.append(document)
    return changed


def measure_install(root: Path = REPO_ROOT) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.bench", "--install-sizes"], cwd=root, capture_output=True, text=True, check=True
    )
    (root / INSTALL_SIZES).write_text(done.stdout if done.stdout.endswith("\n") else done.stdout + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list the figures that disagree with their files")
    parser.add_argument("--measure-install", action="store_true", help=f"measure {INSTALL_SIZES} again first")
    args = parser.parse_args(argv)
    if args.check:
        found = differences()
        for difference in found:
            print(
                f"{difference.document}: {difference.name}: says {difference.said!r}; the files: {difference.files_say!r}"
            )
        return 1 if found else 0
    if args.measure_install:
        measure_install()
    for document in rewrite():
        print(f"rewrote {document}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
