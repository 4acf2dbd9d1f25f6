"""The local stand-in for Step Functions' Distributed Map: bulk jobs on ``make run``.

On AWS, template.yaml's JobsStateMachine lists the job's prefix (ItemReader, s3:listObjectsV2),
cuts the keys into batches (ItemBatcher), invokes the batch entry point once per batch in child
executions, writes what they answered to S3 (ResultWriter), then invokes it once more to write
the CSV and JSON Lines. No local interpreter of that definition runs here without Docker or
Java: AWS's Step Functions Local is a Java program (or a Docker image), LocalStack is a Docker
image, and moto's interpreter of state machines (``moto.stepfunctions.parser``, 5.2.5) refuses
the definition (its grammar has no ItemBatcher) and invokes a Lambda task through moto's Lambda,
which runs functions in Docker. On PyPI (checked December 2026),
pyaslengine 0.8.0 interprets inline Map states only (no ItemReader, ItemBatcher or ResultWriter)
and aws-stepfunctions-toolkit 0.1.1 needs Python 3.13 and Docker; on npm,
serverless-step-functions-local wraps the Java one. So this module does what the definition does,
step for step, over the same S3 prefix:

1. lists ``jobs/{id}/files/`` and shapes each key as ItemReader does (Key, Size, Etag,
   LastModified, StorageClass);
2. cuts them into batches of ``JOB_BATCH_FILES`` with the BatchInput the definition gives
   (``{"job_id", "kind"}``) and hands them to a pool of ``JOB_WORKERS`` worker processes, each of
   which calls ``recognizer.batch_handler.handler`` (the Lambda entry point itself, imported in
   the worker with the local stack's settings), as Distributed Map's child executions invoke it;
3. writes what each batch answered as ResultWriter does (``manifest.json`` and
   ``SUCCEEDED_0.json`` / ``FAILED_0.json`` under ``jobs/{id}/results/map/{run}/``);
4. sends the entry point ``{"action": "finish", ...}`` (``{"action": "fail", ...}`` when a step
   fails), as the definition's WriteResults (MarkFailed) step does.

What it does not play: retries of a failed batch, MaxConcurrency beyond the pool's size, and
the definition's own validity (tests/infra/ check that with cfn-lint and the SAM transform).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from recognizer.jobs import JobKind, JobStore, engine_results_prefix, files_prefix
from recognizer.settings import Settings

logger = logging.getLogger(__name__)

Call = Callable[[dict[str, Any]], dict[str, Any]]


def item_of(listed: Mapping[str, Any]) -> dict[str, Any]:
    """A ListObjectsV2 entry as Distributed Map's ItemReader passes it on."""
    modified = listed.get("LastModified")
    return {
        "Etag": listed.get("ETag", ""),
        "Key": listed["Key"],
        "LastModified": int(modified.timestamp()) if isinstance(modified, datetime) else modified,
        "Size": listed.get("Size", 0),
        "StorageClass": listed.get("StorageClass", "STANDARD"),
    }


