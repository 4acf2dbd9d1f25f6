"""A whole bulk job on the local stack (``make run``): files sent with the job's presigned POST
policy, read by the local stand-in for Step Functions (worker processes running the batch entry
point), one result line per file, the same answers as /api/predict."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.request
from pathlib import Path

import pytest

from infra.bulk_bench import differs, make_files, predict_one
from recognizer.cli import _get_json, _post, upload_to_job

pytestmark = [pytest.mark.xdist_group("local_stack"), pytest.mark.slow]


def follow(job: str) -> dict:
    """The job's status once it has ended (bounded: a job that never ends fails the test)."""
    for _ in range(3000):
        status = _get_json(job)
        if status["status"] != "running":
            return status
        time.sleep(0.1)
    raise AssertionError(f"{job} did not end: {status}")


def test_a_whole_job_on_the_local_stack(local_stack: str, tmp_path: Path) -> None:
    kinds = make_files(tmp_path, 40, seed=3)
    assert {"digit", "row", "not_digit", "corrupt"} <= set(kinds.values())
    api = local_stack + "/api"
    ticket = json.loads(_post(api + "/jobs", b"{}", "application/json"))
    paths = sorted(str(path) for path in tmp_path.iterdir())
    assert [upload_to_job(ticket, path) for path in paths] == [None] * len(paths)
    job = f"{api}/jobs/{ticket['job_id']}"
    started = json.loads(_post(job + "/start", json.dumps({"kind": "digit"}).encode(), "application/json"))
    assert started["status"] == "running" and started["files"] == 40
    status = follow(job)
    assert status["status"] == "succeeded" and status["done"] == status["files"] == 40
    with urllib.request.urlopen(status["results"]["csv"]) as response:
        table = list(csv.DictReader(io.StringIO(response.read().decode())))
    assert sorted(row["file"] for row in table) == sorted(kinds)  # exactly one line per file
    lines = {row["file"]: row for row in table}
    corrupt = [name for name, kind in kinds.items() if kind == "corrupt"]
    assert all(lines[name]["error"] for name in corrupt)
    assert status["failed_files"] == sum(bool(row["error"]) for row in table) >= len(corrupt)
    for path in paths:
        expected = predict_one(api, Path(path), "/predict")
        line = {key: value for key, value in lines[Path(path).name].items() if value != ""}
        line = {**line, **{k: json.loads(line[k]) for k in ("digit", "confidence") if k in line}}
        line["is_digit"] = line.get("is_digit") == "True" if "is_digit" in line else None
        assert not differs(line, expected), (path, line, expected)
