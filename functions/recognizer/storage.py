"""What a prediction stores in the private maps bucket, and presigned links to it.

Every prediction gets its own random id and key prefix ``predictions/{id}/`` so concurrent
requests never see each other's files. The boto3 client (thread-safe) and the thread pool that
runs the uploads concurrently are created once per process; neither holds request data.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from recognizer.errors import InvalidPredictionId, PredictionNotFound
from recognizer.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # type-checking only; not installed at runtime
else:
    S3Client = Any

PREFIX = "predictions"
PNG = "image/png"
_PREDICTION_ID = re.compile(r"[0-9a-f]{32}")
_UPLOAD_WORKERS = 8

logger = logging.getLogger(__name__)


class StorageError(Exception):
    """S3 could not be reached or refused a call (the prediction is answered without maps)."""


def new_prediction_id() -> str:
    return uuid.uuid4().hex


def validate_prediction_id(prediction_id: str) -> str:
    """Accept only ids this service makes (32 lowercase hex), so a key prefix cannot escape."""
    if not _PREDICTION_ID.fullmatch(prediction_id):
        raise InvalidPredictionId("prediction_id must be 32 lowercase hexadecimal characters")
    return prediction_id


def prediction_prefix(prediction_id: str) -> str:
    return f"{PREFIX}/{validate_prediction_id(prediction_id)}/"


def object_key(prediction_id: str, name: str) -> str:
    return prediction_prefix(prediction_id) + name


def _aws_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@lru_cache(maxsize=4)
def _s3_client(
    endpoint_url: str | None, region: str, timeout_seconds: int, max_attempts: int
) -> S3Client:
    # boto3 costs ~150 ms to import: only the first request that stores anything pays it.
    import boto3
    from botocore.config import Config
    from botocore.handlers import add_expect_header

    config = Config(
        region_name=region,
        signature_version="s3v4",
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        max_pool_connections=_UPLOAD_WORKERS * 2,
        # Checksums only where S3 requires them: a CRC per upload and aws-chunked bodies cost
        # CPU on every request for PNGs we can simply render again.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        # A local endpoint (moto) has no per-bucket DNS names. On AWS, sign for the bucket's
        # regional host (the site's CSP img-src names exactly it; "auto" would pick the global
        # s3.amazonaws.com host, which redirects for new buckets outside us-east-1).
        s3=(
            {"addressing_style": "path"}
            if endpoint_url
            else {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
        ),
    )
    client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
    # botocore asks S3 to confirm every PUT before sending the body ("Expect: 100-continue"),
    # one more round trip per upload; worth it for large files, not for PNGs of a few kB.
    client.meta.events.unregister("before-call.s3", add_expect_header)
    return client


def s3_client(settings: Settings | None = None) -> S3Client:
    """The process-wide S3 client for these settings."""
    settings = settings or get_settings()
    return _s3_client(
        settings.s3_endpoint_url,
        _aws_region(),
        settings.storage_timeout_seconds,
        settings.storage_max_attempts,
    )


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def upload_executor() -> ThreadPoolExecutor:
    """The process-wide pool that renders and uploads a prediction's files side by side."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(_UPLOAD_WORKERS, thread_name_prefix="maps")
    return _executor


def reset_clients() -> None:
    """Forget cached S3 clients (tests switch endpoints and credentials between cases)."""
    _s3_client.cache_clear()


@dataclass(frozen=True)
class MapStore:
    """A prediction's files in the maps bucket."""

    client: S3Client
    bucket: str
    url_expiry_seconds: int
    executor: ThreadPoolExecutor
    cleanup_wait_seconds: float = 3.0  # how long a failed prediction waits for its cleanup

    def put_files(
        self, prediction_id: str, files: Mapping[str, Callable[[], bytes]]
    ) -> dict[str, str]:
        """Render and upload each named PNG concurrently; presigned GET URLs by name.

        ``files`` maps a file name to a function making its bytes, so rendering one file
        overlaps the upload of another. Raises StorageError if any upload fails, after
        deleting the prediction's files (no half set is left for anyone to find).
        """
        futures: dict[str, Future[str]] = {
            name: self.executor.submit(self._put, prediction_id, name, render)
            for name, render in files.items()
        }
        urls: dict[str, str] = {}
        failures = []
        for name, future in futures.items():
            try:
                urls[name] = future.result()
            except Exception as exc:  # noqa: BLE001 - reported as one StorageError below
                failures.append(f"{name}: {describe_storage_failure(exc)}")
        if failures:
            self._discard(prediction_id, list(files))
            raise StorageError("; ".join(failures))
        return urls

    def _discard(self, prediction_id: str, names: list[str]) -> None:
        """Delete every file of a prediction whose upload failed: those that landed, and those
        that timed out on our side but may still land. Waits at most ``cleanup_wait_seconds``
        (the answer must not wait on a slow S3 twice); the delete goes on without us."""
        keys = [{"Key": object_key(prediction_id, name)} for name in names]
        cleanup = self.executor.submit(
            self.client.delete_objects, Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
        )
        try:
            cleanup.result(timeout=self.cleanup_wait_seconds)
        except Exception as exc:  # noqa: BLE001 - S3 is failing already; leftovers expire in a day
            reason = describe_storage_failure(exc)
            logger.warning("could not delete the files of prediction %s: %s", prediction_id, reason)

    def _put(self, prediction_id: str, name: str, render: Callable[[], bytes]) -> str:
        body = render()
        self.client.put_object(
            Bucket=self.bucket, Key=object_key(prediction_id, name), Body=body, ContentType=PNG
        )
        return self.presigned_url(prediction_id, name)

    def presigned_url(self, prediction_id: str, name: str) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": object_key(prediction_id, name)},
            ExpiresIn=self.url_expiry_seconds,
        )

    def delete_prediction(self, prediction_id: str) -> int:
        """Delete every object under the prediction's prefix; how many were deleted.

        Raises PredictionNotFound if nothing is stored under it (never stored, or gone).
        """
        prefix = prediction_prefix(prediction_id)
        try:
            listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
            keys = [{"Key": item["Key"]} for item in listing.get("Contents", [])]
            if keys:
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
        except Exception as exc:
            raise StorageError(describe_storage_failure(exc)) from exc
        if not keys:
            raise PredictionNotFound(f"nothing is stored for prediction {prediction_id}")
        return len(keys)


def describe_storage_failure(exc: BaseException) -> str:
    """A short reason fit for a response's warnings (no credentials, no stack)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return type(exc).__name__


def get_store(settings: Settings | None = None) -> MapStore:
    settings = settings or get_settings()
    return MapStore(
        client=s3_client(settings),
        bucket=settings.maps_bucket,
        url_expiry_seconds=settings.presigned_url_expiry,
        executor=upload_executor(),
        cleanup_wait_seconds=settings.storage_timeout_seconds,
    )
