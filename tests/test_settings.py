"""Settings: read once from an environment, defaults where unset, refused when wrong."""

from __future__ import annotations

import pytest

from recognizer.settings import ENVIRONMENT, REPO_MODELS, Settings


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.model_dir == REPO_MODELS and settings.model_backend == "litert" and settings.row_reader
    assert (settings.max_upload_bytes, settings.max_batch_files, settings.max_batch_bytes) == (5 << 20, 32, 20 << 20)
    assert settings.aws_region == "us-east-1" and settings.s3_endpoint_url is None


def test_every_variable_is_read_and_converted() -> None:
    settings = Settings.from_env(
        {
            "MAPS_BUCKET": "maps-prod",
            "S3_ENDPOINT_URL": "http://127.0.0.1:5000",
            "PRESIGNED_URL_EXPIRY": "60",
            "MODEL_BACKEND": " Keras ",
            "MODEL_DIR": "/opt/models",
            "ROW_READER": "off",
            "MAX_UPLOAD_BYTES": "4194304",
            "MAX_IMAGE_PIXELS": "1000",
            "MAX_DECODED_PIXELS": "500",
            "MAX_BATCH_FILES": "4",
            "MAX_BATCH_BYTES": "9000",
            "MAX_BATCH_UPLOAD_IDS": "3",
            "MAX_S3_UPLOAD_BYTES": "8000000",
            "UPLOAD_URL_EXPIRY": "120",
            "STORAGE_TIMEOUT_SECONDS": "1",
            "STORAGE_MAX_ATTEMPTS": "5",
            "ORIGIN_SECRET": "0123456789abcdef0123456789abcdef",
            "MAX_JOB_FILES": "500",
            "MAX_JOB_FILE_BYTES": "70000",
            "JOB_UPLOAD_EXPIRY": "600",
            "JOB_BATCH_FILES": "20",
            "JOB_WORKERS": "3",
            "JOBS_STATE_MACHINE_ARN": "arn:aws:states:eu-west-3:123456789012:stateMachine:digits-jobs",
            "AWS_DEFAULT_REGION": "eu-west-3",
        }
    )
    assert settings.model_dump() == {
        "maps_bucket": "maps-prod",
        "s3_endpoint_url": "http://127.0.0.1:5000",
        "presigned_url_expiry": 60,
        "model_backend": "keras",
        "model_dir": settings.model_dir,
        "row_reader": False,
        "max_upload_bytes": 4_194_304,
        "max_image_pixels": 1000,
        "max_decoded_pixels": 500,
        "max_batch_files": 4,
        "max_batch_bytes": 9000,
        "max_batch_upload_ids": 3,
        "max_s3_upload_bytes": 8_000_000,
        "upload_url_expiry": 120,
        "storage_timeout_seconds": 1,
        "storage_max_attempts": 5,
        "max_job_files": 500,
        "max_job_file_bytes": 70000,
        "job_upload_expiry": 600,
        "job_batch_files": 20,
        "job_workers": 3,
        "jobs_state_machine_arn": "arn:aws:states:eu-west-3:123456789012:stateMachine:digits-jobs",
        "origin_secret": "0123456789abcdef0123456789abcdef",
        "aws_region": "eu-west-3",
    }
    assert str(settings.model_dir) == "/opt/models"
    assert set(ENVIRONMENT) == set(settings.model_dump()) - {"aws_region"}


def test_lambdas_own_region_wins_and_empty_variables_keep_the_default() -> None:
    both = Settings.from_env({"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-west-3"})
    assert both.aws_region == "ap-south-1"
    assert Settings.from_env({"MAX_UPLOAD_BYTES": "", "MAPS_BUCKET": "  "}) == Settings()


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"ROW_READER": "maybe"}, "ROW_READER"),
        ({"MODEL_BACKEND": "torch"}, "MODEL_BACKEND"),
        ({"MAX_UPLOAD_BYTES": "five"}, "MAX_UPLOAD_BYTES"),
        ({"MAX_BATCH_FILES": "0"}, "MAX_BATCH_FILES"),
        ({"PRESIGNED_URL_EXPIRY": "-1"}, "PRESIGNED_URL_EXPIRY"),
        ({"MAPS_BUCKET": "x"}, "MAPS_BUCKET"),
    ],
)
def test_a_wrong_value_is_refused_naming_its_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Settings.from_env(environ)


def test_settings_cannot_change_once_made() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.max_upload_bytes = 1  # type: ignore[misc]
    assert settings.model_copy(update={"max_upload_bytes": 1}).max_upload_bytes == 1
    assert settings.max_upload_bytes == 5 << 20
