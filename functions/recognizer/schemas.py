"""Pydantic models of every request and response the API speaks (docs/architecture.md, contract 3)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def percent(probability: float) -> float:
    """A probability as the API, the site and the CLI all show it: percent to one decimal,
    never 100.0 for a probability below 1 (rounding must not claim certainty)."""
    value = round(100.0 * probability, 1)
    return 99.9 if value >= 100.0 and probability < 1.0 else value


def percent_text(confidence: float) -> str:
    """A confidence (percent, as ``percent`` gives it) in words: "31%", "2.5%", and "under
    0.1%" for one that rounds to zero (a small chance is not none)."""
    return "under 0.1%" if confidence < 0.1 else f"{confidence:g}%"


CONFIDENCE = (
    "Probability that the input is the predicted digit, in percent, to one decimal; 100.0 only when certain. "
    "It is the predicted digit's probability times digit_probability: low when the input may not be a digit."
)
PROBABILITIES = "Each digit's probability if the input is a digit (softmax over 0-9, sums to 1)."
IS_DIGIT = (
    "False when the input does not look like a digit (a letter, a symbol, a scribble) or the upload is a "
    "photograph, not handwriting: predicted_digit is then only the closest digit, and warnings says why."
)
RefusedBecause = Literal["photograph", "not_a_digit"]
REFUSED_BECAUSE = (
    "Why is_digit is false: 'photograph' (the whole upload looks like a photograph of the world, a screenshot "
    "or a texture, not handwriting) or 'not_a_digit' (the mark read does not look like a digit); null when "
    "it is a digit."
)
DIGIT_PROBABILITY = "The network's (calibrated) probability that the input is a digit at all."


EXPLANATION = (
    "Only with ?explain=true: which pixels of the 28x28 input made the answer (an evidence map over the "
    "input, and a PNG of it to lay over input_url)."
)


def _absent(value: object) -> bool:
    return value is None


class Explanation(BaseModel):
    method: Literal["occlusion"] = Field(
        description="How it was found: occlusion (pieces of the ink hidden one at a time, all in one forward pass)."
    )
    values: list[list[float]] = Field(
        min_length=28,
        max_length=28,
        description="28 rows of 28 floats over the network's input: positive where the ink is evidence for the "
        "answer, negative where it speaks against it, 0 off the ink. The change in the answer's log-odds that "
        "hiding the pixel accounts for (a piece's values add up to what hiding it did).",
    )
    url: str = Field(
        description="The map as a 28x28 RGBA PNG, the size of input_url's, to lay over it (red: evidence for "
        "the answer, blue: against it, opacity: strength), as a data: URL (a few hundred bytes; nothing is "
        "stored for it, so it never expires)."
    )


class FeatureMap(BaseModel):
    url: str = Field(description="Presigned GET URL of the PNG grid (expires).")
    rows: int = Field(description="Grid rows.", examples=[4])
    cols: int = Field(description="Grid columns.", examples=[8])


class FeatureMaps(BaseModel):
    conv1: FeatureMap = Field(description="First convolution: 32 maps of 26x26 as a 4x8 grid.")
    conv2: FeatureMap = Field(description="Second convolution: 64 maps of 11x11 as an 8x8 grid.")


class PredictionResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "predicted_digit": 7,
                    "confidence": 99.9,
                    "probabilities": [0.0, 0.0, 0.0001, 0.0004, 0.0, 0.0, 0.0, 0.9987, 0.0, 0.0008],
                    "is_digit": True,
                    "digit_probability": 0.9999,
                    "prediction_id": "3f2c0a9e5b7d4c1e8a6f0b2d4c6e8a1b",
                    "input_url": "https://…/predictions/3f2c…/input.png?X-Amz-…",
                    "feature_maps": {
                        "conv1": {"url": "https://…/conv1.png?X-Amz-…", "rows": 4, "cols": 8},
                        "conv2": {"url": "https://…/conv2.png?X-Amz-…", "rows": 8, "cols": 8},
                    },
                    "warnings": [],
                }
            ]
        }
    )

    predicted_digit: int = Field(
        ge=0, le=9, description="The digit the network reads (when is_digit is false: the closest digit)."
    )
    confidence: float = Field(
        ge=0.0,
        le=100.0,
        description=CONFIDENCE,
    )
    probabilities: list[Probability] = Field(min_length=10, max_length=10, description=PROBABILITIES)
    is_digit: bool = Field(description=IS_DIGIT)
    digit_probability: Probability = Field(description=DIGIT_PROBABILITY)
    prediction_id: str = Field(
        pattern=r"^[0-9a-f]{32}$",
        description="Identifies what this prediction stored; DELETE /api/predictions/{id}.",
    )
    input_url: str | None = Field(
        description="Presigned URL of the normalised 28x28 input PNG; null if storage failed."
    )
    feature_maps: FeatureMaps | None = Field(description="Feature-map grids; null if storage failed (see warnings).")
    explanation: Explanation | None = Field(default=None, exclude_if=_absent, description=EXPLANATION)
    refused_because: RefusedBecause | None = Field(default=None, description=REFUSED_BECAUSE)
    warnings: list[str] = Field(default_factory=list, description="Why part of the answer is missing, if it is.")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code.", examples=["invalid_image"])
    message: str = Field(description="What went wrong, for people.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    model_backend: Literal["litert", "keras"]
    model_loaded: bool = Field(description="Whether this process has loaded the model yet.")


class DeletedResponse(BaseModel):
    prediction_id: str
    deleted: int = Field(ge=1, description="How many stored files were removed.")


# Rows of digits (POST /api/predict/multi) and batches (POST /api/predict/batch) -------------


class DigitInRow(BaseModel):
    predicted_digit: int = Field(
        ge=0, le=9, description="The digit read (when is_digit is false: the closest digit, left out of number)."
    )
    confidence: float = Field(ge=0.0, le=100.0, description=CONFIDENCE)
    probabilities: list[Probability] = Field(min_length=10, max_length=10, description=PROBABILITIES)
    is_digit: bool = Field(description=IS_DIGIT)
    digit_probability: Probability = Field(description=DIGIT_PROBABILITY)
    box: list[int] = Field(
        min_length=4,
        max_length=4,
        description="[x, y, w, h] of the digit's ink in the uploaded image's pixels.",
        examples=[[12, 30, 41, 58]],
    )
    prediction_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="Only with ?feature_maps=true: identifies this digit's stored images.",
    )
    input_url: str | None = Field(default=None, description="Only with ?feature_maps=true: the normalised 28x28 input.")
    feature_maps: FeatureMaps | None = Field(
        default=None, description="Only with ?feature_maps=true: this digit's feature-map grids."
    )
    explanation: Explanation | None = Field(default=None, description=EXPLANATION)


class MarkInRow(BaseModel):
    symbol: str = Field(
        pattern=r"^[-.,]$",
        description="A sign of the written number: a leading minus, a decimal point or a decimal comma.",
    )
    box: list[int] = Field(
        min_length=4,
        max_length=4,
        description="[x, y, w, h] of the sign's ink in the uploaded image's pixels.",
        examples=[[52, 70, 8, 8]],
    )


class MultiPredictionResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "42",
                    "digits": [
                        {
                            "predicted_digit": 4,
                            "confidence": 99.1,
                            "probabilities": [0.0, 0.0, 0.0, 0.0, 0.991, 0.0, 0.0, 0.004, 0.0, 0.005],
                            "is_digit": True,
                            "digit_probability": 0.9998,
                            "box": [10, 12, 40, 61],
                        },
                        {
                            "predicted_digit": 2,
                            "confidence": 98.7,
                            "probabilities": [0.0, 0.002, 0.987, 0.004, 0.0, 0.0, 0.0, 0.007, 0.0, 0.0],
                            "is_digit": True,
                            "digit_probability": 0.9997,
                            "box": [62, 15, 44, 58],
                        },
                    ],
                    "marks": [],
                    "warnings": [],
                }
            ]
        }
    )

    number: str = Field(
        pattern=r"^-?[0-9]*([.,][0-9]+)*$",
        description="The number as written, left to right: its digits with a leading minus and a decimal point "
        "or comma where one is written between digits ('-12.5', '3,07'); marks that do not look like digits "
        "are left out (empty when none does).",
    )
    digits: list[DigitInRow] = Field(min_length=1, description="One entry per digit, left to right (digits only).")
    marks: list[MarkInRow] = Field(
        default_factory=list,
        description="The signs read into number (a leading minus, a decimal point or comma), left to right.",
    )
    refused_because: Literal["photograph"] | None = Field(
        default=None,
        description="'photograph' when the whole upload looks like a photograph of the world, not handwriting: "
        "number is then empty and every mark is left out; null otherwise.",
    )
    warnings: list[str] = Field(default_factory=list, description="Why part of the answer is missing, if it is.")


class BatchPrediction(PredictionResponse):
    filename: str | None = Field(description="The file's name as sent, if it had one.")


class BatchFailure(BaseModel):
    filename: str | None = Field(description="The file's name as sent, if it had one.")
    error: ErrorDetail


