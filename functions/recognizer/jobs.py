"""Bulk jobs: many files under one S3 prefix, each read once, one result line per file.

A job lives in the maps bucket, under ``jobs/{job_id}/`` (nothing else keeps its state):

    job.json          its state (schemas.JobRecord): uploading -> running -> succeeded | failed
    files/NAME        the files, sent by the client with one presigned POST policy
    progress/B-N      an empty marker per batch read (N files), for GET's ``done`` while it runs
    results/map/...   what the engine wrote (Step Functions' ResultWriter: manifest.json and
                      SUCCEEDED_n.json / FAILED_n.json, each a list of child executions)
    results/results.csv, results/results.jsonl   one line per file, written by ``finish``

``Jobs`` is what the API does (create, start, status). The engine that reads the files is
Step Functions' Distributed Map on AWS (``StepFunctionsEngine``; template.yaml's
JobsStateMachine), and the local stack's stand-in locally (infra/local_jobs.py); both send
batches to ``JobWorker.handle`` (the entry point ``recognizer.batch_handler.handler``), in the
event shape Distributed Map gives (``{"Items": [...], "BatchInput": {...}}``), and then ask it
to ``finish``: write the CSV and JSON Lines from the engine's results.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from recognizer.errors import (
    ClientError,
    InvalidJobId,
    JobAlreadyStarted,
    JobHasNoFiles,
    JobNotFound,
    JobsUnavailable,
    StorageError,
    TooManyFiles,
)
from recognizer.schemas import (
    JobKind,
    JobRecord,
    JobResults,
    JobStatus,
    JobTicket,
    JobUpload,
    MultiPredictionResponse,
    PredictionResponse,
    ResultLine,
)
from recognizer.storage import describe_storage_failure

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from recognizer.service import Recognizer
else:
    S3Client = Any

JOBS = "jobs"
JOB_FILE = "job.json"
CSV_COLUMNS = {
    "digit": ("file", "digit", "confidence", "is_digit", "error"),
    "row": ("file", "number", "confidence", "is_digit", "error"),
}
_JOB_ID = re.compile(r"[0-9a-f]{32}")
READERS = 8  # files of a batch fetched from S3 side by side

logger = logging.getLogger(__name__)


def new_job_id() -> str:
    return uuid.uuid4().hex


def validate_job_id(job_id: str) -> str:
    """Only ids this service makes (32 lowercase hex): a key prefix cannot escape."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise InvalidJobId("job_id must be 32 lowercase hexadecimal characters, as POST /api/jobs gives it")
    return job_id


def job_prefix(job_id: str) -> str:
    return f"{JOBS}/{validate_job_id(job_id)}/"


def files_prefix(job_id: str) -> str:
    return job_prefix(job_id) + "files/"


def progress_prefix(job_id: str) -> str:
    return job_prefix(job_id) + "progress/"


def results_prefix(job_id: str) -> str:
    return job_prefix(job_id) + "results/"


def engine_results_prefix(job_id: str) -> str:
    """Where the engine writes its own results (ResultWriter's Prefix)."""
    return results_prefix(job_id) + "map"


def csv_key(job_id: str) -> str:
    return results_prefix(job_id) + "results.csv"


def jsonl_key(job_id: str) -> str:
    return results_prefix(job_id) + "results.jsonl"


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


