"""The figures in docs/ and the README that come from files say what those files hold
(infra/docs_figures.py writes them; this fails until it is run after a file changes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from infra import docs_figures
from infra.bench import requirements_sha256

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    "models/preprocessing_eval.json",
    "models/rows_eval.json",
    "models/metrics.json",
    docs_figures.INSTALL_SIZES,
)


def test_every_marked_figure_is_what_its_file_gives() -> None:
    found = docs_figures.differences(REPO_ROOT)
    listed = "\n".join(f"{d.document}: {d.name}: says {d.said!r}, the files give {d.files_say!r}" for d in found)
    assert not found, f"run `python -m infra.docs_figures` to write them from the files:\n{listed}"


def test_every_figure_is_marked_somewhere_and_every_mark_is_a_figure() -> None:
    assert docs_figures.marked_names(REPO_ROOT) == set(docs_figures.FIGURES)


def test_the_install_sizes_were_measured_with_todays_requirements() -> None:
    sizes = json.loads((REPO_ROOT / docs_figures.INSTALL_SIZES).read_text())
    for which in ("serving_install", "run_install"):
        measured = sizes[which]
        requirements = REPO_ROOT / measured["requirements"]
        assert measured["requirements_sha256"] == requirements_sha256(requirements), (
            f"{requirements.name} changed since {which} was measured: "
            "run `python -m infra.docs_figures --measure-install`"
        )


def test_a_changed_file_fails_the_check_until_the_docs_are_written_again(tmp_path: Path) -> None:
    for path in (*docs_figures.DOCUMENTS, *SOURCES):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / path, tmp_path / path)
    with open(tmp_path / "models" / "digits.tflite", "wb") as model:
        model.truncate((REPO_ROOT / "models" / "digits.tflite").stat().st_size)
    evaluation = tmp_path / "models" / "preprocessing_eval.json"
    figures = json.loads(evaluation.read_text())
    pencil = figures["kinds"]["pencil"]["fonts"]
    pencil["accuracy"] = 0.5
    figures["kinds"]["scribbled_envelope"] = {"mnist": dict(pencil, accuracy=0.25)}  # a kind added by a new run
    evaluation.write_text(json.dumps(figures))

    assert {d.name for d in docs_figures.differences(tmp_path)} == {"preprocessing-table", "preprocessing-summary"}
    assert docs_figures.rewrite(tmp_path) == ["docs/accuracy.md"]
    assert docs_figures.differences(tmp_path) == []
    written = (tmp_path / "docs" / "accuracy.md").read_text()
    assert "| pencil (faint, grainy, thin) |" in written and "| 50.0% |" in written
    assert "| scribbled_envelope | 25.0% |" in written
    assert "Pooled, every kind is read at 25.0% or better (the lowest: scribbled envelope)" in written
