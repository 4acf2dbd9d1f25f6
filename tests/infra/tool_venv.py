"""Virtual environments of their own for tools whose pins clash with the dev venv's (checkov,
the SAM translator), made once from their requirements file as the Makefile makes them."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.lambda_image import REPO_ROOT


def tool_venv(name: str, requirements: Path) -> Path:
    """REPO_ROOT/``name`` with ``requirements`` installed (again only when the file changed);
    its bin folder. Skips the test when the registry cannot be reached."""
    venv = REPO_ROOT / name
    installed = venv / requirements.name
    with (REPO_ROOT / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed.exists() and installed.read_text() == requirements.read_text():
            return venv / "bin"
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(requirements)],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.skip(f"could not make {name} ({' '.join(step[:3])}): {done.stderr[-500:]}")
        shutil.copyfile(requirements, installed)
    return venv / "bin"
