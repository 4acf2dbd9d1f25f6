"""The Makefile as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_make_bench_prints_only_json() -> None:
    quick = "--cold-runs 1 --requests 3 --skip-install-size"
    done = subprocess.run(
        ["make", "-s", "bench", f"BENCH_ARGS={quick}"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)  # nothing else on stdout: `make -s bench > out.json` is JSON
    assert figures["cold_start"]["median_ms"] > 0 and figures["warm_http"]["requests"] == 3
