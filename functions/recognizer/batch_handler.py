"""The bulk jobs' Lambda entry point, ``recognizer.batch_handler.handler``: the same image as the
API's function, another command (template.yaml's JobBatchFunction).

Step Functions' Distributed Map sends it a batch of a job's files, as its ItemBatcher shapes
them: ``{"Items": [{"Key", "Size", "Etag", "LastModified", "StorageClass"}, ...],
"BatchInput": {"job_id", "kind"}}``; it answers ``{"results": [one line per item]}`` (feature
maps off, one forward pass per batch of digits). The state machine's last steps send
``{"action": "finish", "job_id", "manifest"}`` (write the CSV and JSON Lines from ResultWriter's
files) or ``{"action": "fail", "job_id", "error"}``. The local stack's stand-in for Step
Functions calls this same function (infra/local_jobs.py).

Like handler.py, it reads the settings once and builds the one ``Recognizer`` at import.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from recognizer.jobs import READERS, JobStore, JobWorker
from recognizer.service import Recognizer
from recognizer.settings import Settings
from recognizer.storage import Credentials, open_store

logging.getLogger("recognizer").setLevel(logging.INFO)


def build_worker(settings: Settings, credentials: Credentials | None = None) -> JobWorker:
    """The worker of ``settings``: the networks loaded, an S3 client made."""
    store = open_store(settings, credentials)
    recognizer = Recognizer.from_settings(settings, store=None)  # stores nothing: feature maps off
    jobs = JobStore(store.client, settings.maps_bucket, settings.presigned_url_expiry)
    return JobWorker(
        recognizer, jobs, settings.max_job_file_bytes, ThreadPoolExecutor(READERS, thread_name_prefix="job")
    )


worker = build_worker(Settings.from_env())


def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return worker.handle(event)
