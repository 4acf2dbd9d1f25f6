"""Bulk jobs: a folder of files sent straight to S3, read by Step Functions' Distributed Map on
AWS (the local stand-in locally), one result line per file (recognizer/jobs.py)."""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool

from recognizer.api.deps import JobsDep
from recognizer.api.errors import error_responses
from recognizer.schemas import JobRequest, JobStartRequest, JobStatus, JobTicket

router = APIRouter(tags=["jobs"])


@router.post(
    "/jobs",
    response_model=JobTicket,
    status_code=status.HTTP_201_CREATED,
    summary="Make a bulk job and get where to upload its files",
    description=(
        "Answers a job id and one presigned POST policy for all of its files (up to {max_job_files} "
        "files of up to {max_job_file} each): POST each file to `upload.url` as multipart/form-data "
        "with every field of `upload.fields`, `key` set to `upload.key_prefix` + the file's name, and "
        "the file as field `file`. Then `POST /api/jobs/{job_id}/start`."
    ),
    responses=error_responses(400, 422, 503),
)
async def create_job(request: JobRequest, jobs: JobsDep) -> JobTicket:
    return await run_in_threadpool(jobs.create)


@router.post(
    "/jobs/{job_id}/start",
    response_model=JobStatus,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start reading a job's files",
    description=(
        '`{"kind": "digit"}` reads one digit per file (as `/api/predict`), `{"kind": "row"}` a number '
        "(as `/api/predict/multi`). Counts the files and starts the job; follow it with "
        "`GET /api/jobs/{job_id}`. Started already: 409 `job_already_started`; no files: 422 "
        "`no_files`; more than {max_job_files}: 413 `too_many_files`."
    ),
    responses=error_responses(400, 404, 409, 413, 422, 503),
)
async def start_job(job_id: str, request: JobStartRequest, jobs: JobsDep) -> JobStatus:
    return await run_in_threadpool(jobs.start, job_id, request.kind)


@router.get(
    "/jobs/{job_id}",
    response_model=JobStatus,
    summary="Follow a job; its results once it has succeeded",
    description=(
        "`status`: uploading, running, succeeded or failed; `files` (counted at start), `done` "
        "(read so far), `failed_files`; once succeeded, `results`: presigned links to the CSV "
        "(`file, digit` or `number`, `confidence, is_digit, error`) and the JSON Lines, one line "
        "per file (ask again for fresh links)."
    ),
    responses=error_responses(404, 422, 503),
)
async def job_status(job_id: str, jobs: JobsDep) -> JobStatus:
    return await run_in_threadpool(jobs.status, job_id)