# Storage ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStore:
    """A job's objects in the maps bucket."""

    client: S3Client
    bucket: str
    url_expiry_seconds: int

    def read_record(self, job_id: str) -> tuple[JobRecord, str]:
        """The job's state and its ETag. JobNotFound when there is none (never made, expired).
        The key is listed first: S3 answers a GetObject of a missing key 403 to a role that may
        list only its own prefixes."""
        key = job_prefix(job_id) + JOB_FILE
        gone = JobNotFound(f"there is no job {job_id} (never made, or expired)")
        if not self._exists(key):
            raise gone
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            return JobRecord.model_validate_json(answer["Body"].read()), str(answer["ETag"])
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise gone from exc
            raise StorageError(describe_storage_failure(exc)) from exc

    def write_record(self, record: JobRecord, *, if_match: str | None = None) -> None:
        """Store the job's state; with ``if_match`` only over that version (JobAlreadyStarted
        when another request changed it in between)."""
        extra: dict[str, Any] = {"IfMatch": if_match} if if_match else {}
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=job_prefix(record.job_id) + JOB_FILE,
                Body=record.model_dump_json().encode(),
                ContentType="application/json",
                **extra,
            )
        except Exception as exc:
            if _error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise JobAlreadyStarted(f"job {record.job_id} was started by another request") from exc
            raise StorageError(describe_storage_failure(exc)) from exc

    def _exists(self, key: str) -> bool:
        try:
            listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except Exception as exc:
            raise StorageError(describe_storage_failure(exc)) from exc
        return any(item.get("Key") == key for item in listing.get("Contents", []))

    def keys(self, prefix: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The objects under ``prefix`` as ListObjectsV2 gives them (Key, Size, ETag, ...), in
        key order; at most ``limit``."""
        token: str | None = None
        seen = 0
        while True:
            extra: dict[str, Any] = {"ContinuationToken": token} if token else {}
            try:
                page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, **extra)
            except Exception as exc:
                raise StorageError(describe_storage_failure(exc)) from exc
            for item in page.get("Contents", []):
                yield dict(item)
                seen += 1
                if limit is not None and seen >= limit:
                    return
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def presign_files(self, job_id: str, max_bytes: int, expiry_seconds: int) -> tuple[str, dict[str, str]]:
        """One presigned POST policy for every file of the job: any key under its files/ prefix,
        each file 1 byte to ``max_bytes``."""
        prefix = files_prefix(job_id)
        try:
            form = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=prefix + "${filename}",
                Conditions=[["starts-with", "$key", prefix], ["content-length-range", 1, max_bytes]],
                ExpiresIn=expiry_seconds,
            )
        except Exception as exc:
            raise StorageError(describe_storage_failure(exc)) from exc
        fields = {name: value for name, value in dict(form["fields"]).items() if name != "key"}
        return form["url"], fields

    def link(self, key: str) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.url_expiry_seconds
        )

    def get(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)


# The engine ------------------------------------------------------------------------------------


class JobEngine(Protocol):
    """What reads a started job's files: Step Functions on AWS, the local stand-in locally."""

    def start(self, job_id: str, kind: JobKind) -> None: ...


def engine_input(job_id: str, kind: JobKind) -> dict[str, str]:
    """The execution's input (the state machine's ``$``)."""
    return {
        "job_id": job_id,
        "kind": kind,
        "files_prefix": files_prefix(job_id),
        "results_prefix": engine_results_prefix(job_id),
    }


@dataclass(frozen=True)
class StepFunctionsEngine:
    """Starts the job's execution of the state machine (named by the job: one per job)."""

    states: Any  # boto3's Step Functions client
    state_machine_arn: str

    def start(self, job_id: str, kind: JobKind) -> None:
        try:
            self.states.start_execution(
                stateMachineArn=self.state_machine_arn, name=job_id, input=json.dumps(engine_input(job_id, kind))
            )
        except Exception as exc:
            if _error_code(exc) == "ExecutionAlreadyExists":
                raise JobAlreadyStarted(f"job {job_id} was started already") from exc
            raise StorageError(f"Step Functions: {describe_storage_failure(exc)}") from exc


def step_functions_engine(state_machine_arn: str, region: str) -> StepFunctionsEngine:
    import boto3

    return StepFunctionsEngine(boto3.client("stepfunctions", region_name=region), state_machine_arn)


# What the API does ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Jobs:
    """Create, start and follow jobs. ``engine`` None: jobs cannot be started here (503)."""

    store: JobStore
    engine: JobEngine | None
    max_files: int
    max_file_bytes: int
    upload_expiry: int

    def create(self) -> JobTicket:
        job_id = new_job_id()
        self.store.write_record(JobRecord(job_id=job_id, created_at=time.time()))
        url, fields = self.store.presign_files(job_id, self.max_file_bytes, self.upload_expiry)
        upload = JobUpload(
            url=url,
            fields=fields,
            key_prefix=files_prefix(job_id),
            max_bytes=self.max_file_bytes,
            expires_in=self.upload_expiry,
        )
        return JobTicket(job_id=job_id, upload=upload, max_files=self.max_files)

    def start(self, job_id: str, kind: JobKind) -> JobStatus:
        validate_job_id(job_id)
        if self.engine is None:
            raise JobsUnavailable("no engine runs jobs in this deployment (JOBS_STATE_MACHINE_ARN is unset)")
        record, etag = self.store.read_record(job_id)
        if record.status != "uploading":
            raise JobAlreadyStarted(f"job {job_id} was started already (it is {record.status})")
        files = sum(1 for _ in self.store.keys(files_prefix(job_id), limit=self.max_files + 1))
        if files > self.max_files:
            raise TooManyFiles(f"a job holds at most {self.max_files:,} files; this one has more")
        if files == 0:
            raise JobHasNoFiles(f"nothing was uploaded under {files_prefix(job_id)}: upload the files first")
        started = record.model_copy(
            update={"status": "running", "kind": kind, "files": files, "started_at": time.time()}
        )
        self.store.write_record(started, if_match=etag)
        try:
            self.engine.start(job_id, kind)
        except StorageError:  # not started: the job may be started again
            self.store.write_record(record)
            raise
        return self.status_of(started)

    def status(self, job_id: str) -> JobStatus:
        record, _ = self.store.read_record(validate_job_id(job_id))
        return self.status_of(record)

    def status_of(self, record: JobRecord) -> JobStatus:
        done = record.done
        results = None
        if record.status == "running":
            done = sum(_count_of(item["Key"]) for item in self.store.keys(progress_prefix(record.job_id)))
        elif record.status == "succeeded":
            results = JobResults(
                csv=self.store.link(csv_key(record.job_id)), jsonl=self.store.link(jsonl_key(record.job_id))
            )
        return JobStatus(
            job_id=record.job_id,
            status=record.status,
            kind=record.kind,
            files=record.files,
            done=done,
            failed_files=record.failed_files,
            results=results,
            error=record.error,
        )


def _count_of(progress_key: str) -> int:
    """N of a progress marker ``.../progress/B-N``."""
    try:
        return int(progress_key.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


# What the batch entry point does --------------------------------------------------------------


def line_of_digit(file: str, answer: PredictionResponse) -> ResultLine:
    return ResultLine(file=file, digit=answer.predicted_digit, confidence=answer.confidence, is_digit=answer.is_digit)


def line_of_row(file: str, answer: MultiPredictionResponse) -> ResultLine:
    """A row's line: the number read; its confidence is its least sure digit's (the digits in
    the number only); is_digit: whether any mark read as a digit."""
    kept = [digit.confidence for digit in answer.digits if digit.is_digit]
    confidence = min(kept) if kept else max(digit.confidence for digit in answer.digits)
    return ResultLine(file=file, number=answer.number, confidence=confidence, is_digit=bool(kept))


def error_line(file: str, code: str, message: str) -> ResultLine:
    return ResultLine(file=file, error=code, message=message)


@dataclass(frozen=True)
class JobWorker:
    """Reads batches of a job's files and writes its results: ``handle`` takes the events of
    Distributed Map's child executions and of the state machine's last steps."""

    recognizer: Recognizer
    store: JobStore
    max_file_bytes: int
    readers: ThreadPoolExecutor

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        if "Items" in event:
            return self.read_batch(event["Items"], event.get("BatchInput") or {})
        action = event.get("action")
        if action == "finish":
            return self.finish(str(event["job_id"]), str(event["manifest"]))
        if action == "fail":
            return self.fail(str(event["job_id"]), event.get("error"))
        raise ValueError(f"not an event of the jobs' state machine: {sorted(event)}")

    # A batch -----------------------------------------------------------------------------------

    def read_batch(self, items: Sequence[dict[str, Any]], batch_input: dict[str, Any]) -> dict[str, Any]:
        """One line per item, in order: its answer, or its error. Feature maps off; a batch of
        digits goes through the network in one forward pass."""
        job_id = validate_job_id(str(batch_input.get("job_id")))
        kind: JobKind = "row" if batch_input.get("kind") == "row" else "digit"
        prefix = files_prefix(job_id)
        names = [str(item.get("Key", ""))[len(prefix) :] for item in items]
        fetched = list(self.readers.map(lambda item: self._fetch(prefix, item), items))
        lines: list[ResultLine | None] = [
            error_line(name, outcome.code, outcome.message) if isinstance(outcome, ClientError) else None
            for name, outcome in zip(names, fetched, strict=True)
        ]
        readable = [(index, data) for index, data in enumerate(fetched) if isinstance(data, bytes)]
        if kind == "digit":
            answers = self.recognizer.predict_digits([data for _, data in readable])
            for (index, _), answer in zip(readable, answers, strict=True):
                lines[index] = (
                    error_line(names[index], answer.code, answer.message)
                    if isinstance(answer, ClientError)
                    else line_of_digit(names[index], answer)
                )
        else:
            for index, data in readable:
                lines[index] = self._read_row(names[index], data)
        done = [line for line in lines if line is not None]
        self._mark_progress(job_id, names)
        return {"results": [line.model_dump(mode="json") for line in done]}

    def _fetch(self, prefix: str, item: dict[str, Any]) -> bytes | ClientError:
        key = str(item.get("Key", ""))
        if not key.startswith(prefix) or len(key) == len(prefix):
            return ClientError("this key is not one of the job's files")
        size = int(item.get("Size") or 0)
        if size > self.max_file_bytes:
            return _client_error("file_too_large", f"the file is larger than {self.max_file_bytes:,} bytes")
        try:
            return self.store.get(key)
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied"):
                return _client_error("file_not_found", "the file was listed but is gone (deleted or expired)")
            return _client_error("storage_unavailable", f"reading the file failed: {describe_storage_failure(exc)}")

    def _read_row(self, name: str, data: bytes) -> ResultLine:
        try:
            return line_of_row(name, self.recognizer.read_row(data, sent_to_s3=True))
        except ClientError as exc:
            return error_line(name, exc.code, exc.message)
        except Exception as exc:  # a bug on one file must not lose the others
            logger.exception("reading %s failed", name)
            return error_line(name, "internal_error", type(exc).__name__)

    def _mark_progress(self, job_id: str, names: Sequence[str]) -> None:
        """An empty marker named by the batch and its size (a retried batch writes the same)."""
        batch = hashlib.sha1("\n".join(names).encode()).hexdigest()[:16]
        try:
            self.store.put(f"{progress_prefix(job_id)}{batch}-{len(names)}", b"", "application/octet-stream")
        except Exception as exc:  # progress is a nicety: the results are what counts
            logger.warning("could not mark progress of job %s: %s", job_id, describe_storage_failure(exc))

    # The end -----------------------------------------------------------------------------------

    def finish(self, job_id: str, manifest_key: str) -> dict[str, Any]:
        """Write results.csv and results.jsonl from the engine's results (ResultWriter's
        manifest and files): every file a line, a failed batch's files with its error."""
        record, _ = self.store.read_record(job_id)
        if not manifest_key.startswith(results_prefix(job_id)):
            raise ValueError(f"the manifest {manifest_key} is not under job {job_id}'s results")
        lines = sorted(self._engine_lines(job_id, manifest_key), key=lambda line: line.file)
        kind: JobKind = record.kind or "digit"
        self.store.put(csv_key(job_id), csv_text(lines, kind).encode(), "text/csv; charset=utf-8")
        self.store.put(jsonl_key(job_id), jsonl_text(lines, kind).encode(), "application/x-ndjson")
        failed = sum(line.error is not None for line in lines)
        finished = record.model_copy(
            update={
                "status": "succeeded",
                "files": len(lines),
                "done": len(lines),
                "failed_files": failed,
                "finished_at": time.time(),
            }
        )
        self.store.write_record(finished)
        return {"job_id": job_id, "files": len(lines), "failed_files": failed}

    def _engine_lines(self, job_id: str, manifest_key: str) -> Iterator[ResultLine]:
        manifest = json.loads(self.store.get(manifest_key))
        files = manifest.get("ResultFiles", {})
        prefix = files_prefix(job_id)
        for status, entries in files.items():
            for entry in entries:
                for execution in json.loads(self.store.get(str(entry["Key"]))):
                    if status == "SUCCEEDED" and execution.get("Status") == "SUCCEEDED":
                        output = json.loads(execution.get("Output") or "{}")
                        yield from (ResultLine.model_validate(line) for line in output.get("results", []))
                        continue
                    cause = str(execution.get("Cause") or execution.get("Error") or status.lower())
                    items = json.loads(execution.get("Input") or "{}").get("Items", [])
                    for item in items:
                        name = str(item.get("Key", ""))[len(prefix) :]
                        yield error_line(name, "batch_failed", f"the batch holding this file failed: {cause[:300]}")

    def fail(self, job_id: str, error: Any) -> dict[str, Any]:
        record, _ = self.store.read_record(job_id)
        why = error.get("Cause") or error.get("Error") if isinstance(error, dict) else error
        failed = record.model_copy(
            update={"status": "failed", "error": str(why or "the job failed")[:1000], "finished_at": time.time()}
        )
        self.store.write_record(failed)
        return {"job_id": job_id, "status": "failed"}


def _client_error(code: str, message: str) -> ClientError:
    error = ClientError(message)
    error.code = code
    return error


def csv_text(lines: Sequence[ResultLine], kind: JobKind) -> str:
    columns = CSV_COLUMNS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for line in lines:
        values = line.model_dump()
        writer.writerow(["" if values[column] is None else values[column] for column in columns])
    return buffer.getvalue()


def jsonl_text(lines: Sequence[ResultLine], kind: JobKind) -> str:
    drop = {"number"} if kind == "digit" else {"digit"}
    return "".join(json.dumps(line.model_dump(exclude=drop)) + "\n" for line in lines)
