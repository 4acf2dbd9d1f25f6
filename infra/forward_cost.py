"""The digit network's forward pass at batch 1 through LiteRT, for several model files in one run.

    python -m infra.forward_cost models/digits.tflite OTHER.tflite [--runs 2000]

Each file is loaded as the service loads it (``recognizer.networks.digit_cnn.LiteRTModel``: one
thread); the files' passes are alternated over the same inputs so that a busy machine slows each
alike. Prints JSON: per file, the median and 90th percentile in ms of wall time and of this
thread's CPU time, and the file's size.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from recognizer.networks.digit_cnn import LiteRTModel


def measure(paths: list[Path], runs: int) -> dict[str, dict[str, float]]:
    models = [LiteRTModel(path) for path in paths]
    inputs = np.random.default_rng(0).random((16, 28, 28), dtype=np.float32)
    for model in models:  # the runtime sets itself up on the first invoke
        model.run(inputs[:1])
    wall: list[list[float]] = [[] for _ in models]
    cpu: list[list[float]] = [[] for _ in models]
    for index in range(runs):
        image = inputs[index % len(inputs)][None]
        for position, model in enumerate(models):
            started, started_cpu = time.perf_counter(), time.thread_time()
            model.run(image)
            wall[position].append((time.perf_counter() - started) * 1000)
            cpu[position].append((time.thread_time() - started_cpu) * 1000)
    return {
        str(path): {
            "wall_ms_p50": round(float(np.median(wall[i])), 4),
            "wall_ms_p90": round(float(np.percentile(wall[i], 90)), 4),
            "cpu_ms_p50": round(float(np.median(cpu[i])), 4),
            "cpu_ms_p90": round(float(np.percentile(cpu[i], 90)), 4),
            "bytes": path.stat().st_size,
        }
        for i, path in enumerate(paths)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="digits.tflite files")
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.models, args.runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
