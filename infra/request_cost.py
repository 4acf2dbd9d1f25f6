"""Where a request's CPU goes, in one process: decode, preprocessing, the forward pass, the
evidence map, the PNGs, and storing them with their presigned links.

    .venv/bin/python -m infra.request_cost [--repeats 40]

The uploads are ``make bench --against``'s (infra/bench_against.py: the site's drawn canvas, a
phone photo as the page shrinks it, a row of five digits), and a 12-megapixel photo as a camera
writes it (4032x3024 JPEG, decoded at a reduced scale as the service decodes it). Each stage is
timed with the process's CPU clock, the uploads alternated repeat by repeat, and the median of
the repeats printed as JSON, per upload. Storage runs against moto's S3 server in a process of
its own (its CPU is not counted; botocore's is). No figure here is a test's assertion.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from infra.bench_against import canvas_upload, row_upload, shrunk_photo_upload

CAMERA_PHOTO = (4032, 3024)


def camera_photo_upload(digit: int = 3) -> bytes:
    """A 12-megapixel phone photo of a digit on paper, as the camera writes it (JPEG)."""
    from PIL import Image

    from infra.bench_against import _digits

    width, height = CAMERA_PHOTO
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    page = 215.0 - 30.0 * (xx / width) - 15.0 * (yy / height) + rng.normal(0.0, 3.0, (height, width))
    side = height // 3
    glyph = Image.fromarray(_digits([digit])[0]).resize((side, side), Image.Resampling.BICUBIC)
    top, left = (height - side) // 2, (width - side) // 2
    page[top : top + side, left : left + side] -= np.asarray(glyph, np.float32) * 0.65
    grey = np.clip(page, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _cpu_ms(work: Callable[[], Any]) -> tuple[float, Any]:
    began = time.process_time()
    result = work()
    return (time.process_time() - began) * 1000.0, result


def single_stages(recognizer: Any, data: bytes) -> dict[str, float]:
    """One digit as ``Recognizer.predict_digit(explain=True)`` answers it, stage by stage."""
    from recognizer.decoding import decode_for_recognition
    from recognizer.networks.digit_cnn import surest
    from recognizer.vision.readings import model_inputs

    spent: dict[str, float] = {}
    spent["decode"], image = _cpu_ms(lambda: decode_for_recognition(data, recognizer.settings))
    spent["preprocess"], readings = _cpu_ms(lambda: model_inputs(image))
    spent["forward"], activations = _cpu_ms(lambda: recognizer.networks.digit.run(np.stack(readings)))
    best = surest(activations.probs, activations.digit)
    chosen = activations.row(best)
    spent["explain"], evidence = _cpu_ms(lambda: recognizer._evidence([readings[best]], chosen, True)[0])
    spent["answer_and_store"], answer = _cpu_ms(
        lambda: recognizer._answer(readings[best], chosen, store=True, evidence=evidence)
    )
    spent["json"], _ = _cpu_ms(answer.model_dump_json)
    spent["total"] = sum(spent.values())
    return spent


def row_stages(recognizer: Any, data: bytes) -> dict[str, float]:
    """A row as ``Recognizer.read_row(feature_maps=True, explain=True)`` reads it."""
    from recognizer.decoding import decode_for_recognition
    from recognizer.vision.rows.segment import find_digits

    spent: dict[str, float] = {}
    spent["decode"], image = _cpu_ms(lambda: decode_for_recognition(data, recognizer.settings))
    spent["preprocess"], found = _cpu_ms(lambda: find_digits(image, recognizer.networks.for_rows()))
    spent["whole_request"], answer = _cpu_ms(lambda: recognizer.read_row(data, feature_maps=True, explain=True))
    spent["json"], _ = _cpu_ms(answer.model_dump_json)
    return spent


def storage_stages(recognizer: Any) -> dict[str, float]:
    """The three PNGs of one prediction: rendered, put and linked, apart."""
    from recognizer.feature_maps import conv1_png, conv2_png, input_png
    from recognizer.storage import new_prediction_id

    store = recognizer.store
    readings = np.zeros((1, 28, 28), np.float32)
    readings[0, 8:20, 12:16] = 1.0
    activations = recognizer.networks.digit.run(readings)
    spent: dict[str, float] = {}
    spent["render_pngs"], pngs = _cpu_ms(
        lambda: [input_png(readings[0]), conv1_png(activations.conv1[0]), conv2_png(activations.conv2[0])]
    )
    prediction_id = new_prediction_id()
    keys = [f"predictions/{prediction_id}/{index}.png" for index in range(len(pngs))]
    spent["put_objects"], _ = _cpu_ms(  # as the store puts them (its bucket writer)
        lambda: [store.writer.put(key, png, "image/png") for key, png in zip(keys, pngs, strict=True)]
    )
    spent["put_objects_by_client"], _ = _cpu_ms(
        lambda: [
            store.client.put_object(Bucket=store.bucket, Key=key, Body=png, ContentType="image/png")
            for key, png in zip(keys, pngs, strict=True)
        ]
    )
    spent["presign_urls"], _ = _cpu_ms(lambda: [store.presigned_url(prediction_id, name) for name in ("a", "b", "c")])
    return spent


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args(argv)

    from infra.local_stack import FAKE_CREDENTIALS, MotoS3Process, local_recognizer
    from recognizer.settings import Settings

    os.environ.update({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"})
    moto = MotoS3Process()
    try:
        recognizer = local_recognizer(Settings(), moto.endpoint, "request-cost")
        singles = {
            "canvas": canvas_upload(),
            "shrunk_photo": shrunk_photo_upload(),
            "camera_photo_12mp": camera_photo_upload(),
        }
        row = row_upload()
        runs: dict[str, list[dict[str, float]]] = {}
        for repeat in range(args.repeats + 2):
            measured = {name: single_stages(recognizer, data) for name, data in singles.items()}
            measured["row_of_five"] = row_stages(recognizer, row)
            measured["storage"] = storage_stages(recognizer)
            if repeat >= 2:  # the first two warm caches and the networks' first calls
                for name, figures in measured.items():
                    runs.setdefault(name, []).append(figures)
    finally:
        moto.stop()
    report: dict[str, Any] = {name: medians(figures) for name, figures in runs.items()}
    report["decoded_sizes"] = {
        name: _decoded_size(data, recognizer) for name, data in {**singles, "row_of_five": row}.items()
    }
    report["repeats"] = args.repeats
    report["machine"] = {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(report, indent=2))


def _decoded_size(data: bytes, recognizer: Any) -> list[int]:
    from recognizer.decoding import decode_for_recognition

    return list(decode_for_recognition(data, recognizer.settings).size)


if __name__ == "__main__":
    main()
