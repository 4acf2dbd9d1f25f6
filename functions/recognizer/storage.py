"""What a prediction stores in the private maps bucket, and presigned links to it.

Every prediction gets its own random id and key prefix ``predictions/{id}/`` so concurrent
requests never see each other's files. ``open_store`` makes the boto3 client (thread-safe) and
the thread pool that runs the uploads side by side; the ``Recognizer`` keeps the one store it
was given. Neither holds request data.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recognizer.bucket_writer import BucketWriter, bucket_writer
from recognizer.errors import (
    InvalidPredictionId,
    InvalidUploadId,
    PredictionNotFound,
    StorageError,
    UploadNotFound,
    UploadTooLarge,
)
from recognizer.links import LinkSigner, link_signer
from recognizer.settings import Settings

if TYPE_CHECKING:  # type-checking only (mypy-boto3-s3, a dev requirement); not installed at runtime
    from botocore.credentials import Credentials as BotocoreCredentials
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef
else:
    S3Client = ObjectIdentifierTypeDef = BotocoreCredentials = Any

PREFIX = "predictions"
UPLOADS = "uploads"  # files sent straight to S3 (POST /api/uploads), read once, then deleted
CORRECTIONS = "corrections"  # corrected labels people consented to give: 784 bytes of input each
CORRECTION_BYTES = 28 * 28  # a correction's object: the 28x28 input, one byte a pixel, row by row
CORRECTION_LABEL = "label"  # its metadata: the class, "0"-"9", or "10" for not a digit
NOT_A_DIGIT_LABEL = 10  # as training numbers its eleventh class (training.data.non_digits)
PNG = "image/png"
_PREDICTION_ID = re.compile(r"[0-9a-f]{32}")
_UPLOAD_WORKERS = 8

logger = logging.getLogger(__name__)


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


def upload_key(upload_id: str) -> str:
    """``uploads/{upload_id}`` for ids this service makes (32 lowercase hex), nothing else."""
    if not _PREDICTION_ID.fullmatch(upload_id):
        raise InvalidUploadId("upload_id must be 32 lowercase hexadecimal characters, as POST /api/uploads gives it")
    return f"{UPLOADS}/{upload_id}"


def correction_key(prediction_id: str) -> str:
    """``corrections/{prediction_id}``: one correction per prediction (a second one replaces it)."""
    return f"{CORRECTIONS}/{validate_prediction_id(prediction_id)}"


@dataclass(frozen=True)
class UploadForm:
    """Where and how to POST one file straight to S3 (a presigned POST)."""

    upload_id: str
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class Credentials:
    """Explicit AWS credentials (the local stack's fake ones); None: boto3's usual chain."""

    access_key_id: str
    secret_access_key: str


def s3_client(settings: Settings, credentials: Credentials | None = None) -> S3Client:
    """A boto3 S3 client configured from ``settings``."""
    return _client_and_credentials(settings, credentials)[0]


def _client_and_credentials(
    settings: Settings, credentials: Credentials | None
) -> tuple[S3Client, BotocoreCredentials | None]:
    """``s3_client``, and the credentials it signs with (None: boto3's chain found none)."""
    import boto3
    from botocore.config import Config
    from botocore.handlers import add_expect_header

    config = Config(
        region_name=settings.aws_region,
        signature_version="s3v4",
        connect_timeout=settings.storage_timeout_seconds,
        read_timeout=settings.storage_timeout_seconds,
        retries={"total_max_attempts": settings.storage_max_attempts, "mode": "standard"},
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
            if settings.s3_endpoint_url
            else {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
        ),
    )
    keys = (
        {"aws_access_key_id": credentials.access_key_id, "aws_secret_access_key": credentials.secret_access_key}
        if credentials is not None
        else {}
    )
    session = boto3.session.Session(**keys)
    client = session.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)
    # botocore asks S3 to confirm every PUT before sending the body ("Expect: 100-continue"),
    # one more round trip per upload; worth it for large files, not for PNGs of a few kB.
    client.meta.events.unregister("before-call.s3", add_expect_header)
    return client, session.get_credentials()


@dataclass(frozen=True)
class MapStore:
    """A prediction's files in the maps bucket."""

    client: S3Client
    bucket: str
    url_expiry_seconds: int
    executor: ThreadPoolExecutor
    links: LinkSigner | None  # None: no credentials to sign links with
    cleanup_wait_seconds: float = 3.0  # how long a failed prediction waits for its cleanup
    writer: BucketWriter | None = None  # PUTs a prediction's files; None: through the client

    def __post_init__(self) -> None:
        if self.links is not None and self.links.bucket != self.bucket:
            raise ValueError(f"links signed for bucket {self.links.bucket!r} in a store of {self.bucket!r}")
        if self.writer is not None and self.writer.signer.bucket != self.bucket:
            raise ValueError(f"a writer for bucket {self.writer.signer.bucket!r} in a store of {self.bucket!r}")

    def put_files(self, prediction_id: str, files: Mapping[str, Callable[[], bytes]]) -> dict[str, str]:
        """Render and upload each named PNG concurrently; presigned GET URLs by name.

        ``files`` maps a file name to a function making its bytes, so rendering one file
        overlaps the upload of another. Raises StorageError if any upload fails, after
        deleting the prediction's files (no half set is left for anyone to find).
        """
        futures: dict[str, Future[str]] = {
            name: self.executor.submit(self._put, prediction_id, name, render) for name, render in files.items()
        }
        urls: dict[str, str] = {}
        failures = []
        for name, future in futures.items():
            try:
                urls[name] = future.result()
            except Exception as exc:  # any failure: reported as one StorageError below
                failures.append(f"{name}: {describe_storage_failure(exc)}")
        if failures:
            self._discard(prediction_id, list(files))
            raise StorageError("; ".join(failures))
        return urls

    def _discard(self, prediction_id: str, names: list[str]) -> None:
        """Delete every file of a prediction whose upload failed: those that landed, and those
        that timed out on our side but may still land. Waits at most ``cleanup_wait_seconds``
        (the answer must not wait on a slow S3 twice); the delete goes on without us."""
        keys: list[ObjectIdentifierTypeDef] = [{"Key": object_key(prediction_id, name)} for name in names]
        cleanup = self.executor.submit(
            self.client.delete_objects, Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
        )
        try:
            cleanup.result(timeout=self.cleanup_wait_seconds)
        except Exception as exc:  # S3 is failing already; leftovers expire in a day
            reason = describe_storage_failure(exc)
            logger.warning("could not delete the files of prediction %s: %s", prediction_id, reason)

    def _put(self, prediction_id: str, name: str, render: Callable[[], bytes]) -> str:
        body, key = render(), object_key(prediction_id, name)
        if self.writer is not None:
            self.writer.put(key, body, PNG)
        else:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=PNG)
        return self.presigned_url(prediction_id, name)

    def close(self) -> None:
        """Let the upload pool's threads end once their work is done."""
        self.executor.shutdown(wait=False)

    def presigned_url(self, prediction_id: str, name: str) -> str:
        if self.links is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        return self.links.url(object_key(prediction_id, name), self.url_expiry_seconds)

    def presign_upload(self, content_type: str, max_bytes: int, expiry_seconds: int) -> UploadForm:
        """A presigned POST for one new file under ``uploads/``: its content type fixed, its
        size at most ``max_bytes`` (S3 refuses the POST otherwise)."""
        upload_id = new_prediction_id()
        try:
            form = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=upload_key(upload_id),
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
                ExpiresIn=expiry_seconds,
            )
        except Exception as exc:
            raise StorageError(describe_storage_failure(exc)) from exc
        return UploadForm(upload_id, form["url"], dict(form["fields"]))

    def read_upload(self, upload_id: str, max_bytes: int) -> bytes:
        """The uploaded file's bytes, its size checked before it is read. UploadNotFound when
        nothing is there (never sent, used already, or removed by the bucket's lifecycle)."""
        key = upload_key(upload_id)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._upload_failure(upload_id, exc) from exc
        if head["ContentLength"] > max_bytes:
            self.discard_upload(upload_id)
            raise UploadTooLarge(f"the uploaded file is larger than {max_bytes:,} bytes")
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:  # gone in between: another request used it first
            raise self._upload_failure(upload_id, exc) from exc

    def _upload_failure(self, upload_id: str, exc: BaseException) -> UploadNotFound | StorageError:
        """What a failed HeadObject or GetObject of an upload means. S3 answers a missing key
        with 404 only to a caller that may list the bucket without a prefix; to anyone else
        (the function's role: ListBucket for its own prefixes only) it answers 403, as it does
        for a key it may not read. A listing of exactly that key, which the role may make, tells
        the two apart: an empty one is an upload never sent, used already or expired."""
        missing = UploadNotFound(f"nothing was uploaded as {upload_id}, or it was used or expired")
        if _is_missing(exc):
            return missing
        if _is_denied(exc):
            key = upload_key(upload_id)
            try:
                listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
            except Exception as listing_failure:
                return StorageError(describe_storage_failure(listing_failure))
            if not any(item.get("Key") == key for item in listing.get("Contents", [])):
                return missing
        return StorageError(describe_storage_failure(exc))

    def discard_upload(self, upload_id: str) -> None:
        """Delete an uploaded file once it is answered (a failure is logged: the bucket's
        lifecycle rule removes what is left within a day)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=upload_key(upload_id))
        except Exception as exc:
            logger.warning("could not delete upload %s: %s", upload_id, describe_storage_failure(exc))

    def read_file(self, prediction_id: str, name: str) -> bytes:
        """One file a prediction stored. PredictionNotFound when it is not there (never stored,
        deleted, or removed by the bucket's lifecycle). The key is listed first: S3 answers a
        GetObject of a missing key 403, not 404, to a role that may list only some prefixes."""
        key = object_key(prediction_id, name)
        gone = f"nothing is stored for prediction {prediction_id}"
        try:
            listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except Exception as exc:
            raise StorageError(describe_storage_failure(exc)) from exc
        if not any(item.get("Key") == key for item in listing.get("Contents", [])):
            raise PredictionNotFound(gone)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            if _is_missing(exc):  # deleted in between
                raise PredictionNotFound(gone) from exc
            raise StorageError(describe_storage_failure(exc)) from exc

    def put_correction(self, prediction_id: str, pixels: bytes, label: int) -> None:
        """Keep a correction: exactly ``CORRECTION_BYTES`` of input and its class (0-9, or
        ``NOT_A_DIGIT_LABEL``) under ``corrections/{prediction_id}``; nothing else is kept."""
        if len(pixels) != CORRECTION_BYTES:
            raise ValueError(f"a correction holds {CORRECTION_BYTES} bytes of input, not {len(pixels)}")
        if not 0 <= label <= NOT_A_DIGIT_LABEL:
            raise ValueError(f"a correction's label is 0-{NOT_A_DIGIT_LABEL}, not {label}")
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=correction_key(prediction_id),
                Body=pixels,
                ContentType="application/octet-stream",
                Metadata={CORRECTION_LABEL: str(label)},
            )
        except Exception as exc:
            raise StorageError(describe_storage_failure(exc)) from exc

    def delete_prediction(self, prediction_id: str) -> int:
        """Delete every object under the prediction's prefix; how many were deleted.

        Raises PredictionNotFound if nothing is stored under it (never stored, or gone), and
        StorageError if S3 fails or still refuses to delete some of the keys once they are
        tried again (DeleteObjects answers 200 and names the keys it could not delete).
        """
        prefix = prediction_prefix(prediction_id)
        try:
            listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
            keys: list[ObjectIdentifierTypeDef] = [{"Key": item["Key"]} for item in listing.get("Contents", [])]
            refused = self._delete_keys(keys)
        except Exception as exc:
            raise StorageError(describe_storage_failure(exc)) from exc
        if not keys:
            raise PredictionNotFound(f"nothing is stored for prediction {prediction_id}")
        if refused:
            raise StorageError(f"S3 did not delete {len(refused)} of {len(keys)} files: {'; '.join(refused)}")
        return len(keys)

    def _delete_keys(self, keys: list[ObjectIdentifierTypeDef], attempts: int = 2) -> list[str]:
        """Delete ``keys``, trying those S3 names in its per-key errors again; what it still
        refuses, as "key: code" (empty when every key is gone)."""
        refused: list[str] = []
        for _ in range(attempts):
            if not keys:
                return []
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
            errors = answer.get("Errors", [])
            keys = [{"Key": error["Key"]} for error in errors if "Key" in error]
            refused = [f"{error.get('Key')}: {error.get('Code', 'error')}" for error in errors]
        return refused


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _is_missing(exc: BaseException) -> bool:
    return _error_code(exc) in ("404", "NoSuchKey", "NotFound")


def _is_denied(exc: BaseException) -> bool:
    """403: a HEAD's answer has no body, so botocore names the error by its status alone."""
    return _error_code(exc) in ("403", "AccessDenied", "Forbidden")


def describe_storage_failure(exc: BaseException) -> str:
    """A short reason fit for a response's warnings (no credentials, no stack)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return type(exc).__name__


def open_store(settings: Settings, credentials: Credentials | None = None, *, direct_puts: bool = True) -> MapStore:
    """The maps bucket of ``settings``, with a client and an upload pool of its own.
    ``direct_puts``: a prediction's files PUT by ``bucket_writer`` (False: by the client, for
    moto's in-process ``mock_aws``, which sees the client's calls only)."""
    client, signing_with = _client_and_credentials(settings, credentials)
    links = link_signer(client, signing_with, settings.maps_bucket)
    return MapStore(
        client=client,
        bucket=settings.maps_bucket,
        url_expiry_seconds=settings.presigned_url_expiry,
        executor=ThreadPoolExecutor(_UPLOAD_WORKERS, thread_name_prefix="maps"),
        links=links,
        cleanup_wait_seconds=settings.storage_timeout_seconds,
        writer=bucket_writer(links, settings, connections=_UPLOAD_WORKERS * 2) if direct_puts else None,
    )
