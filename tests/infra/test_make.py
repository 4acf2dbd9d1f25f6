"""The Makefile as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def outside_make() -> dict[str, str]:
    """The environment without what a parent ``make`` (``make test``) passes down to a child."""
    return {key: value for key, value in os.environ.items() if key not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}


def run_make(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """``make ARGS`` in the repository, output captured, as a user runs it (outside any make)."""
    return subprocess.run(
        ["make", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, env=outside_make()
    )


def test_make_bench_prints_only_json() -> None:
    quick = "--cold-runs 1 --requests 3 --skip-install-size"
    done = run_make("-s", "bench", f"BENCH_ARGS={quick}")
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)  # nothing else on stdout: `make -s bench > out.json` is JSON
    assert figures["cold_start"]["median_ms"] > 0 and figures["warm_http"]["requests"] == 3


def dry_run(*args: str) -> list[str]:
    """The commands ``make`` would run (none is run), as if no venv were made yet."""
    done = run_make("-n", "-B", "--no-print-directory", *args, "VENV=.venv-not-made", timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_make_run_installs_only_what_serving_and_the_local_stack_need() -> None:
    commands = dry_run("run")
    installs = [line for line in commands if "pip install" in line]
    assert installs and all(line.startswith(".venv-run/bin/python -m pip install") for line in installs), installs
    assert any("-r requirements-run.txt" in line for line in installs)
    assert not [line for line in commands if "requirements-dev.txt" in line]
    assert commands[-1].endswith(".venv-run/bin/python -m infra.local_stack")


def test_make_test_and_train_install_the_full_dev_venv() -> None:
    for target in ("test", "train"):
        assert any("pip install --quiet -r requirements-dev.txt" in line for line in dry_run(target)), target


def test_make_help_and_the_mnist_targets_point_at_nothing_a_new_user_lacks() -> None:
    shown = run_make("-s", "help", timeout=60).stdout
    assert "make run" in shown and "Keras downloads MNIST" in shown
    for text in (shown, *dry_run("train"), *dry_run("evaluate")):
        assert "shared/" not in text, text


def test_make_evaluate_says_where_mnist_comes_from_when_it_cannot_read_it(tmp_path: Path) -> None:
    done = run_make("-s", "evaluate", f"DATA_DIR={tmp_path / 'absent'}")
    assert done.returncode != 0
    assert "is not a directory" in done.stderr  # the reason, then where MNIST comes from
    assert "MNIST: DATA_DIR=a folder with its four IDX files" in done.stderr and "Keras downloads it" in done.stderr


def test_the_test_client_is_imported_without_starlettes_deprecation_warning() -> None:
    """make test ended with Starlette's "Using `httpx` with `starlette.testclient` is deprecated"
    from every module that imported the TestClient: the dev venv has httpx2 for it."""
    done = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", "import fastapi.testclient"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
