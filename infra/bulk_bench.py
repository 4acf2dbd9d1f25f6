"""A bulk job of generated files on the local stack: one line per file, the same answers as
/api/predict, and how many files a second: ``python -m infra.bulk_bench [--files 1000]``.

The files: MNIST digits (tests/data/mnist_sample.npz, dark ink on white at 4x, some as JPEG),
rows of 2-4 of them, marks that are not digits (tests/not_digits.py), blank pages, and a few
corrupt files (a truncated PNG, random bytes, an empty file). The stack runs as ``make run``
does (its JOB_WORKERS processes, feature maps off in jobs); the time is from POST .../start to
the status ``succeeded``. Prints one JSON object; exits 1 when a line is missing, doubled, or
differs from /api/predict's answer for the same file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from infra.local_stack import REPO_ROOT, local_stack_process
from recognizer.cli import FileFailed, _get_json, _post, multipart_body, upload_to_job

MNIST_SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
PIPELINE_DONE = REPO_ROOT / "build" / "model" / "done" / "card"


def _encoded(pixels: np.ndarray, kind: str) -> bytes:
    image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **({"quality": 90} if kind == "JPEG" else {}))
    return buffer.getvalue()


def make_files(folder: Path, count: int, seed: int = 0) -> dict[str, str]:
    """``count`` image files in ``folder``; each name's kind (digit, row, not_digit, blank, corrupt)."""
    from tests.not_digits import MARKS, mark_png

    rng = np.random.default_rng(seed)
    with np.load(MNIST_SAMPLE) as data:
        images = data["images"]
    corrupt = max(3, count // 100)
    kinds: dict[str, str] = {}
    for index in range(count):
        draw = rng.random()
        if index < corrupt:
            kind = "corrupt"
            png = _encoded(255 - images[index], "PNG")
            data = [png[: len(png) // 2], rng.bytes(500), png[:8]][index % 3]
            name, body = f"{index:05d}-corrupt.png", data
        elif draw < 0.70:
            kind = "digit"
            pixels = 255 - images[rng.integers(len(images))]
            big = np.asarray(Image.fromarray(pixels).resize((112, 112), Image.Resampling.BICUBIC))
            fmt = "JPEG" if rng.random() < 0.3 else "PNG"
            name, body = f"{index:05d}-digit.{fmt.lower()}", _encoded(big, fmt)
        elif draw < 0.85:
            kind = "row"
            parts = [255 - images[i] for i in rng.integers(len(images), size=rng.integers(2, 5))]
            gap = np.full((28, 6), 255, dtype=np.uint8)
            row = np.hstack([np.hstack([part, gap]) for part in parts])
            row = np.pad(row, 8, constant_values=255)
            big = np.asarray(
                Image.fromarray(row).resize((row.shape[1] * 3, row.shape[0] * 3), Image.Resampling.BICUBIC)
            )
            name, body = f"{index:05d}-row.png", _encoded(big, "PNG")
        elif draw < 0.97:
            kind = "not_digit"
            name, body = (
                f"{index:05d}-mark.png",
                mark_png(MARKS[int(rng.integers(len(MARKS)))], size=int(rng.integers(120, 260))),
            )
        else:
            kind = "blank"
            name, body = f"{index:05d}-blank.png", _encoded(np.full((80, 80), 250, dtype=np.uint8), "PNG")
        (folder / name).write_bytes(body)
        kinds[name] = kind
    return kinds


def predict_one(api: str, path: Path, route: str) -> dict[str, Any]:
    """What /api/predict (or /predict/multi) answers for the file, as a result line's fields."""
    body, content_type = multipart_body("image", path.name, path.read_bytes())
    try:
        answer = json.loads(_post(api + route, body, content_type))
    except FileFailed as exc:
        return {"error": exc.code}
    if route.endswith("/multi"):
        kept = [digit["confidence"] for digit in answer["digits"] if digit["is_digit"]]
        confidence = min(kept) if kept else max(digit["confidence"] for digit in answer["digits"])
        return {"number": answer["number"], "confidence": confidence, "is_digit": bool(kept)}
    return {"digit": answer["predicted_digit"], "confidence": answer["confidence"], "is_digit": answer["is_digit"]}


def differs(line: dict[str, Any], expected: dict[str, Any]) -> bool:
    if "error" in expected:
        return line.get("error") != expected["error"]
    if line.get("error") is not None:
        return True
    same = all(line.get(name) == expected[name] for name in expected if name != "confidence")
    # One forward pass per batch instead of per file: the same float32 maths, but the last
    # decimal of a percentage may round the other way.
    return not same or abs(float(line["confidence"]) - float(expected["confidence"])) > 0.11


def run(files: int, kind: str, compare: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bulk-bench-") as scratch, local_stack_process() as stack:
        folder = Path(scratch)
        kinds = make_files(folder, files)
        api = stack.url + "/api"
        ticket = json.loads(_post(api + "/jobs", b"{}", "application/json"))
        paths = sorted(str(path) for path in folder.iterdir())
        began = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            failures = [f for f in pool.map(lambda p: upload_to_job(ticket, p), paths) if f is not None]
        uploaded = time.perf_counter() - began
        job = f"{api}/jobs/{ticket['job_id']}"
        cpu_before = os.times()
        started = time.perf_counter()
        status = json.loads(_post(job + "/start", json.dumps({"kind": kind}).encode(), "application/json"))
        while status["status"] == "running":
            time.sleep(0.2)
            status = _get_json(job)
        seconds = time.perf_counter() - started
        load = os.getloadavg()
        if status["status"] != "succeeded":
            raise SystemExit(f"the job {status['status']}: {status.get('error')}")
        with urllib.request.urlopen(status["results"]["csv"]) as response:
            table = list(csv.DictReader(io.StringIO(response.read().decode())))
        with urllib.request.urlopen(status["results"]["jsonl"]) as response:
            lines = [json.loads(line) for line in response.read().decode().splitlines()]
        names = [row["file"] for row in table]
        report: dict[str, Any] = {
            "files": files,
            "kind": kind,
            "upload_failures": failures,
            "upload_seconds": round(uploaded, 2),
            "job_seconds": round(seconds, 2),
            "files_per_second": round(files / seconds, 1),
            "result_lines": len(table),
            "one_line_per_file": sorted(names) == sorted(kinds) and len(set(names)) == len(names),
            "jsonl_lines": len(lines),
            "failed_files": status["failed_files"],
            "errors": sorted({line["error"] for line in lines if line["error"]}),
            "load_average_1m_at_end": round(load[0], 2),
            "model_pipeline_done": PIPELINE_DONE.exists(),
            "cpus": os.cpu_count(),
            "bench_process_cpu_s": round(sum(os.times()[:2]) - sum(cpu_before[:2]), 2),
        }
        if compare:
            route = "/predict/multi" if kind == "row" else "/predict"
            by_name = {line["file"]: line for line in lines}
            with ThreadPoolExecutor(2) as pool:
                expected = dict(zip(paths, pool.map(lambda p: predict_one(api, Path(p), route), paths), strict=True))
            mismatches = [
                {"file": Path(path).name, "job": by_name.get(Path(path).name), "api": answer}
                for path, answer in expected.items()
                if Path(path).name not in by_name or differs(by_name[Path(path).name], answer)
            ]
            report["compared_with"] = "/api" + route
            report["mismatches"] = len(mismatches)
            report["first_mismatches"] = mismatches[:5]
        return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--kind", choices=("digit", "row"), default="digit")
    parser.add_argument("--no-compare", dest="compare", action="store_false", help="skip the /api/predict comparison")
    args = parser.parse_args(argv)
    report = run(args.files, args.kind, args.compare)
    print(json.dumps(report, indent=2))
    good = report["one_line_per_file"] and not report["upload_failures"] and not report.get("mismatches")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