class BatchResponse(BaseModel):
    results: list[BatchPrediction | BatchFailure] = Field(
        description="One per file, in the order sent: a prediction or that file's error."
    )


# Big files straight to S3 (POST /api/uploads), then answered by upload_id ------------------


class UploadRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"content_type": "image/jpeg", "content_length": 8_400_000}]}
    )

    content_type: str = Field(
        pattern=r"^image/[A-Za-z0-9.+-]+$", max_length=100, description="The file's type (image/jpeg, image/heic...)."
    )
    content_length: int = Field(ge=1, description="The file's size in bytes (at most max_bytes).")


class UploadTicket(BaseModel):
    upload_id: str = Field(pattern=r"^[0-9a-f]{32}$", description='Send it to a predict route as {"upload_id": ...}.')
    url: str = Field(description="POST the file here as multipart/form-data...")
    fields: dict[str, str] = Field(description="...with these form fields first, then the file as field `file`.")
    expires_in: int = Field(description="Seconds the POST is allowed for.")
    max_bytes: int = Field(description="The largest file S3 accepts for it.")


class UploadReference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upload_id: str = Field(description="From POST /api/uploads, once the file is uploaded.")


class UploadReferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upload_ids: list[str] = Field(min_length=1, description="From POST /api/uploads, once each file is uploaded.")


# Corrections (POST /api/predictions/{id}/correction) -----------------------------------------


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"digit": 4, "consent": True}]})

    digit: int | None = Field(
        ge=0, le=9, description='What it really was: a digit 0-9, or null for "not a digit".', examples=[4]
    )
    consent: Literal[True] = Field(
        description="Must be true: the person agrees that the 28x28 input and this label are kept to train "
        "the network again."
    )


class CorrectionReceipt(BaseModel):
    prediction_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    digit: int | None = Field(ge=0, le=9, description='The label kept (null: "not a digit").')


# Bulk jobs (POST /api/jobs, POST /api/jobs/{id}/start, GET /api/jobs/{id}) ------------------

JobKind = Literal["digit", "row"]
JobState = Literal["uploading", "running", "succeeded", "failed"]
JOB_ID = r"^[0-9a-f]{32}$"


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class JobUpload(BaseModel):
    url: str = Field(description="POST each file here as multipart/form-data...")
    fields: dict[str, str] = Field(
        description="...with these fields first, `key` set to key_prefix + the file's name, then the file as "
        "field `file` (one policy for every file of the job)."
    )
    key_prefix: str = Field(description="Every file's key starts with it: jobs/{job_id}/files/.")
    max_bytes: int = Field(description="The largest file S3 accepts (MAX_JOB_FILE_BYTES).")
    expires_in: int = Field(description="Seconds the policy is good for (JOB_UPLOAD_EXPIRY).")


class JobTicket(BaseModel):
    job_id: str = Field(pattern=JOB_ID)
    upload: JobUpload
    max_files: int = Field(description="The most files a job may hold (MAX_JOB_FILES).")


class JobStartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"kind": "digit"}]})

    kind: JobKind = Field(description="digit: one digit per file (as /api/predict); row: a number (as /predict/multi).")


class JobResults(BaseModel):
    csv: str = Field(description="Presigned GET URL of results.csv: a header, then one line per file.")
    jsonl: str = Field(description="Presigned GET URL of results.jsonl: one JSON object per file.")


class JobStatus(BaseModel):
    job_id: str = Field(pattern=JOB_ID)
    status: JobState
    kind: JobKind | None = Field(default=None, description="Set when the job is started.")
    files: int | None = Field(default=None, description="Files in the job (counted at start; null before).")
    done: int = Field(default=0, description="Files read so far (each with a result line).")
    failed_files: int = Field(default=0, description="Files whose line holds an error (known when it ends).")
    results: JobResults | None = Field(default=None, description="Only once succeeded: the results (links expire).")
    error: str | None = Field(default=None, description="Only when failed: why.")


class JobRecord(BaseModel):
    """jobs/{job_id}/job.json: a job's state, the only place it is kept."""

    job_id: str = Field(pattern=JOB_ID)
    status: JobState = "uploading"
    kind: JobKind | None = None
    files: int | None = None
    done: int = 0
    failed_files: int = 0
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None


class ResultLine(BaseModel):
    """One file's line of a job's results (a CSV row, a JSON line)."""

    file: str = Field(description="The file's name: its key after key_prefix.")
    digit: int | None = None
    number: str | None = None
    confidence: float | None = None
    is_digit: bool | None = None
    error: str | None = Field(default=None, description="The error code when the file could not be read.")
    message: str | None = Field(default=None, description="What the error means (JSON Lines only).")
