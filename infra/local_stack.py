"""The whole product on one loopback port, without AWS or Docker: ``python -m infra.local_stack``.

moto's S3 server plays the maps bucket (in a child process, on its own free loopback port, so
presigned URLs open in the browser), and uvicorn serves one app: the API under /api (the same code as in Lambda) and the
static site from site/ at / (as CloudFront does in production). Bulk jobs (POST /api/jobs) run on
the local stand-in for Step Functions' Distributed Map (infra/local_jobs.py): JOB_WORKERS worker
processes calling the same batch entry point as on AWS. Ctrl-C stops all of them.

Tests and benchmarks start it in a child process with ``start_local_stack_process``.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from recognizer.jobs import JobEngine
    from recognizer.service import Recognizer
    from recognizer.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SITE_DIR = REPO_ROOT / "site"
DEFAULT_BUCKET = "digits-maps-local"
LOOPBACK = "127.0.0.1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class StackInfo:
    url: str
    s3_endpoint: str
    bucket: str
    pid: int


def _cache_moto_module_list() -> None:
    """moto's request dispatcher lists moto's own package directory on every request (to
    recognise a service named as a host); the list never changes while we run, and listing it
    is a third of what an S3 PUT costs moto."""
    from moto import backends

    listing = getattr(backends, "list_of_moto_modules", None)
    if listing is None or getattr(listing, "cached", False):
        return
    modules = tuple(listing())

    def cached_list_of_moto_modules() -> tuple[str, ...]:
        return modules

    cached_list_of_moto_modules.cached = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = cached_list_of_moto_modules


def start_moto_s3(host: str = LOOPBACK) -> tuple[object, str]:
    """moto's S3 server on a free port of ``host``; (server, endpoint URL)."""
    import logging

    from moto.server import ThreadedMotoServer

    _cache_moto_module_list()
    # werkzeug logs every S3 call; the API's own access log already says what happened.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    bound_host, port = server.get_host_and_port()
    return server, f"http://{bound_host}:{port}"


class MotoS3Process:
    """moto's ThreadedMotoServer in a child process of its own.

    moto handles each S3 call in Python; in the API's process it would compete with the API
    for one GIL, so on a small machine every request would wait for moto's share too. The child
    exits when told to, and by itself when this process is gone (its stdin closes).
    """

    def __init__(self, host: str = LOOPBACK, timeout: float = 60.0) -> None:
        import select

        self._process = subprocess.Popen(
            [sys.executable, "-m", "infra.local_stack", "--moto-s3-only", "--host", host],
            cwd=REPO_ROOT,
            env=_child_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], timeout)
        line = self._process.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise RuntimeError("moto's S3 server did not start")
        self.endpoint: str = json.loads(line)["endpoint"]
        self.pid = self._process.pid

    def stop(self) -> None:
        """Stop at once: what the emulated bucket holds is thrown away anyway."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()


def serve_moto_s3_until_stdin_closes(host: str) -> None:
    """The child's side of MotoS3Process: announce the endpoint, serve until told."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    server, endpoint = start_moto_s3(host)
    print(json.dumps({"endpoint": endpoint}), flush=True)
    sys.stdin.buffer.read()  # returns when the parent closes the pipe or exits
    server.stop()


def _child_environment(extra: Mapping[str, str] | None = None, repo: Path = REPO_ROOT) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(repo), str(repo / "functions"), env.get("PYTHONPATH", "")])
    return env


def local_recognizer(settings: Settings, endpoint: str, bucket: str) -> Recognizer:
    """The recognizer of ``settings``, storing in ``bucket`` on the local S3 at ``endpoint``
    with fake credentials (the bucket is made)."""
    from recognizer.service import Recognizer
    from recognizer.storage import Credentials, open_store

    local = settings.model_copy(update={"s3_endpoint_url": endpoint, "maps_bucket": bucket})
    store = open_store(
        local, Credentials(FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    )
    store.client.create_bucket(Bucket=bucket)
    # The site sends files too big for a request straight to the bucket (POST /api/uploads), from
    # its own origin. Locally any: moto listens on loopback only.
    store.client.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["POST"], "AllowedHeaders": ["*"]}]
        },
    )
    return Recognizer.from_settings(local, store)


def create_local_app(recognizer: Recognizer, site_dir: Path = SITE_DIR, job_engine: JobEngine | None = None) -> FastAPI:
    """The API app plus the static site: / (index.html), /feature_maps, other files as is."""
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException
    from starlette.routing import Match, Mount

    from recognizer.api import create_app

    class SiteMount(Mount):
        """The site at /, except under /api: there the API's router alone answers, so a wrong
        method is a 405 naming the route's own methods (as in Lambda), not the site's GET."""

        def matches(self, scope):
            path = scope.get("path", "")
            if scope.get("type") == "http" and (path == "/api" or path.startswith("/api/")):
                return Match.NONE, {}
            return super().matches(scope)

    app = create_app(recognizer, job_engine=job_engine)

    def page(name: str):
        async def serve_page() -> FileResponse:
            path = site_dir / name
            if not path.is_file():
                raise HTTPException(404, f"the site has no {name} (site/ is missing it)")
            return FileResponse(path)

        return serve_page

    app.add_api_route("/", page("index.html"), include_in_schema=False)
    app.add_api_route("/feature_maps", page("feature_maps.html"), include_in_schema=False)
    if site_dir.is_dir():
        app.router.routes.append(SiteMount("/", StaticFiles(directory=site_dir, html=True), name="site"))
    return app


