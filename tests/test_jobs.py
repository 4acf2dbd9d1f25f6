"""Bulk jobs' batch entry point (recognizer/jobs.py's JobWorker) with the events Step Functions'
Distributed Map sends (``{"Items": [...], "BatchInput": {...}}``) and ResultWriter's files, on
moto's in-process S3."""

from __future__ import annotations

import csv
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from recognizer.errors import ClientError, InvalidJobId
from recognizer.jobs import (
    JobStore,
    JobWorker,
    csv_key,
    engine_results_prefix,
    files_prefix,
    jsonl_key,
    new_job_id,
)
from recognizer.networks import Networks
from recognizer.schemas import JobRecord
from recognizer.service import Recognizer
from recognizer.settings import Settings
from tests.conftest import S3Handle, png_bytes


@pytest.fixture
def store(moto_s3: S3Handle) -> JobStore:
    return JobStore(moto_s3.client, moto_s3.bucket, 900)


@pytest.fixture
def offline_recognizer(settings: Settings, networks: Networks) -> Recognizer:
    return Recognizer(settings, networks, store=None)


@pytest.fixture
def worker(offline_recognizer: Recognizer, store: JobStore, settings: Settings) -> JobWorker:
    with ThreadPoolExecutor(4) as readers:
        yield JobWorker(offline_recognizer, store, settings.max_job_file_bytes, readers)


def running_job(store: JobStore, files: dict[str, bytes], kind: str = "digit") -> str:
    job_id = new_job_id()
    record = JobRecord(job_id=job_id, status="running", kind=kind, files=len(files), created_at=time.time())
    store.write_record(record)
    for name, data in files.items():
        store.put(files_prefix(job_id) + name, data, "application/octet-stream")
    return job_id


def items(store: JobStore, job_id: str, names: list[str]) -> list[dict]:
    """What Distributed Map's ItemReader (s3:listObjectsV2) hands on for each key."""
    listed = {item["Key"]: item for item in store.keys(files_prefix(job_id))}
    found = []
    for name in names:
        key = files_prefix(job_id) + name
        size = listed[key]["Size"] if key in listed else 1234
        found.append(
            {"Etag": '"0123abcd"', "Key": key, "LastModified": 1765000000, "Size": size, "StorageClass": "STANDARD"}
        )
    return found


def batch_event(store: JobStore, job_id: str, names: list[str], kind: str = "digit") -> dict:
    return {"Items": items(store, job_id, names), "BatchInput": {"job_id": job_id, "kind": kind}}


