"""schemathesis against the running local stack's /api/openapi.json: every operation (multi
and batch included), every phase, every check but one, and never a 5xx.

Excluded: ``positive_data_acceptance``. The schema types each upload as any binary string (an
OpenAPI schema cannot say "an image holding a digit"), so schema-valid bytes refused with 415 or
422 are the API doing its job, not a mismatch.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import STACK_GROUP

pytestmark = pytest.mark.xdist_group(STACK_GROUP)

EXCLUDED_CHECKS = {"positive_data_acceptance": "uploads are typed as any bytes; non-images are refused by design"}


def schemathesis_command() -> list[str]:
    beside_python = Path(sys.executable).with_name("schemathesis")
    return [str(beside_python)] if beside_python.exists() else [sys.executable, "-m", "schemathesis.cli"]


def test_the_openapi_schema_holds_under_schemathesis(reliability_stack, scale, figures, tmp_path):
    report, events = tmp_path / "report.json", tmp_path / "events.ndjson"
    command = [
        *schemathesis_command(),
        "--no-color",
        "run",
        f"{reliability_stack.url}/api/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--max-examples",
        str(scale.schemathesis_examples),
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--report",
        "json,ndjson",
        "--report-json-path",
        str(report),
        "--report-ndjson-path",
        str(events),
    ]
    # make test: the same cases every run; make reliability: fresh ones, nothing kept on disk.
    command += ["--generation-database", "none"] if scale.full else ["--generation-deterministic"]
    # In a scratch folder: schemathesis keeps a cache of failures under its working directory.
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads(report.read_text())
    statuses = [int(code) for code in re.findall(r'"status_code":\s*(\d{3})', events.read_text())]
    operations = sorted(httpx.get(f"{reliability_stack.url}/api/openapi.json").json()["paths"])
    figures["schemathesis"] = {
        "cases": summary["test_cases"]["generated"],
        "requests": len(statuses),
        "server_errors": sum(1 for status in statuses if status >= 500),
        "failures": summary["test_cases"]["with_failures"],
        "phases": {name: phase["status"] for name, phase in summary["phases"].items()},
        "operations": operations,
        "excluded_checks": EXCLUDED_CHECKS,
        "exit_code": run.returncode,
    }
    assert run.returncode == 0, run.stdout[-6000:]
    assert summary["test_cases"]["generated"] > 0 and statuses
    assert figures["schemathesis"]["server_errors"] == 0
