"""The bulk jobs' API: POST /api/jobs, POST /api/jobs/{id}/start, GET /api/jobs/{id}, on moto's
in-process S3 with the local stand-in for Step Functions (infra/local_jobs.py) running the
batch entry point in threads."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from infra.local_jobs import LocalJobEngine
from recognizer.api import create_app
from recognizer.jobs import JobStore, JobWorker, csv_key, jsonl_key
from recognizer.service import Recognizer
from recognizer.storage import new_prediction_id
from tests.conftest import S3Handle


@dataclass
class JobsApi:
    client: TestClient
    engine: LocalJobEngine
    s3: S3Handle

    def new_job(self, files: dict[str, bytes]) -> dict:
        created = self.client.post("/api/jobs", json={})
        assert created.status_code == 201, created.text
        ticket = created.json()
        for name, data in files.items():  # what the presigned POST puts there
            self.s3.client.put_object(Bucket=self.s3.bucket, Key=ticket["upload"]["key_prefix"] + name, Body=data)
        return ticket


def jobs_api(recognizer: Recognizer, moto_s3: S3Handle) -> Iterator[JobsApi]:
    store = JobStore(moto_s3.client, moto_s3.bucket, 900)
    with ThreadPoolExecutor(2) as readers, ThreadPoolExecutor(2) as workers:
        worker = JobWorker(recognizer, store, recognizer.settings.max_job_file_bytes, readers)
        engine = LocalJobEngine(store, worker.handle, workers, batch_files=2)
        with TestClient(create_app(recognizer, job_engine=engine), raise_server_exceptions=False) as client:
            yield JobsApi(client, engine, moto_s3)


@pytest.fixture
def api(recognizer: Recognizer, moto_s3: S3Handle) -> Iterator[JobsApi]:
    yield from jobs_api(recognizer, moto_s3)


def test_a_job_gets_one_presigned_post_policy_for_its_prefix(api: JobsApi) -> None:
    ticket = api.client.post("/api/jobs", json={}).json()
    upload = ticket["upload"]
    assert upload["key_prefix"] == f"jobs/{ticket['job_id']}/files/"
    assert ticket["max_files"] == 100_000 and upload["max_bytes"] == 10 << 20 and upload["expires_in"] == 3600
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["starts-with", "$key", upload["key_prefix"]] in policy["conditions"]
    assert ["content-length-range", 1, upload["max_bytes"]] in policy["conditions"]
    assert "key" not in upload["fields"]  # the client names each file
    status = api.client.get(f"/api/jobs/{ticket['job_id']}").json()
    assert status == {
        "job_id": ticket["job_id"],
        "status": "uploading",
        "kind": None,
        "files": None,
        "done": 0,
        "failed_files": 0,
        "results": None,
        "error": None,
    }


def test_a_whole_job_ends_with_one_line_per_file_a_corrupt_one_included(api: JobsApi, digit_png) -> None:
    files = {
        "one.png": digit_png(1),
        "two.png": digit_png(2),
        "sub/four.png": digit_png(4),
        "bad.png": digit_png(9)[:60],
    }
    ticket = api.new_job(files)
    job = f"/api/jobs/{ticket['job_id']}"
    started = api.client.post(job + "/start", json={"kind": "digit"})
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "running" and started.json()["files"] == 4
    api.engine.wait(ticket["job_id"])
    status = api.client.get(job).json()
    assert (status["status"], status["files"], status["done"], status["failed_files"]) == ("succeeded", 4, 4, 1)
    assert "results.csv" in status["results"]["csv"] and "results.jsonl" in status["results"]["jsonl"]
    text = api.s3.client.get_object(Bucket=api.s3.bucket, Key=csv_key(ticket["job_id"]))["Body"].read().decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert sorted(row["file"] for row in table) == sorted(files)
    by_file = {row["file"]: row for row in table}
    assert [by_file[name]["digit"] for name in ("one.png", "two.png", "sub/four.png")] == ["1", "2", "4"]
    assert by_file["bad.png"]["error"] == "invalid_image" and by_file["bad.png"]["digit"] == ""
    jsonl = api.s3.client.get_object(Bucket=api.s3.bucket, Key=jsonl_key(ticket["job_id"]))["Body"].read()
    assert len(jsonl.decode().splitlines()) == 4


def test_a_job_of_rows_answers_numbers(api: JobsApi, mnist_sample) -> None:
    import numpy as np

    from tests.conftest import png_bytes

    gap = np.zeros((28, 8), dtype=np.uint8)
    row = np.hstack([mnist_sample.image_of(3), gap, mnist_sample.image_of(1)])
    ticket = api.new_job({"row.png": png_bytes(np.pad(row, 10), scale=3, invert=True)})
    assert api.client.post(f"/api/jobs/{ticket['job_id']}/start", json={"kind": "row"}).status_code == 202
    api.engine.wait(ticket["job_id"])
    text = api.s3.client.get_object(Bucket=api.s3.bucket, Key=csv_key(ticket["job_id"]))["Body"].read().decode()
    (row_line,) = list(csv.DictReader(io.StringIO(text)))
    assert text.startswith("file,number,confidence,is_digit,error\n") and row_line["number"] == "31"


def test_a_job_started_twice_is_a_conflict(api: JobsApi, digit_png) -> None:
    ticket = api.new_job({"one.png": digit_png(1)})
    job = f"/api/jobs/{ticket['job_id']}"
    assert api.client.post(job + "/start", json={"kind": "digit"}).status_code == 202
    again = api.client.post(job + "/start", json={"kind": "row"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_already_started"
    api.engine.wait(ticket["job_id"])
    after = api.client.post(job + "/start", json={"kind": "digit"})
    assert after.status_code == 409 and after.json()["error"]["code"] == "job_already_started"


@pytest.mark.parametrize("method", ["GET", "START"])
def test_a_foreign_or_malformed_job_id_is_answered_in_the_error_shape(api: JobsApi, method: str) -> None:
    def ask(job_id: str):
        if method == "GET":
            return api.client.get(f"/api/jobs/{job_id}")
        return api.client.post(f"/api/jobs/{job_id}/start", json={"kind": "digit"})

    unknown = ask(new_prediction_id())  # well formed, never made here
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "job_not_found"
    for malformed in ("not-a-job", "A" * 32, "0" * 31):
        answer = ask(malformed)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_job_id", malformed


def test_a_job_without_files_or_with_a_wrong_kind_is_refused(api: JobsApi) -> None:
    job = f"/api/jobs/{api.new_job({})['job_id']}"
    empty = api.client.post(job + "/start", json={"kind": "digit"})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "no_files"
    wrong = api.client.post(job + "/start", json={"kind": "letters"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "validation_error"
    assert api.client.post("/api/jobs", json={"files": 3}).status_code == 422  # {} only


def test_a_job_over_max_job_files_is_refused_and_stays_unstarted(
    recognizer: Recognizer, moto_s3: S3Handle, digit_png
) -> None:
    import dataclasses

    small = dataclasses.replace(recognizer, settings=recognizer.settings.model_copy(update={"max_job_files": 2}))
    for api in jobs_api(small, moto_s3):
        ticket = api.new_job({f"{n}.png": digit_png(n) for n in range(3)})
        assert ticket["max_files"] == 2
        answer = api.client.post(f"/api/jobs/{ticket['job_id']}/start", json={"kind": "digit"})
        assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_many_files"
        assert api.client.get(f"/api/jobs/{ticket['job_id']}").json()["status"] == "uploading"


def test_without_an_engine_jobs_cannot_start(app_client: TestClient, moto_s3: S3Handle, digit_png) -> None:
    ticket = app_client.post("/api/jobs", json={}).json()
    moto_s3.client.put_object(Bucket=moto_s3.bucket, Key=ticket["upload"]["key_prefix"] + "a.png", Body=digit_png(1))
    answer = app_client.post(f"/api/jobs/{ticket['job_id']}/start", json={"kind": "digit"})
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "jobs_unavailable"


def test_a_job_the_engine_could_not_start_may_be_started_again(
    recognizer: Recognizer, moto_s3: S3Handle, digit_png
) -> None:
    from recognizer.errors import StorageError

    class Refusing:
        def __init__(self) -> None:
            self.tries = 0

        def start(self, job_id: str, kind: str) -> None:
            self.tries += 1
            if self.tries == 1:
                raise StorageError("Step Functions: ThrottlingException")

    engine = Refusing()
    with TestClient(create_app(recognizer, job_engine=engine), raise_server_exceptions=False) as client:
        ticket = client.post("/api/jobs", json={}).json()
        moto_s3.client.put_object(
            Bucket=moto_s3.bucket, Key=ticket["upload"]["key_prefix"] + "a.png", Body=digit_png(1)
        )
        job = f"/api/jobs/{ticket['job_id']}"
        failed = client.post(job + "/start", json={"kind": "digit"})
        assert failed.status_code == 503 and failed.json()["error"]["code"] == "storage_unavailable"
        assert client.get(job).json()["status"] == "uploading"
        assert client.post(job + "/start", json={"kind": "digit"}).status_code == 202
        assert engine.tries == 2
