"""Measure what one big photo costs the function: CPU per file, and the memory peak of the
largest HEIC and AVIF it accepts. The figures behind MAX_BATCH_UPLOAD_IDS and MemorySize.

    .venv/bin/python -m infra.measure_decode [--runs 5] [--side 4000x3000] [--no-per-file] [--no-peak]

Per file (in this process, the networks loaded once, nothing stored): the CPU seconds
(``time.process_time``: every thread of the process, so a decoder's own threads count) and the
wall seconds of decoding a 12-megapixel photo of a digit as JPEG, HEIC and AVIF, and of
answering it whole (decode, find the digit, read it: ``Recognizer.predict_digit`` without
storing). Peak: the largest HEIC and AVIF the service accepts (a quarter of MAX_IMAGE_PIXELS,
67 megapixels by default: a blank page, the small file that decodes to the most pixels), each
answered in a fresh child process with the networks loaded, as in the function; its peak RSS
(VmHWM) and CPU seconds, beside a child that only loads the networks. CPU time is what
Lambda's share of a core pays for (template.yaml and tests/infra/test_template.py do the
arithmetic); on a shared machine the wall times are noisier.
Prints JSON. A dev tool (it reads tests/ for a digit).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
MNIST_SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
FORMATS = ("JPEG", "HEIF", "AVIF")

# A child process, as the function is: the networks loaded, then one file answered whole
# (nothing stored); its CPU seconds and its own peak RSS in kB (VmHWM, which starts afresh at
# exec: ru_maxrss would carry this process's peak over the fork).
_CHILD = """
import json, re, sys, time
from recognizer.errors import ClientError
from recognizer.service import Recognizer
from recognizer.settings import Settings
recognizer = Recognizer.from_settings(Settings(), store=None)
started = time.process_time()
if len(sys.argv) > 1:
    try:
        recognizer.predict_digit(open(sys.argv[1], "rb").read(), store=False, sent_to_s3=True)
    except ClientError:
        pass  # a blank page: no digit, but decoded all the same
peak = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
print(json.dumps({"peak_kb": int(peak), "cpu_s": time.process_time() - started}))
"""


def photo(side: tuple[int, int], image_format: str, quality: int = 90) -> bytes:
    """A photo-sized grey picture of a digit (dark ink on paper, sensor noise) as a file."""
    from tests.photos import digit_photo

    with np.load(MNIST_SAMPLE) as data:
        digit = data["images"][0]
    width, height = side
    square = digit_photo(digit, max(width, height), noise=6)
    picture = square.crop((0, 0, width, height)).convert("RGB")
    if image_format == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format, quality=quality)
    return buffer.getvalue()


def timed(function: Callable[[], object], runs: int) -> dict[str, float]:
    """Median CPU and wall seconds of ``runs`` calls (after one call that warms up)."""
    function()
    cpu, wall = [], []
    for _ in range(runs):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        function()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
    return {"cpu_s": round(statistics.median(cpu), 3), "wall_s": round(statistics.median(wall), 3)}


def per_file_costs(side: tuple[int, int], runs: int) -> dict[str, dict]:
    from recognizer.decoding import decode_for_recognition
    from recognizer.service import Recognizer
    from recognizer.settings import Settings

    settings = Settings()
    recognizer = Recognizer.from_settings(settings, store=None)
    costs = {}
    for image_format in FORMATS:
        data = photo(side, image_format)
        answer = recognizer.predict_digit(data, store=False, sent_to_s3=True)
        costs[image_format] = {
            "bytes": len(data),
            "read_as": answer.predicted_digit,
            "decode": timed(lambda data=data: decode_for_recognition(data, settings), runs),
            "answer": timed(lambda data=data: recognizer.predict_digit(data, store=False, sent_to_s3=True), runs),
        }
    return costs


def child_run(path: Path | None) -> dict[str, float]:
    """Peak RSS (MB) and CPU seconds of a fresh process that answers ``path`` (None: nothing)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *([str(path)] if path else [])],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    measured = json.loads(done.stdout.splitlines()[-1])
    return {"peak_rss_mb": round(measured["peak_kb"] / 1024, 1), "cpu_s": round(measured["cpu_s"], 2)}


def largest_photo_peaks(tmp: Path) -> dict[str, dict]:
    from recognizer.settings import Settings

    pixels = Settings().max_image_pixels // 4  # decoding.pixel_limit for HEIF and AVIF
    side = math.isqrt(pixels)
    peaks: dict[str, dict] = {"networks_loaded_only": child_run(None)}
    for image_format in ("HEIF", "AVIF"):
        path = tmp / f"largest.{image_format.lower()}"
        started = time.perf_counter()
        # A plain page: the hostile case is a small file that decodes to the most pixels.
        picture = Image.new("RGB", (side, side), "white")
        if image_format == "HEIF":
            import pillow_heif

            pillow_heif.register_heif_opener()
        picture.save(path, format=image_format, quality=50)
        encoded = time.perf_counter() - started
        peaks[image_format] = {
            "size": f"{side}x{side}",
            "megapixels": round(side * side / 1e6, 1),
            "file_bytes": path.stat().st_size,
            "encode_s": round(encoded, 1),
            **child_run(path),
        }
    return peaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--side", default="4000x3000", help="the photo's size, WIDTHxHEIGHT (12 MP by default)")
    parser.add_argument("--per-file", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--peak", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    width, height = (int(part) for part in args.side.lower().split("x"))
    report: dict[str, object] = {}
    if args.per_file:
        report.update(photo=f"{width}x{height}", runs=args.runs, per_file=per_file_costs((width, height), args.runs))
    if args.peak:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            report["largest_accepted"] = largest_photo_peaks(Path(tmp))
    report["this_process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
