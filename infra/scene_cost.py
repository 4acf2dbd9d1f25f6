"""What the scene judgement costs per upload, in one process, beside what the upload costs anyway.

For each upload (a drawn 280-px canvas, a shrunk phone photo, a 12-megapixel photo, a row of
five), the decoded image goes through the judgement alone (``Networks.is_photograph``:
thumbnail + one forward pass) and through the preprocessing (``model_inputs``), alternated, each
call's thread CPU time recorded; then ``Recognizer.predict_digit`` with the judgement and without
it (the same networks, ``scene=None``), alternated. Medians and lower quartiles, in ms.

    .venv/bin/python -m infra.scene_cost            # JSON on stdout
    .venv/bin/python -m infra.scene_cost --runs 200
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from recognizer.decoding import decode_for_recognition
from recognizer.networks import load_networks
from recognizer.service import Recognizer
from recognizer.settings import REPO_MODELS, Settings
from recognizer.vision.readings import model_inputs


def _cpu_ms(call: Callable[..., object], *args: object, **kwargs: object) -> float:
    began = time.thread_time_ns()
    call(*args, **kwargs)
    return (time.thread_time_ns() - began) / 1e6


def _digit_page(side: tuple[int, int], noise: float, seed: int = 0) -> bytes:
    """A dark "7" on light paper, ``side`` (width, height), with sensor noise, as JPEG."""
    width, height = side
    page = np.full((height, width), 228.0, np.float32)
    stroke = max(2, height // 60)
    top, left, size = height // 3, width // 2 - height // 8, height // 4
    page[top : top + stroke, left : left + size] = 40.0
    for step in range(size):
        x = left + size - step * size // (size + size // 3)
        page[top + step, max(0, x - stroke) : x] = 40.0
    page += np.random.default_rng(seed).normal(0, noise, size=page.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _canvas() -> bytes:
    from PIL import ImageDraw

    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(90, 60), (190, 60), (120, 230)], fill=(0, 0, 0, 255), width=18)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def uploads() -> dict[str, bytes]:
    return {
        "canvas_280px_png": _canvas(),
        "phone_photo_shrunk_1600x1200": _digit_page((1600, 1200), 6.0),
        "photo_12_megapixels": _digit_page((4000, 3000), 6.0),
    }


def quartiles(values: list[float]) -> dict[str, float]:
    q1, median, _ = statistics.quantiles(values, n=4)
    return {"median_ms": round(median, 3), "lower_quartile_ms": round(q1, 3)}


def measure(runs: int) -> dict:
    settings = Settings()
    networks = load_networks(REPO_MODELS)
    if networks.scene is None:
        raise SystemExit(f"no scene judgement in {REPO_MODELS} (scene.tflite, scene.json)")
    networks.warm_up()
    judged = Recognizer(settings, networks, None)
    blind = dataclasses.replace(judged, networks=dataclasses.replace(networks, scene=None))
    report: dict[str, dict] = {}
    for name, data in uploads().items():
        image = decode_for_recognition(data, settings)
        times: dict[str, list[float]] = {"judgement": [], "preprocessing": [], "with": [], "without": []}
        for index in range(runs):
            order = ("judgement", "preprocessing") if index % 2 == 0 else ("preprocessing", "judgement")
            for what in order:
                call = networks.is_photograph if what == "judgement" else model_inputs
                times[what].append(_cpu_ms(call, image))
            for side in ("with", "without") if index % 2 == 0 else ("without", "with"):
                recognizer = judged if side == "with" else blind
                times[side].append(_cpu_ms(recognizer.predict_digit, data, store=False))
        report[name] = {
            "size": list(image.info.get("upload_size", image.size)),
            "decoded": list(image.size),
            "judgement_alone": quartiles(times["judgement"]),
            "preprocessing": quartiles(times["preprocessing"]),
            "predict_digit_with_judgement": quartiles(times["with"]),
            "predict_digit_without": quartiles(times["without"]),
            "added_ms_median": round(statistics.median(times["with"]) - statistics.median(times["without"]), 3),
        }
    return {"runs": runs, "uploads": report, "how": __doc__.split("\n\n")[1].replace("\n", " ")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
