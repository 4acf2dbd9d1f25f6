"""infra/bulk_bench.py's generated files and its comparison with /api/predict's answers."""

from __future__ import annotations

from pathlib import Path

from infra.bulk_bench import differs, make_files


def test_the_generated_files_hold_every_kind_and_a_few_corrupt_ones(tmp_path: Path) -> None:
    kinds = make_files(tmp_path, 200, seed=1)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(kinds)
    counts = {kind: list(kinds.values()).count(kind) for kind in set(kinds.values())}
    assert set(counts) == {"digit", "row", "not_digit", "blank", "corrupt"}
    assert counts["digit"] > counts["row"] > 0 and 3 <= counts["corrupt"] <= 10
    assert all((tmp_path / name).stat().st_size > 0 for name in kinds)  # S3's policy takes no empty file


def test_an_answer_differs_by_its_digit_its_error_or_more_than_a_rounding_of_its_confidence() -> None:
    api = {"digit": 7, "confidence": 99.1, "is_digit": True}
    line = {"file": "a.png", "digit": 7, "confidence": 99.2, "is_digit": True, "error": None}
    assert not differs(line, api)
    assert differs({**line, "digit": 1}, api)
    assert differs({**line, "is_digit": False}, api)
    assert differs({**line, "confidence": 98.9}, api)
    assert differs({**line, "error": "invalid_image"}, api)
    assert not differs({"file": "b.png", "error": "invalid_image"}, {"error": "invalid_image"})
    assert differs({"file": "b.png", "error": "no_digit_found"}, {"error": "invalid_image"})
