"""The maps bucket: per-prediction prefixes, concurrent uploads, presigned URLs, deletion."""

from __future__ import annotations

import dataclasses
import threading
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from recognizer.errors import InvalidPredictionId, PredictionNotFound, StorageError
from recognizer.storage import (
    CORRECTION_BYTES,
    NOT_A_DIGIT_LABEL,
    correction_key,
    new_prediction_id,
    object_key,
    open_store,
    s3_client,
    validate_prediction_id,
)
from tests.conftest import in_bucket

PNG_FILES = {"input.png": b"\x89PNG input", "conv1.png": b"\x89PNG one", "conv2.png": b"\x89PNG two"}


def renderers(files: dict[str, bytes] = PNG_FILES) -> dict:
    return {name: (lambda data=data: data) for name, data in files.items()}


def test_prediction_ids_are_random_hex_and_validated() -> None:
    ids = {new_prediction_id() for _ in range(100)}
    assert len(ids) == 100
    for prediction_id in ids:
        assert validate_prediction_id(prediction_id) == prediction_id
    assert object_key(next(iter(ids)), "conv1.png").startswith("predictions/")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../../etc/passwd",
        "a" * 31,
        "a" * 33,
        "A" * 32,
        "g" * 32,
        "0" * 31 + "/",
        "0" * 32 + "\n",
        "predictions/x",
        "*",
    ],
)
def test_ids_that_could_escape_their_prefix_are_refused(bad: str) -> None:
    with pytest.raises(InvalidPredictionId):
        validate_prediction_id(bad)
    with pytest.raises(InvalidPredictionId):
        object_key(bad, "input.png")


def test_files_land_under_the_prediction_prefix_as_png(moto_s3) -> None:
    prediction_id = new_prediction_id()
    urls = moto_s3.store.put_files(prediction_id, renderers())
    assert set(urls) == set(PNG_FILES)
    assert moto_s3.keys() == sorted(f"predictions/{prediction_id}/{name}" for name in PNG_FILES)
    for name, data in PNG_FILES.items():
        stored = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=object_key(prediction_id, name))
        assert stored["Body"].read() == data
        assert stored["ContentType"] == "image/png"


def test_presigned_urls_expire_as_configured(moto_s3, settings) -> None:
    prediction_id = new_prediction_id()
    urls = moto_s3.store.put_files(prediction_id, renderers())
    query = parse_qs(urlparse(urls["conv1.png"]).query)
    assert query["X-Amz-Expires"] == ["900"]
    assert urlparse(urls["conv1.png"]).path.endswith(f"predictions/{prediction_id}/conv1.png")

    store = open_store(settings.model_copy(update={"presigned_url_expiry": 60}))
    url = store.presigned_url(prediction_id, "input.png")
    assert parse_qs(urlparse(url).query)["X-Amz-Expires"] == ["60"]


def test_the_uploads_run_concurrently(moto_s3) -> None:
    # Each render waits until all three have started: sequential uploads would time out.
    barrier = threading.Barrier(len(PNG_FILES), timeout=10)

    def waiting(data: bytes):
        def render() -> bytes:
            barrier.wait()
            return data

        return render

    urls = moto_s3.store.put_files(new_prediction_id(), {name: waiting(data) for name, data in PNG_FILES.items()})
    assert len(urls) == 3


def test_presigned_urls_fetch_the_files_from_the_moto_server(moto_server_s3) -> None:
    prediction_id = new_prediction_id()
    urls = moto_server_s3.store.put_files(prediction_id, renderers())
    for name, url in urls.items():
        assert url.startswith(moto_server_s3.endpoint)
        response = httpx.get(url)
        assert response.status_code == 200
        assert response.content == PNG_FILES[name]
        assert response.headers["content-type"] == "image/png"


def test_delete_removes_every_file_of_one_prediction_only(moto_server_s3) -> None:
    store = moto_server_s3.store
    kept, removed = new_prediction_id(), new_prediction_id()
    store.put_files(kept, renderers())
    urls = store.put_files(removed, renderers())

    assert store.delete_prediction(removed) == 3
    assert moto_server_s3.keys() == sorted(f"predictions/{kept}/{name}" for name in PNG_FILES)
    assert httpx.get(urls["conv2.png"]).status_code == 404
    with pytest.raises(PredictionNotFound):
        store.delete_prediction(removed)


def test_delete_refuses_foreign_ids_before_touching_s3(moto_s3) -> None:
    moto_s3.client.put_object(Bucket=moto_s3.bucket, Key="secret.txt", Body=b"x")
    with pytest.raises(InvalidPredictionId):
        moto_s3.store.delete_prediction("../secret.txt")
    assert moto_s3.keys() == ["secret.txt"]


def test_a_missing_bucket_is_a_storage_error_naming_why(moto_s3) -> None:
    store = in_bucket(moto_s3.store, "no-such-bucket-here")
    with pytest.raises(StorageError, match="NoSuchBucket"):
        store.put_files(new_prediction_id(), renderers())


