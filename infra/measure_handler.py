"""Measure the Lambda handler's memory peak and latency in-process, to size the function.

    .venv/bin/python -m infra.measure_handler [--requests 12] [--batch 8]

Starts moto's S3 server, then runs the handler named in template.yaml (ImageConfig.Command) in
a child process under ``/usr/bin/time -v`` (infra/lambda_probe.py) on API Gateway HTTP API
events: single predictions of real MNIST digits, then one batch. The child imports only the
serving code, so its peak RSS is what the function needs; S3 traffic goes over real HTTP to moto.
Prints JSON: peak RSS (MB), import time, the first (cold) request, warm requests (median, max)
and the batch. CPU here is not Lambda's: see template.yaml for how the figures became
MemorySize and Timeout. A dev tool (it reads tests/ for events and digits).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import numpy as np
from PIL import Image

from infra.local_stack import start_moto_s3
from tests.conftest import multipart_body, png_bytes
from tests.infra.lambda_image import handler_name, sam_http_api_event

REPO_ROOT = Path(__file__).resolve().parents[1]
PROBE = REPO_ROOT / "infra" / "lambda_probe.py"
MNIST_SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
BUCKET = "measure-maps"


def large_photo(digit: np.ndarray, side: int) -> bytes:
    """A ``side`` x ``side`` JPEG "photo": dark ink on white paper, the digit filling a third."""
    paper = Image.new("RGB", (side, side), "white")
    ink = Image.fromarray(255 - digit).resize((side // 3, side // 3), Image.Resampling.BICUBIC)
    paper.paste(ink.convert("RGB"), (side // 3, side // 3))
    buffer = io.BytesIO()
    paper.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def predict_events(count: int, batch: int, large_side: int) -> list[dict]:
    with np.load(MNIST_SAMPLE) as data:
        images = data["images"]
    pngs = [png_bytes(images[i], scale=4, invert=True) for i in range(max(count, batch))]
    uploads = [("digit.png", png, "image/png") for png in pngs[:count]]
    if large_side:
        uploads.append(("photo.jpg", large_photo(images[0], large_side), "image/jpeg"))
    events = []
    for upload in uploads:
        body, content_type = multipart_body({"image": upload})
        events.append(sam_http_api_event("POST", "/api/predict", body=body, content_type=content_type))
    if batch:
        fields = [("images", f"d{i}.png", png) for i, png in enumerate(pngs[:batch])]
        body, content_type = _multipart_many(fields)
        events.append(sam_http_api_event("POST", "/api/predict/batch", body=body, content_type=content_type))
    return events


def _multipart_many(fields: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "----measure-boundary"
    parts: list[bytes] = []
    for name, filename, data in fields:
        parts += [
            f"--{boundary}".encode(),
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"'.encode(),
            b"Content-Type: image/png",
            b"",
            data,
        ]
    parts += [f"--{boundary}--".encode(), b""]
    return b"\r\n".join(parts), f"multipart/form-data; boundary={boundary}"


def run_probe(events: list[dict], endpoint: str) -> tuple[dict, float]:
    """The probe's JSON report and /usr/bin/time's maximum resident set size in MB."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "functions"),
        "S3_ENDPOINT_URL": endpoint,
        "MAPS_BUCKET": BUCKET,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    with tempfile.TemporaryDirectory() as tmp:
        events_file = Path(tmp) / "events.json"
        events_file.write_text(json.dumps(events))
        done = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, str(PROBE), handler_name(), str(events_file)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    max_rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])
    return report, max_rss_kb / 1024


def summarize(report: dict, max_rss_mb: float, count: int, batch: int, large_side: int) -> dict:
    responses = report["responses"]
    singles = responses[:count]
    warm = [r["seconds"] for r in singles[1:]]
    summary = {
        "statuses": sorted({r["status"] for r in report["responses"]}),
        "peak_rss_mb": round(max_rss_mb, 1),
        "import_seconds": round(report["import_seconds"], 3),
        "first_request_seconds": round(singles[0]["seconds"], 3),
        "warm_median_seconds": round(statistics.median(warm), 3) if warm else None,
        "warm_max_seconds": round(max(warm), 3) if warm else None,
        "tensorflow_loaded": report["tensorflow_loaded"],
    }
    if large_side:
        summary[f"photo_{large_side}px_seconds"] = round(responses[count]["seconds"], 3)
    if batch:
        summary[f"batch_of_{batch}_seconds"] = round(responses[-1]["seconds"], 3)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=12, help="single predictions")
    parser.add_argument("--batch", type=int, default=0, help="also send one batch of this many images")
    parser.add_argument(
        "--large-side",
        type=int,
        default=4000,
        help="also send one JPEG photo this many pixels square (0: none)",
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    server, endpoint = start_moto_s3()
    try:
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_bucket(Bucket=BUCKET)
        events = predict_events(args.requests, args.batch, args.large_side)
        report, max_rss_mb = run_probe(events, endpoint)
    finally:
        server.stop()
    summary = summarize(report, max_rss_mb, args.requests, args.batch, args.large_side)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
