"""``make bench``: cold start, warm latency and install size of the recognizer, printed as JSON.

- cold start: a fresh Python process imports ``recognizer.handler`` and answers its first API
  Gateway HTTP API (v2) event, a real MNIST digit uploaded as multipart (median of several
  runs). S3 is moto's server in the local stack's process, so the measured process pays for
  boto3 exactly as a Lambda does (importing moto there would pre-import boto3 for free).
- warm, handler: the same event again and again through the handler in one process
  (feature maps rendered and written to S3 on moto each time).
- warm, HTTP: multipart POSTs over keep-alive HTTP to the local stack (uvicorn + moto server).
- install size: ``functions/requirements.txt`` installed into a clean virtual environment
  (cached under .bench/ and rebuilt when the requirements change); ``--install-sizes`` prints
  only that and ``make run``'s (requirements-run.txt), the figures docs/install_sizes.json keeps.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / ".bench"
REQUIREMENTS = REPO_ROOT / "functions" / "requirements.txt"
RUN_REQUIREMENTS = REPO_ROOT / "requirements-run.txt"
MNIST_SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
# What pip itself brings into a venv is not part of what the function needs.
NOT_SERVING = ("pip", "setuptools", "_distutils_hack", "pkg_resources", "distutils-precedence.pth")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[rank]


def summary(milliseconds: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(milliseconds), 2),
        "p95_ms": round(percentile(milliseconds, 0.95), 2),
        "min_ms": round(min(milliseconds), 2),
        "requests": len(milliseconds),
    }


def digit_upload(digit: int = 7) -> bytes:
    """A real MNIST digit as a user would upload it: dark ink on white, 112x112 PNG."""
    import numpy as np
    from PIL import Image

    with np.load(MNIST_SAMPLE) as sample:
        index = int(np.flatnonzero(sample["labels"] == digit)[0])
        pixels = 255 - sample["images"][index]
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((112, 112), Image.Resampling.BICUBIC).save(buffer, "PNG")
    return buffer.getvalue()


def multipart(data: bytes, filename: str = "digit.png", content_type: str = "image/png") -> tuple[bytes, str]:
    """``data`` as the multipart form field ``image``; (body, its Content-Type)."""
    boundary = "----bench7MA4YWxkTrZu0gW"
    body = b"\r\n".join(
        [
            f"--{boundary}".encode(),
            f'Content-Disposition: form-data; name="image"; filename="{filename}"'.encode(),
            f"Content-Type: {content_type}".encode(),
            b"",
            data,
            f"--{boundary}--".encode(),
            b"",
        ]
    )
    return body, f"multipart/form-data; boundary={boundary}"


def predict_event(data: bytes, request_id: str = "bench-request") -> dict:
    import base64

    body, content_type = multipart(data)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/api/predict",
        "rawQueryString": "",
        "headers": {"content-type": content_type, "host": "bench.local"},
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/api/predict",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


class BenchContext:
    function_name = "digit-recognizer-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:digit-recognizer-bench"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


# --- the measured child process -----------------------------------------------------------


def child(event_path: Path, result_path: Path, warm_requests: int) -> None:
    """Runs in a fresh process: import the handler, answer the first event, then more."""
    event = json.loads(event_path.read_text())
    started, cpu_started = time.perf_counter(), time.process_time()
    from recognizer.handler import handler

    imported = time.perf_counter()
    first = handler(event, BenchContext())
    answered, cpu_answered = time.perf_counter(), time.process_time()
    if first["statusCode"] != 200:
        raise SystemExit(f"first event answered {first['statusCode']}: {first['body']}")
    warm: list[float] = []
    for _ in range(warm_requests):
        began = time.perf_counter()
        response = handler(event, BenchContext())
        warm.append((time.perf_counter() - began) * 1000.0)
        assert response["statusCode"] == 200, response["body"]
    result_path.write_text(
        json.dumps(
            {
                "import_ms": (imported - started) * 1000.0,
                "first_event_ms": (answered - imported) * 1000.0,
                "cold_cpu_ms": (cpu_answered - cpu_started) * 1000.0,
                "warm_ms": warm,
                "warm_cpu_ms_per_request": (time.process_time() - cpu_answered) * 1000.0 / max(warm_requests, 1),
                "answer": json.loads(first["body"])["predicted_digit"],
            }
        )
    )


def run_child(event_path: Path, s3_env: dict[str, str], warm_requests: int = 0) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        result_path = Path(scratch) / "result.json"
        env = {
            **os.environ,
            **s3_env,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "functions"), str(REPO_ROOT)]),
        }
        for outside_lambda in ("LAMBDA_TASK_ROOT", "PYTHONDONTWRITEBYTECODE"):
            env.pop(outside_lambda, None)
        command = [
            sys.executable,
            "-m",
            "infra.bench",
            "--child",
            str(event_path),
            str(result_path),
            str(warm_requests),
        ]
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = (time.perf_counter() - started) * 1000.0
        result = json.loads(result_path.read_text())
    result["process_wall_ms"] = wall
    return result


# --- the figures --------------------------------------------------------------------------


def measure_cold_start(event_path: Path, s3_env: dict[str, str], runs: int) -> dict:
    run_child(event_path, s3_env)  # a first run warms the OS file cache and writes .pyc files
    results = [run_child(event_path, s3_env) for _ in range(runs)]
    totals = [r["import_ms"] + r["first_event_ms"] for r in results]
    return {
        "median_ms": round(statistics.median(totals), 1),
        "import_ms": round(statistics.median(r["import_ms"] for r in results), 1),
        "first_event_ms": round(statistics.median(r["first_event_ms"] for r in results), 1),
        "process_wall_ms": round(statistics.median(r["process_wall_ms"] for r in results), 1),
        "cpu_ms": round(statistics.median(r["cold_cpu_ms"] for r in results), 1),
        "runs_ms": [round(total, 1) for total in totals],
    }


def measure_warm_handler(event_path: Path, s3_env: dict[str, str], requests: int) -> dict:
    result = run_child(event_path, s3_env, warm_requests=requests + 20)
    return {
        **summary(result["warm_ms"][20:]),
        "cpu_ms_per_request": round(result["warm_cpu_ms_per_request"], 2),
    }


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_warm_http(base_url: str, server_pid: int, data: bytes, requests: int) -> dict:
    import httpx

    body, content_type = multipart(data)
    headers = {"content-type": content_type}
    timings: list[float] = []
    cpu_before: float | None = None
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for index in range(requests + 20):
            if index == 20:
                cpu_before = process_cpu_seconds(server_pid)
            began = time.perf_counter()
            response = client.post("/api/predict", content=body, headers=headers)
            elapsed = (time.perf_counter() - began) * 1000.0
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text}")
            if index >= 20:
                timings.append(elapsed)
    cpu_after = process_cpu_seconds(server_pid)
    figures: dict[str, float | int] = summary(timings)
    if cpu_before is not None and cpu_after is not None:
        # the API server's own CPU (moto's S3 server runs in a process of its own)
        figures["server_cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1000 / requests, 2)
    return figures


def requirements_files(requirements: Path) -> list[Path]:
    """``requirements`` and every file its ``-r`` lines include, in order."""
    files = [requirements]
    for line in requirements.read_text().splitlines():
        if line.startswith("-r "):
            files += requirements_files(requirements.parent / line[3:].split("#", 1)[0].strip())
    return files


def requirements_sha256(requirements: Path) -> str:
    """One digest of ``requirements`` and the files it includes: it changes when any pin does."""
    digest = hashlib.sha256()
    for path in requirements_files(requirements):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def serving_venv(requirements: Path = REQUIREMENTS) -> Path:
    """A clean venv with only ``requirements`` (the serving ones by default), rebuilt when they change."""
    venv = BENCH_DIR / ("serving-venv" if requirements == REQUIREMENTS else f"{requirements.stem}-venv")
    digest = requirements_sha256(requirements)
    stamp = venv / "requirements.sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
        check=True,
        stdout=sys.stderr,
    )
    stamp.write_text(digest)
    return venv


def directory_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def measure_install_size(requirements: Path = REQUIREMENTS) -> dict:
    venv = serving_venv(requirements)
    site_packages = next((venv / "lib").glob("python3*/site-packages"))
    sizes: dict[str, int] = {}
    for entry in site_packages.iterdir():
        if entry.name.startswith(NOT_SERVING):
            continue
        name = entry.name.split("-")[0].split(".")[0].lower()
        sizes[name] = sizes.get(name, 0) + directory_size(entry)
    mib = 1024 * 1024
    largest = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:6]
    return {
        "installed_mb": round(sum(sizes.values()) / mib, 1),
        "largest_mb": {name: round(size / mib, 1) for name, size in largest},
        "requirements": str(requirements.relative_to(REPO_ROOT)),
        "requirements_sha256": requirements_sha256(requirements),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the recognizer; prints JSON.")
    parser.add_argument("--child", nargs=3, metavar=("EVENT", "RESULT", "WARM"), help=argparse.SUPPRESS)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--skip-install-size", action="store_true")
    parser.add_argument(
        "--install-sizes", action="store_true", help="only the install sizes: serving (the function's) and make run's"
    )
    parser.add_argument(
        "--against", metavar="REF", help="the API's CPU per request against REF's, alternated in one run"
    )
    parser.add_argument("--rounds", type=int, default=10, help="with --against: batches of each request per side")
    parser.add_argument("--batch", type=int, default=10, help="with --against: requests in a batch")
    parser.add_argument("--warmup", type=int, default=5, help="with --against: requests of each kind before measuring")
    parser.add_argument(
        "--against-python",
        type=Path,
        help="with --against: run REF's stack with this interpreter, not a venv of its own",
    )
    parser.add_argument(
        "--without-explain", action="store_true", help="with --against: the requests without ?explain=true"
    )
    parser.add_argument(
        "--app-only",
        action="store_true",
        help="with --against: each side's API alone, without the local stack's memory policy (as Lambda holds memory)",
    )
    parser.add_argument("--dry-run", action="store_true", help="with --against: print what would run, run nothing")
    args = parser.parse_args(argv)
    if args.against:
        from infra import bench_against

        if args.dry_run:
            print(json.dumps(bench_against.plan(args.against), indent=2))
            return
        report = bench_against.against(
            args.against,
            args.rounds,
            args.batch,
            args.warmup,
            args.against_python,
            not args.without_explain,
            args.app_only,
        )
        print(json.dumps(report, indent=2))
        return
    if args.install_sizes:
        sizes = {"serving_install": measure_install_size(), "run_install": measure_install_size(RUN_REQUIREMENTS)}
        print(json.dumps(sizes, indent=2))
        return
    if args.child:
        event_path, result_path, warm = args.child
        child(Path(event_path), Path(result_path), int(warm))
        return

    from infra.local_stack import FAKE_CREDENTIALS, local_stack_process

    data = digit_upload()
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        event_path = Path(scratch) / "event.json"
        event_path.write_text(json.dumps(predict_event(data)))
        with local_stack_process() as stack:
            s3_env = {
                **FAKE_CREDENTIALS,
                "AWS_DEFAULT_REGION": "us-east-1",
                "S3_ENDPOINT_URL": stack.info.s3_endpoint,
                "MAPS_BUCKET": stack.info.bucket,
            }
            report["cold_start"] = measure_cold_start(event_path, s3_env, args.cold_runs)
            report["warm_handler"] = measure_warm_handler(event_path, s3_env, args.requests)
            report["warm_http"] = measure_warm_http(stack.url, stack.info.pid, data, args.requests)
    if not args.skip_install_size:
        report["serving_install"] = measure_install_size()
    report["machine"] = {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