def bind_socket(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP, as getaddrinfo gives: asyncio sets TCP_NODELAY on accepted connections
    # only then, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def return_big_buffers_to_the_os(threshold_bytes: int = 1 << 20) -> None:
    """Allocate buffers over 1 MiB straight from the OS and give them back when freed.

    glibc otherwise serves big blocks from its heap once a few have been freed, and keeps them:
    after each 25-megapixel upload the server held on to its buffers (RSS stayed 100-200 MB
    higher). Only glibc has mallopt; elsewhere nothing is changed.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, threshold_bytes)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def serve(
    settings: Settings,
    *,
    host: str = LOOPBACK,
    port: int = 8000,
    site_dir: Path = SITE_DIR,
    bucket: str = DEFAULT_BUCKET,
    ready_file: Path | None = None,
    access_log: bool = True,
) -> None:
    """Run the local stack in the foreground until Ctrl-C (or SIGTERM)."""
    import uvicorn

    return_big_buffers_to_the_os()
    from infra.local_jobs import local_job_engine
    from recognizer.jobs import JobStore
    from recognizer.storage import Credentials, s3_client

    moto = MotoS3Process(host)
    s3_endpoint = moto.endpoint
    engine = None
    try:
        recognizer = local_recognizer(settings, s3_endpoint, bucket)
        assert recognizer.store is not None
        patient = recognizer.settings.model_copy(
            update={"storage_timeout_seconds": 30, "storage_max_attempts": 3}  # infra.local_jobs.JOB_STORAGE
        )
        credentials = Credentials(FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        job_store = JobStore(s3_client(patient, credentials), bucket, recognizer.settings.presigned_url_expiry)
        engine = local_job_engine(recognizer.settings, job_store, FAKE_CREDENTIALS)
        sock = bind_socket(host, port)
        url = f"http://{host}:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_local_app(recognizer, site_dir, engine),
            lifespan="off",
            log_level="info" if access_log else "warning",
            access_log=access_log,
        )
        server = uvicorn.Server(config)
        info = StackInfo(url=url, s3_endpoint=s3_endpoint, bucket=bucket, pid=os.getpid())
        threading.Thread(target=_announce_when_started, args=(server, info, ready_file), daemon=True).start()
        server.run(sockets=[sock])
    finally:
        if engine is not None:
            engine.close()
        moto.stop()


def _announce_when_started(server, info: StackInfo, ready_file: Path | None) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.01)
    if not server.started:
        return
    if ready_file is not None:
        partial = ready_file.with_suffix(".partial")
        partial.write_text(json.dumps(info.__dict__))
        partial.replace(ready_file)
    print(
        f"Local stack at {info.url}  (API docs {info.url}/api/docs, "
        f"S3 {info.s3_endpoint}, bucket {info.bucket}). Ctrl-C stops it.",
        flush=True,
    )


@dataclass
class RunningStack:
    info: StackInfo
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return self.info.url

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_local_stack_process(
    *,
    site_dir: Path = SITE_DIR,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    log_path: Path | None = None,
    repo: Path = REPO_ROOT,
    python: Path | None = None,
) -> RunningStack:
    """Start the stack in a child process on free loopback ports; returns once it answers.
    ``repo``: the checkout whose code the child runs (another one to compare behaviour);
    ``python``: the interpreter that runs it (default: this one)."""
    with tempfile.TemporaryDirectory(prefix="local-stack-") as scratch:
        ready_file = Path(scratch) / "ready.json"
        command = [
            str(python or sys.executable),
            "-m",
            "infra.local_stack",
            "--port",
            "0",
            "--quiet",
            "--site-dir",
            str(site_dir),
            "--ready-file",
            str(ready_file),
        ]
        child_env = _child_environment(env, repo)
        with open(log_path or os.devnull, "ab") as log:  # the child keeps its own copy of the handle
            process = subprocess.Popen(command, cwd=repo, env=child_env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not ready_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"the local stack exited with status {process.returncode}")
            if time.monotonic() > deadline:
                process.kill()
                raise TimeoutError(f"the local stack did not start within {timeout} s")
            time.sleep(0.05)
        info = StackInfo(**json.loads(ready_file.read_text()))
    return RunningStack(info=info, process=process)


@contextmanager
def local_stack_process(**kwargs) -> Iterator[RunningStack]:
    stack = start_local_stack_process(**kwargs)
    try:
        yield stack
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument("--site-dir", type=Path, default=SITE_DIR)
    parser.add_argument("--bucket", default=os.environ.get("MAPS_BUCKET") or DEFAULT_BUCKET)
    parser.add_argument("--ready-file", type=Path, help="write the stack's URLs here as JSON")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    parser.add_argument("--moto-s3-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.moto_s3_only:
        serve_moto_s3_until_stdin_closes(args.host)
        return
    from recognizer.settings import Settings

    try:
        serve(
            Settings.from_env(),
            host=args.host,
            port=args.port,
            site_dir=args.site_dir,
            bucket=args.bucket,
            ready_file=args.ready_file,
            access_log=not args.quiet,
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise SystemExit(
            f"{args.host}:{args.port} is already in use; choose another port: PORT=9000 make run"
        ) from None


if __name__ == "__main__":
    main()