def test_a_failing_render_is_a_storage_error(moto_s3) -> None:
    def broken() -> bytes:
        raise RuntimeError("boom")

    with pytest.raises(StorageError, match=r"conv2\.png"):
        moto_s3.store.put_files(new_prediction_id(), {**renderers(), "conv2.png": broken})


def test_client_timeouts_retries_and_region_come_from_settings(aws_env, settings) -> None:
    changed = settings.model_copy(
        update={"storage_timeout_seconds": 2, "storage_max_attempts": 3, "aws_region": "eu-west-3"}
    )
    config = s3_client(changed).meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 2)
    assert config.retries["total_max_attempts"] == 3
    assert config.region_name == "eu-west-3"


def test_uploads_skip_the_100_continue_round_trip(moto_s3) -> None:
    sent: list[dict] = []
    client = moto_s3.client
    record = lambda request, **_: sent.append(dict(request.headers))  # noqa: E731
    client.meta.events.register("before-send.s3.PutObject", record)
    try:
        moto_s3.store.put_files(new_prediction_id(), renderers())
    finally:
        client.meta.events.unregister("before-send.s3.PutObject", record)
    assert len(sent) == 3
    assert not any("Expect" in headers for headers in sent)


class RefusingKeys:
    """Wraps a client: DeleteObjects answers 200 but names ``refuse`` keys as not deleted
    (S3 does so, e.g. for a key under an object lock or a slow-down), ``times`` times."""

    def __init__(self, client, refuse: int, times: int) -> None:
        self.client, self.refuse, self.times, self.calls = client, refuse, times, 0

    def __getattr__(self, name: str):
        return getattr(self.client, name)

    def delete_objects(self, Bucket: str, Delete: dict) -> dict:
        self.calls += 1
        objects = Delete["Objects"]
        if self.calls > self.times:
            return self.client.delete_objects(Bucket=Bucket, Delete=Delete)
        refused, deleted = objects[: self.refuse], objects[self.refuse :]
        if deleted:
            self.client.delete_objects(Bucket=Bucket, Delete={"Objects": deleted, "Quiet": True})
        return {
            "Errors": [
                {"Key": o["Key"], "Code": "SlowDown", "Message": "Please reduce your request rate."} for o in refused
            ]
        }


def test_keys_s3_refuses_to_delete_are_tried_again(moto_s3) -> None:
    prediction_id = new_prediction_id()
    moto_s3.store.put_files(prediction_id, renderers())
    once = dataclasses.replace(moto_s3.store, client=RefusingKeys(moto_s3.client, refuse=2, times=1))
    assert once.delete_prediction(prediction_id) == 3
    assert moto_s3.keys(f"predictions/{prediction_id}/") == []
    assert once.client.calls == 2  # the two refused keys, once more


def test_keys_s3_keeps_refusing_are_a_storage_error_not_a_success(moto_s3) -> None:
    prediction_id = new_prediction_id()
    moto_s3.store.put_files(prediction_id, renderers())
    stubborn = dataclasses.replace(moto_s3.store, client=RefusingKeys(moto_s3.client, refuse=1, times=10))
    with pytest.raises(StorageError, match=r"did not delete 1 of 3 files: .*SlowDown"):
        stubborn.delete_prediction(prediction_id)
    assert len(moto_s3.keys(f"predictions/{prediction_id}/")) == 1  # what it could delete, it did


def test_a_prediction_file_reads_back_and_a_missing_one_is_not_found(moto_s3) -> None:
    prediction_id = new_prediction_id()
    moto_s3.store.put_files(prediction_id, renderers())
    assert moto_s3.store.read_file(prediction_id, "input.png") == PNG_FILES["input.png"]
    with pytest.raises(PredictionNotFound):
        moto_s3.store.read_file(prediction_id, "conv9.png")
    with pytest.raises(PredictionNotFound):
        moto_s3.store.read_file(new_prediction_id(), "input.png")
    with pytest.raises(InvalidPredictionId):
        moto_s3.store.read_file("../uploads/x", "input.png")


def test_a_correction_is_784_bytes_and_a_class_nothing_else(moto_s3) -> None:
    prediction_id = new_prediction_id()
    moto_s3.store.put_correction(prediction_id, bytes(range(256)) * 3 + bytes(16), NOT_A_DIGIT_LABEL)
    stored = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=correction_key(prediction_id))
    assert stored["ContentLength"] == CORRECTION_BYTES and stored["Metadata"] == {"label": "10"}
    for pixels, label in ((bytes(783), 3), (bytes(785), 3), (bytes(784), 11), (bytes(784), -1)):
        with pytest.raises(ValueError):
            moto_s3.store.put_correction(new_prediction_id(), pixels, label)
    with pytest.raises(InvalidPredictionId):
        correction_key("../predictions/x")
    assert moto_s3.keys("corrections/") == [correction_key(prediction_id)]


def test_a_correction_storage_cannot_take_is_a_storage_error(unreachable_store) -> None:
    with pytest.raises(StorageError):
        unreachable_store.put_correction(new_prediction_id(), bytes(CORRECTION_BYTES), 3)
    with pytest.raises(StorageError):
        unreachable_store.read_file(new_prediction_id(), "input.png")
