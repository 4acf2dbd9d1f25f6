"""make bench --against's plumbing: the requests it sends, REF's requirements, the order of the
sides and the dry run. No timing is asserted (the machine's load moves every figure)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from PIL import Image

from infra import bench, bench_against


def test_the_requests_are_the_sites_own() -> None:
    requests = {r.name: r for r in bench_against.site_requests()}
    assert list(requests) == ["canvas", "shrunk_photo", "row_of_five"]
    canvas = Image.open(io.BytesIO(requests["canvas"].data))
    assert (canvas.format, canvas.mode, canvas.size) == ("PNG", "RGBA", (280, 280))
    photo = Image.open(io.BytesIO(requests["shrunk_photo"].data))
    assert photo.format == "JPEG" and photo.size[0] * photo.size[1] <= bench_against.SEND_PIXELS
    assert photo.size[0] > 2000  # shrunk from 12 megapixels, not a small picture
    row = Image.open(io.BytesIO(requests["row_of_five"].data))
    assert row.size[0] > 3 * row.size[1]  # five digits side by side
    assert requests["canvas"].path == "/api/predict?explain=true"  # as site/js/api.js asks
    assert requests["row_of_five"].path == "/api/predict/multi?feature_maps=true&explain=true"
    plain = {r.name: r.path for r in bench_against.site_requests(explain=False)}
    assert plain == {
        "canvas": "/api/predict",
        "shrunk_photo": "/api/predict",
        "row_of_five": "/api/predict/multi?feature_maps=true",
    }


def test_a_ref_without_a_run_requirements_file_gets_its_serving_pins_and_our_stack(tmp_path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "requirements.txt").write_text("numpy==1.0\n")
    text = bench_against.run_requirements(tmp_path)
    assert "numpy==1.0" in text and "uvicorn==" in text and "moto[s3]==" in text
    assert "-r " not in text  # included files are written out: the venv's key is its pins
    (tmp_path / "requirements-run.txt").write_text("-r functions/requirements.txt\nuvicorn==9.9\n")
    assert bench_against.run_requirements(tmp_path) == "numpy==1.0\n\nuvicorn==9.9\n"


def test_the_sides_take_turns_going_first() -> None:
    orders = [order for _, order in bench_against.alternation(4, ["this", "ref"])]
    assert orders == [["this", "ref"], ["ref", "this"], ["this", "ref"], ["ref", "this"]]
    assert bench_against.ratio(5.0, 10.0) == 0.5 and bench_against.ratio(1.0, 0.0) is None


def test_a_dry_run_names_the_commit_and_the_requests_and_starts_nothing(capsys) -> None:
    bench.main(["--against", "HEAD", "--dry-run"])
    planned = json.loads(capsys.readouterr().out)
    assert planned["commit"] == bench_against.resolve("HEAD") and len(planned["commit"]) == 40
    assert planned["worktree"].endswith(planned["commit"][:12])
    assert [r["name"] for r in planned["requests"]] == ["canvas", "shrunk_photo", "row_of_five"]


def test_an_unknown_ref_is_refused() -> None:
    with pytest.raises(ValueError, match="names no commit"):
        bench_against.resolve("no-such-ref-26")


def test_a_side_runs_as_its_api_alone_and_stops_when_told() -> None:
    """``--app-only``: the side's own app answers the site's requests from a process of its own
    (whose CPU the bench reads), without the local stack's memory policy, and ends with its stdin."""
    import httpx

    from infra.bench import multipart
    from infra.bench_against import REPO_ROOT, Side, app_only_process, process_cpu_seconds, site_requests

    side = Side("this", REPO_ROOT, Path(sys.executable))
    canvas = site_requests()[0]
    with app_only_process(side) as (url, pid):
        before = process_cpu_seconds(pid)
        body, content_type = multipart(canvas.data, canvas.filename, canvas.content_type)
        answer = httpx.post(url + canvas.path, content=body, headers={"content-type": content_type}, timeout=60)
        assert answer.status_code == 200 and answer.json()["predicted_digit"] == 7
        assert answer.json()["input_url"]  # its maps stored in its own moto
        assert process_cpu_seconds(pid) > before
        assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1] == b"-c"  # APP_ONLY, not serve()
    assert not Path(f"/proc/{pid}").exists() or b"zombie" in Path(f"/proc/{pid}/status").read_bytes().lower()
