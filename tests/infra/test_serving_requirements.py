"""The Lambda image's contents: serving requirements only (no TensorFlow), and enough files.

- functions/requirements.txt is pinned and TensorFlow-free, and it is all the Dockerfile installs;
- the Dockerfile's COPY lines (through /.dockerignore) bring the package and the model;
- the handler answers from a task root rebuilt from those COPY lines alone, in the dev venv and
  (slow) in a clean venv holding only the serving requirements, on the image's Python when this
  machine has it; neither reads any file of the checkout nor loads TensorFlow.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from recognizer.networks.contract import SERVED_FILES
from tests.conftest import FAKE_AWS_ENV, multipart_body
from tests.infra.lambda_image import (
    LAMBDA_TASK_ROOT,
    REPO_ROOT,
    DockerIgnore,
    dockerfile,
    function_properties,
    handler_name,
    image_environment,
    image_files,
    materialize_task_root,
    sam_http_api_event,
)

REQUIREMENTS = REPO_ROOT / "functions" / "requirements.txt"
PACKAGE = REPO_ROOT / "functions" / "recognizer"
MODEL = REPO_ROOT / "models" / "digits.tflite"
# What the service reads from models/, as the model contract names it.
SERVED_MODEL_FILES = [REPO_ROOT / "models" / name for name in SERVED_FILES]
PROBE = REPO_ROOT / "infra" / "lambda_probe.py"
VENV_CACHE = REPO_ROOT / ".bench"
TENSORFLOW_DISTRIBUTIONS = {"tensorflow", "tensorflow-cpu", "tf-keras", "keras", "tensorboard"}


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them (pip list may spell it with _)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalized(re.sub(r"\[.*\]", "", name))] = version
    return pins


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


# --- static: the requirements and the Dockerfile -------------------------------------------


def test_serving_requirements_are_pinned_and_free_of_tensorflow():
    pins = requirement_names()
    assert pins and all(re.fullmatch(r"\d+(\.\d+)*", version) for version in pins.values()), pins
    assert not set(pins) & TENSORFLOW_DISTRIBUTIONS
    assert "ai-edge-litert" in pins


def test_dockerfile_installs_the_serving_requirements_and_nothing_else():
    image = dockerfile()
    assert re.fullmatch(r"public\.ecr\.aws/lambda/python:3\.\d+", image.base_image)
    requirement_copies = [c for c in image.copies if c.sources == ("functions/requirements.txt",)]
    assert len(requirement_copies) == 1
    installs = [run for run in image.runs if "pip install" in run]
    assert installs == [f"pip install --no-cache-dir --only-binary=:all: -r {requirement_copies[0].destination}"]
    assert not any("tensorflow" in run.lower() for run in image.runs)
    assert image.cmd == (handler_name(),)


def test_dockerfile_copies_the_whole_package_and_the_model_files():
    copied = image_files()
    needed = {f"{LAMBDA_TASK_ROOT}/recognizer/{path.relative_to(PACKAGE).as_posix()}": path for path in package_files()}
    for served in SERVED_MODEL_FILES:
        needed[f"{LAMBDA_TASK_ROOT}/models/{served.name}"] = served
    missing = {image_path for image_path, source in needed.items() if copied.get(image_path) != source}
    assert not missing, f"not in the image: {sorted(missing)}"
    assert dockerfile().env["MODEL_DIR"] == f"{LAMBDA_TASK_ROOT}/models"


def test_dockerignore_lets_in_what_is_copied_and_keeps_the_rest_out():
    ignore = DockerIgnore.read()
    for path in [*package_files(), *SERVED_MODEL_FILES, REQUIREMENTS]:
        assert not ignore.excludes(path.relative_to(REPO_ROOT).as_posix()), path
    for kept_out in [
        ".venv/bin/python",
        "models/digits.keras",
        "training/fitting/train.py",
        "tests/data/mnist_sample.npz",
        "site/index.html",
        "functions/recognizer/__pycache__/handler.cpython-312.pyc",
        ".git/HEAD",
    ]:
        assert ignore.excludes(kept_out), kept_out


# --- the handler, run from the image's files ------------------------------------------------


@pytest.fixture
def maps_bucket(moto_server_endpoint: str) -> tuple[str, str]:
    """A fresh bucket on the session's moto server; (endpoint, bucket)."""
    bucket = f"image-maps-{os.urandom(6).hex()}"
    boto3.client(
        "s3",
        endpoint_url=moto_server_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    return moto_server_endpoint, bucket


def run_handler_from_image_files(
    python: Path, task_root: Path, events: list[dict], endpoint: str, bucket: str, ignored: Path
) -> dict:
    """infra/lambda_probe.py in ``python``, importing only from ``task_root``; its report."""
    events_file = task_root.parent / "events.json"
    events_file.write_text(json.dumps(events))
    template_env = {
        name: str(value)
        for name, value in function_properties()["Environment"]["Variables"].items()
        if not isinstance(value, dict)
    }
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        **FAKE_AWS_ENV,
        **template_env,
        **image_environment(task_root),
        "PYTHONPATH": str(task_root),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MAPS_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    done = subprocess.run(
        [str(python), str(PROBE), handler_name(), str(events_file), "--watch", str(REPO_ROOT)],
        cwd=task_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # The interpreter's own venv may live in the checkout (.venv, .bench); nothing else may.
    report["opened"] = [p for p in report["opened"] if not Path(p).is_relative_to(ignored)]
    return report


def assert_answers_every_digit(report: dict, task_root: Path) -> None:
    assert Path(report["package_file"]).is_relative_to(task_root), report["package_file"]
    assert report["tensorflow_loaded"] is False
    assert report["opened"] == [], "the handler read files the image does not hold"
    answers = [(r["status"], r["body"].get("predicted_digit")) for r in report["responses"]]
    assert answers == [(200, digit) for digit in range(10)], answers


def digit_events(digit_png) -> list[dict]:
    events = []
    for digit in range(10):
        body, content_type = multipart_body({"image": (f"{digit}.png", digit_png(digit), "image/png")})
        events.append(sam_http_api_event("POST", "/api/predict", body=body, content_type=content_type))
    return events


def test_handler_answers_from_the_files_the_dockerfile_copies(tmp_path, maps_bucket, digit_png):
    endpoint, bucket = maps_bucket
    task_root = materialize_task_root(tmp_path / "task")
    report = run_handler_from_image_files(
        Path(sys.executable),
        task_root,
        digit_events(digit_png),
        endpoint,
        bucket,
        ignored=Path(sys.prefix),
    )
    assert_answers_every_digit(report, task_root)


# --- slow: a clean venv with the serving requirements only ----------------------------------


def image_python() -> Path:
    """The image's Python version from this machine if it has one that runs, else the running one."""
    version = dockerfile().base_image.rsplit(":", 1)[1]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")] + sorted(
        (str(p) for p in pyenv_root.glob(f"versions/{version}.*/bin/python{version}")), reverse=True
    )
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return Path(candidate)
    return Path(sys.executable)


def serving_venv(python: Path) -> Path:
    """A venv with functions/requirements.txt only, cached by requirements and interpreter."""
    interpreter = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + interpreter.encode()).hexdigest()[:16]
    venv = VENV_CACHE / f"serving-venv-{key}"
    VENV_CACHE.mkdir(exist_ok=True)
    with (VENV_CACHE / f"serving-venv-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / ".complete").exists():
            return venv
        subprocess.run([str(python), "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        install = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--only-binary=:all:",
                "-r",
                str(REQUIREMENTS),
            ],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
        (venv / ".complete").write_text(interpreter)
    return venv


@pytest.mark.slow
def test_serving_requirements_install_into_a_clean_venv_and_answer_without_tensorflow(tmp_path, maps_bucket, digit_png):
    venv = serving_venv(image_python())
    python = venv / "bin" / "python"
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    )
    installed = {normalized(item["name"]) for item in json.loads(listed.stdout)}
    assert not installed & TENSORFLOW_DISTRIBUTIONS
    assert set(requirement_names()) <= installed
    no_tf = subprocess.run(
        [str(python), "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('tensorflow') is not None)"]
    )
    assert no_tf.returncode == 0, "tensorflow is importable in the serving venv"

    endpoint, bucket = maps_bucket
    task_root = materialize_task_root(tmp_path / "task")
    report = run_handler_from_image_files(python, task_root, digit_events(digit_png), endpoint, bucket, ignored=venv)
    assert_answers_every_digit(report, task_root)
