"""All configuration, read once from environment variables.

| variable | meaning | default |
| --- | --- | --- |
| MAPS_BUCKET | private S3 bucket for feature maps and normalised inputs | digits-maps-local |
| S3_ENDPOINT_URL | S3 endpoint override (moto server locally); unset on AWS | unset |
| PRESIGNED_URL_EXPIRY | lifetime of presigned GET URLs, seconds | 900 |
| MODEL_BACKEND | ``litert`` (default, no TensorFlow) or ``keras`` | litert |
| MODEL_DIR | folder holding digits.tflite / digits.keras, digit_probe.json, row_reader.tflite | the repository's models/ |
| ROW_READER | ``on``: rows are read with the whole-row reader (models/row_reader.tflite) too; ``off``: by the segmenter alone | on |
| MAX_UPLOAD_BYTES | largest accepted upload, bytes | 5 MiB |
| MAX_IMAGE_PIXELS | largest accepted width x height of a JPEG (decoded at 1/2 to 1/8 scale) | 25,000,000 |
| MAX_DECODED_PIXELS | most pixels decoded: the limit for every other format, and what a JPEG is scaled to | 4,194,304 |
| MAX_BATCH_FILES | most files in one batch request | 32 |
| MAX_BATCH_BYTES | largest total size of one batch request, bytes | 20 MiB |
| STORAGE_TIMEOUT_SECONDS | connect/read timeout for S3 calls | 3 |
| STORAGE_MAX_ATTEMPTS | attempts per S3 call, the first included | 2 |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

_REPO_MODELS = Path(__file__).resolve().parents[2] / "models"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _env_switch(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("on", "1", "true", "yes"):
        return True
    if raw in ("off", "0", "false", "no"):
        return False
    raise ValueError(f"{name} must be 'on' or 'off', not {raw!r}")


@dataclass(frozen=True)
class Settings:
    maps_bucket: str
    s3_endpoint_url: str | None
    presigned_url_expiry: int
    model_backend: Literal["litert", "keras"]
    model_dir: Path
    row_reader: bool
    max_upload_bytes: int
    max_image_pixels: int
    # Decoding is what a hostile upload can make slow: 25 MP of PNG take 0.4 s to inflate, so
    # only a JPEG (which decodes straight to a smaller scale) may declare more than this.
    max_decoded_pixels: int
    max_batch_files: int
    max_batch_bytes: int
    storage_timeout_seconds: int
    storage_max_attempts: int = 2

    @property
    def tflite_path(self) -> Path:
        return self.model_dir / "digits.tflite"

    @property
    def keras_path(self) -> Path:
        return self.model_dir / "digits.keras"


def load_settings() -> Settings:
    """Build settings from the current environment (no caching: tests call this freely)."""
    backend = os.environ.get("MODEL_BACKEND", "litert").strip().lower()
    if backend not in ("litert", "keras"):
        raise ValueError(f"MODEL_BACKEND must be 'litert' or 'keras', not {backend!r}")
    return Settings(
        maps_bucket=os.environ.get("MAPS_BUCKET", "digits-maps-local"),
        s3_endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,
        presigned_url_expiry=_env_int("PRESIGNED_URL_EXPIRY", 900),
        model_backend=backend,  # type: ignore[arg-type]
        model_dir=Path(os.environ.get("MODEL_DIR") or _REPO_MODELS),
        row_reader=_env_switch("ROW_READER", True),
        max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
        max_image_pixels=_env_int("MAX_IMAGE_PIXELS", 25_000_000),
        max_decoded_pixels=_env_int("MAX_DECODED_PIXELS", 4_194_304),
        max_batch_files=_env_int("MAX_BATCH_FILES", 32),
        max_batch_bytes=_env_int("MAX_BATCH_BYTES", 20 * 1024 * 1024),
        storage_timeout_seconds=_env_int("STORAGE_TIMEOUT_SECONDS", 3),
        storage_max_attempts=_env_int("STORAGE_MAX_ATTEMPTS", 2),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (immutable), read on first use."""
    return load_settings()