class LocalJobEngine:
    """Runs each started job in a thread of its own; its batches on ``workers`` through ``call``
    (the batch entry point)."""

    def __init__(self, store: JobStore, call: Call, workers: Executor, batch_files: int) -> None:
        self.store, self.call, self.workers, self.batch_files = store, call, workers, batch_files
        self._runs: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._runner = ThreadPoolExecutor(4, thread_name_prefix="local-job")

    def start(self, job_id: str, kind: JobKind) -> None:
        with self._lock:
            self._runs[job_id] = self._runner.submit(self.run, job_id, kind)

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Until the job's run has ended (tests)."""
        with self._lock:
            run = self._runs[job_id]
        run.result(timeout)

    def run(self, job_id: str, kind: JobKind) -> None:
        try:
            manifest = self._map(job_id, kind)
            self._invoke({"action": "finish", "job_id": job_id, "manifest": manifest})
        except Exception as exc:
            logger.exception("job %s failed", job_id)
            error = {"Error": type(exc).__name__, "Cause": str(exc)}
            try:
                self._invoke({"action": "fail", "job_id": job_id, "error": error})
            except Exception:
                logger.exception("could not mark job %s failed", job_id)

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """The entry point, on a worker, as the state machine's task states invoke it."""
        return self.workers.submit(self.call, event).result()

    def _map(self, job_id: str, kind: JobKind) -> str:
        """The Distributed Map state: its results' manifest key."""
        items = [item_of(listed) for listed in self.store.keys(files_prefix(job_id))]
        batch_input = {"job_id": job_id, "kind": kind}
        batches = [
            {"Items": items[start : start + self.batch_files], "BatchInput": batch_input}
            for start in range(0, len(items), self.batch_files)
        ]
        futures = [self.workers.submit(self.call, batch) for batch in batches]
        run = uuid.uuid4().hex
        records: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": []}
        for number, (batch, future) in enumerate(zip(batches, futures, strict=True)):
            record: dict[str, Any] = {
                "ExecutionArn": f"local:execution:{job_id}/{run}:{number}",
                "Input": json.dumps(batch),
                "InputDetails": {"Included": True},
                "Name": f"{run}:{number}",
            }
            try:
                output = future.result()
                records["SUCCEEDED"].append({**record, "Output": json.dumps(output), "Status": "SUCCEEDED"})
            except Exception as exc:
                failed = {"Error": type(exc).__name__, "Cause": str(exc), "Status": "FAILED"}
                records["FAILED"].append({**record, **failed})
        prefix = f"{engine_results_prefix(job_id)}/{run}/"
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status, entries in records.items():
            if entries:
                body = json.dumps(entries).encode()
                key = f"{prefix}{status}_0.json"
                self.store.put(key, body, "application/json")
                files[status].append({"Key": key, "Size": len(body)})
        manifest = {
            "DestinationBucket": self.store.bucket,
            "MapRunArn": f"local:mapRun:{job_id}/{run}",
            "ResultFiles": files,
        }
        self.store.put(prefix + "manifest.json", json.dumps(manifest).encode(), "application/json")
        return prefix + "manifest.json"

    def close(self) -> None:
        self._runner.shutdown(wait=False, cancel_futures=True)
        self.workers.shutdown(wait=False, cancel_futures=True)


# Worker processes: the Lambda entry point, imported with the local stack's settings ----------


def _use_environment(environment: dict[str, str]) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on make run is the stack's to handle
    os.environ.update(environment)


def call_batch_handler(event: dict[str, Any]) -> dict[str, Any]:
    """In a worker process: the entry point Step Functions invokes on AWS."""
    from recognizer.batch_handler import handler

    return handler(event)


def _warm() -> None:
    import recognizer.batch_handler  # noqa: F401 - loads the networks and makes the S3 client


def worker_environment(settings: Settings, credentials: Mapping[str, str]) -> dict[str, str]:
    """The environment a worker reads its Settings from: the local stack's own."""
    from recognizer.settings import ENVIRONMENT

    environment = dict(credentials)
    for field, name in ENVIRONMENT.items():
        value = getattr(settings, field)
        if value is not None and field not in ("origin_secret", "jobs_state_machine_arn"):
            environment[name] = ("on" if value else "off") if isinstance(value, bool) else str(value)
    environment["AWS_DEFAULT_REGION"] = settings.aws_region
    environment.update(JOB_STORAGE)
    return environment


# moto's S3 is one Python process: on a busy machine a call can take seconds, not S3's
# milliseconds, so the stand-in's calls wait longer than the API's (STORAGE_TIMEOUT_SECONDS).
JOB_STORAGE = {"STORAGE_TIMEOUT_SECONDS": "30", "STORAGE_MAX_ATTEMPTS": "3"}


def local_job_engine(settings: Settings, store: JobStore, credentials: Mapping[str, str]) -> LocalJobEngine:
    """The stand-in for the local stack: ``settings.job_workers`` processes (spawned, each with
    the networks loaded once), started now so that the first job does not wait for them."""
    import multiprocessing

    workers = ProcessPoolExecutor(
        settings.job_workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_use_environment,
        initargs=(worker_environment(settings, credentials),),
    )
    for _ in range(settings.job_workers):
        workers.submit(_warm)
    return LocalJobEngine(store, call_batch_handler, workers, settings.job_batch_files)