def test_a_batch_is_one_line_per_file_in_order_with_predict_digits_answers(
    worker: JobWorker, store: JobStore, offline_recognizer: Recognizer, digit_png
) -> None:
    seven, three = digit_png(7), digit_png(3, nth=1)
    broken = seven[: len(seven) // 2]
    blank = png_bytes(np.full((40, 40), 255, dtype=np.uint8))
    files = {"a/seven.png": seven, "three.png": three, "broken.png": broken, "notes.txt": b"hello", "blank.png": blank}
    job_id = running_job(store, files)
    answer = worker.handle(batch_event(store, job_id, list(files)))
    lines = answer["results"]
    assert [line["file"] for line in lines] == list(files)
    for line, data in zip(lines[:2], (seven, three), strict=True):
        alone = offline_recognizer.predict_digit(data, store=False)
        assert (line["digit"], line["is_digit"], line["error"]) == (alone.predicted_digit, alone.is_digit, None)
        assert abs(line["confidence"] - alone.confidence) <= 0.11  # one forward pass for the batch
    assert lines[0]["digit"] == 7 and lines[1]["digit"] == 3
    assert [line["error"] for line in lines[2:]] == ["invalid_image", "unsupported_media_type", "no_digit_found"]
    assert all(line["message"] for line in lines[2:])


def test_a_listed_file_that_is_gone_a_key_outside_the_job_and_an_oversized_file_are_lines_with_errors(
    worker: JobWorker, store: JobStore, digit_png
) -> None:
    job_id = running_job(store, {"one.png": digit_png(1)})
    event = batch_event(store, job_id, ["one.png", "gone.png"])
    outside = {**event["Items"][0], "Key": f"uploads/{new_job_id()}"}
    oversized = {**event["Items"][0], "Size": worker.max_file_bytes + 1}
    event["Items"] += [outside, oversized]
    lines = worker.handle(event)["results"]
    assert [line["error"] for line in lines] == [None, "file_not_found", "bad_request", "file_too_large"]
    assert lines[0]["digit"] == 1


def test_a_row_batch_reads_numbers_as_read_row_does(
    worker: JobWorker, store: JobStore, offline_recognizer: Recognizer, mnist_sample
) -> None:
    gap = np.zeros((28, 8), dtype=np.uint8)
    row = np.hstack([mnist_sample.image_of(4), gap, mnist_sample.image_of(2), gap, mnist_sample.image_of(9)])
    data = png_bytes(np.pad(row, 10), scale=3, invert=True)
    job_id = running_job(store, {"row.png": data}, kind="row")
    (line,) = worker.handle(batch_event(store, job_id, ["row.png"], kind="row"))["results"]
    alone = offline_recognizer.read_row(data)
    assert line["number"] == alone.number == "429" and line["is_digit"] is True and line["digit"] is None
    assert line["confidence"] == min(digit.confidence for digit in alone.digits if digit.is_digit)


def test_progress_markers_say_how_many_files_were_read(worker: JobWorker, store: JobStore, digit_png) -> None:
    from recognizer.jobs import Jobs

    job_id = running_job(store, {f"{n}.png": digit_png(n) for n in range(3)})
    worker.handle(batch_event(store, job_id, ["0.png", "1.png"]))
    worker.handle(batch_event(store, job_id, ["0.png", "1.png"]))  # a retried batch counts once
    worker.handle(batch_event(store, job_id, ["2.png"]))
    jobs = Jobs(store, engine=None, max_files=10, max_file_bytes=1000, upload_expiry=60)
    status = jobs.status(job_id)
    assert (status.status, status.files, status.done) == ("running", 3, 3)


def write_result_writer_files(
    store: JobStore, job_id: str, succeeded: list[tuple[dict, dict]], failed: list[dict]
) -> str:
    """What ResultWriter writes (manifest.json, SUCCEEDED_0.json, FAILED_0.json); the manifest's key."""
    prefix = f"{engine_results_prefix(job_id)}/5b1c2d3e-run/"
    records = {
        "SUCCEEDED": [
            {"Input": json.dumps(event), "Output": json.dumps(output), "Status": "SUCCEEDED", "Name": f"s{n}"}
            for n, (event, output) in enumerate(succeeded)
        ],
        "FAILED": [
            {
                "Input": json.dumps(event),
                "Error": "Lambda.Unknown",
                "Cause": "The function ran out of memory",
                "Status": "FAILED",
                "Name": f"f{n}",
            }
            for n, event in enumerate(failed)
        ],
    }
    files: dict[str, list] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status, entries in records.items():
        key = f"{prefix}{status}_0.json"
        store.put(key, json.dumps(entries).encode(), "application/json")
        files[status].append({"Key": key, "Size": 1})
    manifest = {"DestinationBucket": store.bucket, "MapRunArn": "arn:aws:states:::mapRun:x", "ResultFiles": files}
    store.put(prefix + "manifest.json", json.dumps(manifest).encode(), "application/json")
    return prefix + "manifest.json"


def test_finish_writes_a_line_for_every_file_a_failed_batchs_files_included(
    worker: JobWorker, store: JobStore, digit_png
) -> None:
    files = {"b.png": digit_png(5), "a.png": digit_png(6), "c.png": b"broken", "d.png": digit_png(8)}
    job_id = running_job(store, files)
    first = batch_event(store, job_id, ["b.png", "a.png", "c.png"])
    lost = batch_event(store, job_id, ["d.png"])
    manifest = write_result_writer_files(store, job_id, [(first, worker.handle(first))], [lost])
    summary = worker.handle({"action": "finish", "job_id": job_id, "manifest": manifest})
    assert summary == {"job_id": job_id, "files": 4, "failed_files": 2}
    table = list(csv.reader(io.StringIO(store.get(csv_key(job_id)).decode())))
    assert table[0] == ["file", "digit", "confidence", "is_digit", "error"]
    by_file = {row[0]: row for row in table[1:]}
    assert [row[0] for row in table[1:]] == ["a.png", "b.png", "c.png", "d.png"]
    assert by_file["a.png"][1] == "6" and by_file["b.png"][1] == "5" and by_file["a.png"][4] == ""
    assert by_file["c.png"][4] == "unsupported_media_type" and by_file["d.png"][4] == "batch_failed"
    lines = [json.loads(line) for line in store.get(jsonl_key(job_id)).decode().splitlines()]
    assert len(lines) == 4 and "out of memory" in lines[3]["message"] and "number" not in lines[0]
    record, _ = store.read_record(job_id)
    assert (record.status, record.files, record.done, record.failed_files) == ("succeeded", 4, 4, 2)


def test_finish_reads_only_the_jobs_own_results(worker: JobWorker, store: JobStore, digit_png) -> None:
    job_id = running_job(store, {"a.png": digit_png(1)})
    other = running_job(store, {"a.png": digit_png(2)})
    with pytest.raises(ValueError, match="not under job"):
        worker.handle(
            {"action": "finish", "job_id": job_id, "manifest": engine_results_prefix(other) + "/x/manifest.json"}
        )


def test_fail_marks_the_job_failed_with_the_cause(worker: JobWorker, store: JobStore, digit_png) -> None:
    job_id = running_job(store, {"a.png": digit_png(1)})
    error = {"Error": "States.ItemReaderFailed", "Cause": "Access denied listing the prefix"}
    assert worker.handle({"action": "fail", "job_id": job_id, "error": error})["status"] == "failed"
    record, _ = store.read_record(job_id)
    assert record.status == "failed" and record.error == "Access denied listing the prefix"


def test_an_event_of_no_known_shape_and_a_foreign_job_id_are_refused(worker: JobWorker) -> None:
    with pytest.raises(ValueError):
        worker.handle({"Records": []})
    with pytest.raises(InvalidJobId):
        worker.handle({"Items": [], "BatchInput": {"job_id": "../predictions", "kind": "digit"}})


def test_predict_digits_answers_each_file_as_predict_digit_does(offline_recognizer: Recognizer, digit_png) -> None:
    # A blank page (no digit found) and a photograph among the digits: each answer stays the file's own.
    photo = (Path(__file__).resolve().parent / "data" / "photos" / "ribbon_art.jpg").read_bytes()
    digits = [digit_png(digit, nth) for digit in range(10) for nth in range(2)]
    uploads = [*digits[:5], png_bytes(np.zeros((28, 28), np.uint8)), photo, *digits[5:], b"", b"nope"]
    answers = offline_recognizer.predict_digits(uploads)
    for data, answer in zip(uploads[:-2], answers, strict=False):
        if data is uploads[5]:
            assert getattr(answer, "code", None) == "no_digit_found"
            continue
        alone = offline_recognizer.predict_digit(data, store=False)
        assert not isinstance(answer, ClientError)
        assert (answer.predicted_digit, answer.is_digit) == (alone.predicted_digit, alone.is_digit)
        assert answer.refused_because == alone.refused_because
        assert answer.input_url is None and answer.feature_maps is None  # feature maps off
    assert answers[6].refused_because == "photograph"
    assert [getattr(answer, "code", None) for answer in answers[-2:]] == ["missing_image", "unsupported_media_type"]
