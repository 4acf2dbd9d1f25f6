"""All configuration, read once from environment variables into one validated, immutable object.

| variable | meaning | default |
| --- | --- | --- |
| MAPS_BUCKET | private S3 bucket for feature maps and normalised inputs | digits-maps-local |
| S3_ENDPOINT_URL | S3 endpoint override (moto server locally); unset on AWS | unset |
| PRESIGNED_URL_EXPIRY | lifetime of presigned GET URLs, seconds | 900 |
| MODEL_BACKEND | ``litert`` (default, no TensorFlow) or ``keras`` | litert |
| MODEL_DIR | folder holding digits.tflite / digits.keras, digit_probe.json, row_reader.tflite | the repository's models/ |
| ROW_READER | ``on``: rows are read with the whole-row reader (models/row_reader.tflite) too; ``off``: by the segmenter alone | on |
| MAX_UPLOAD_BYTES | largest accepted upload, bytes | 5 MiB |
| MAX_IMAGE_PIXELS | largest accepted width x height of a JPEG (decoded at 1/2 to 1/8 scale); a quarter of it for HEIC and AVIF (decoded whole) | 268,435,456 |
| MAX_DECODED_PIXELS | most pixels decoded: the limit for every other format, and what a JPEG is scaled to | 4,194,304 |
| MAX_BATCH_FILES | most files in one batch request | 32 |
| MAX_BATCH_BYTES | largest total size of one batch request, bytes | 20 MiB |
| MAX_BATCH_UPLOAD_IDS | most upload_ids in one batch request (each may be a 12-megapixel photo): what the function reads within its timeout | 5 |
| MAX_S3_UPLOAD_BYTES | largest file sent straight to S3 through POST /api/uploads, bytes | 50 MiB |
| UPLOAD_URL_EXPIRY | lifetime of the presigned POST that POST /api/uploads answers, seconds | 900 |
| STORAGE_TIMEOUT_SECONDS | connect/read timeout for S3 calls | 3 |
| STORAGE_MAX_ATTEMPTS | attempts per S3 call, the first included | 2 |
| MAX_JOB_FILES | most files in one bulk job (POST /api/jobs) | 100,000 |
| MAX_JOB_FILE_BYTES | largest file of a bulk job, bytes (its presigned POST's limit) | 10 MiB |
| JOB_UPLOAD_EXPIRY | lifetime of a bulk job's presigned POST, seconds | 3600 |
| JOB_BATCH_FILES | files per batch of a bulk job (Distributed Map's ItemBatcher on AWS; the local stand-in's batches) | 50 |
| JOB_WORKERS | worker processes of the local stand-in for Step Functions (make run only) | 2 |
| JOBS_STATE_MACHINE_ARN | the bulk jobs' state machine (Step Functions); unset: jobs run on the local stand-in, or not at all | unset |
| ORIGIN_SECRET | when set, every request must carry it in the X-Origin-Verify header (CloudFront adds it) or is refused 403 | unset (no check) |
| AWS_REGION (or AWS_DEFAULT_REGION) | the region S3 URLs are signed for (Lambda sets it) | us-east-1 |

``Settings.from_env()`` is called once by each entry point (the Lambda handler, the local stack,
the CLI) and the result passed in; tests build their own with ``Settings.from_env({...})`` or
``settings.model_copy(update={...})``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"

ENVIRONMENT = {  # field -> the environment variable it is read from
    "maps_bucket": "MAPS_BUCKET",
    "s3_endpoint_url": "S3_ENDPOINT_URL",
    "presigned_url_expiry": "PRESIGNED_URL_EXPIRY",
    "model_backend": "MODEL_BACKEND",
    "model_dir": "MODEL_DIR",
    "row_reader": "ROW_READER",
    "max_upload_bytes": "MAX_UPLOAD_BYTES",
    "max_image_pixels": "MAX_IMAGE_PIXELS",
    "max_decoded_pixels": "MAX_DECODED_PIXELS",
    "max_batch_files": "MAX_BATCH_FILES",
    "max_batch_bytes": "MAX_BATCH_BYTES",
    "max_batch_upload_ids": "MAX_BATCH_UPLOAD_IDS",
    "max_s3_upload_bytes": "MAX_S3_UPLOAD_BYTES",
    "upload_url_expiry": "UPLOAD_URL_EXPIRY",
    "storage_timeout_seconds": "STORAGE_TIMEOUT_SECONDS",
    "storage_max_attempts": "STORAGE_MAX_ATTEMPTS",
    "max_job_files": "MAX_JOB_FILES",
    "max_job_file_bytes": "MAX_JOB_FILE_BYTES",
    "job_upload_expiry": "JOB_UPLOAD_EXPIRY",
    "job_batch_files": "JOB_BATCH_FILES",
    "job_workers": "JOB_WORKERS",
    "jobs_state_machine_arn": "JOBS_STATE_MACHINE_ARN",
    "origin_secret": "ORIGIN_SECRET",
}


def _switch(value: object) -> object:
    """``on``/``off`` (and the usual spellings of yes and no) as a bool."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("on", "1", "true", "yes"):
            return True
        if word in ("off", "0", "false", "no"):
            return False
        raise ValueError(f"must be 'on' or 'off', not {value!r}")
    return value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class Settings(BaseModel):
    """The service's configuration (see the module's table)."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    maps_bucket: str = Field("digits-maps-local", min_length=3, max_length=63)
    s3_endpoint_url: str | None = None
    presigned_url_expiry: int = Field(900, ge=1, le=604_800)
    model_backend: Annotated[Literal["litert", "keras"], BeforeValidator(_lower)] = "litert"
    model_dir: Path = REPO_MODELS
    row_reader: Annotated[bool, BeforeValidator(_switch)] = True
    max_upload_bytes: int = Field(5 * 1024 * 1024, ge=1)
    # 64 x MAX_DECODED_PIXELS: the largest JPEG that still fits once decoded at 1/8 scale (a
    # 200-megapixel camera's); HEIC and AVIF, decoded whole, may have a quarter of it.
    max_image_pixels: int = Field(268_435_456, ge=1)
    # Decoding is what a hostile upload can make slow: 25 MP of PNG take 0.4 s to inflate, so
    # only a JPEG (which decodes straight to a smaller scale) may declare more than this.
    max_decoded_pixels: int = Field(4_194_304, ge=1)
    max_batch_files: int = Field(32, ge=1)
    max_batch_bytes: int = Field(20 * 1024 * 1024, ge=1)
    # A batch of upload_ids is read one file after the other, and each may be a 12-megapixel
    # HEIC: about 0.8 s of CPU, 1.4 s at Lambda's 0.58 vCPU (1024 MB). Five of them, S3 and a
    # first request's warm-up fit in 80% of the function's 15 s (template.yaml has the sums).
    max_batch_upload_ids: int = Field(5, ge=1)
    max_s3_upload_bytes: int = Field(50 * 1024 * 1024, ge=1)
    upload_url_expiry: int = Field(900, ge=1, le=604_800)
    storage_timeout_seconds: int = Field(3, ge=1)
    storage_max_attempts: int = Field(2, ge=1)
    # Bulk jobs (POST /api/jobs). Starting a job counts its files (ListObjectsV2, 1,000 keys a
    # call, about 30 ms each on AWS): 100,000 files are counted in ~3 s of the API's 15.
    max_job_files: int = Field(100_000, ge=1)
    max_job_file_bytes: int = Field(10 * 1024 * 1024, ge=1)
    job_upload_expiry: int = Field(3600, ge=1, le=604_800)
    job_batch_files: int = Field(50, ge=1, le=1000)
    job_workers: int = Field(2, ge=1, le=64)
    jobs_state_machine_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:states:")
    # What CloudFront sends in X-Origin-Verify; None (locally, in tests): requests are not checked.
    origin_secret: str | None = Field(None, min_length=16, repr=False)
    aws_region: str = Field("us-east-1", min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: this process's environment); unset or empty
        variables keep their defaults. Raises ValueError naming the variable that is wrong."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {
            field: environ[name] for field, name in ENVIRONMENT.items() if environ.get(name, "").strip()
        }
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        if region:
            values["aws_region"] = region
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENVIRONMENT.get(str(error['loc'][0]), error['loc'][0])}: {error['msg']}" for error in exc.errors()
            )
            raise ValueError(f"bad configuration: {problems}") from None
