"""``digits``: recognise handwritten digits in image files from a terminal.

    digits predict PATH... [--multi] [--json] [--url URL]
    digits bulk FOLDER --url URL [--out results.csv] [--kind digit|row]

Each PATH is an image file or a folder (its image files, by name; other files are skipped with
a note). Offline by default: the files are read with the local model, exactly as the API reads
them, up to the largest file the API takes (``MAX_S3_UPLOAD_BYTES``, through POST /api/uploads),
and nothing is stored anywhere (no S3, no network). With ``--url`` every file is sent to a
deployed API (``POST /api/predict`` or ``/api/predict/multi``) instead; only the standard
library is used for that. ``--multi`` reads a row of digits (a number) in each file.

``bulk`` sends a folder's image files to a deployed API as one bulk job (POST /api/jobs: each
file straight to storage, then the job read by Step Functions, or the local stack's stand-in),
follows it and writes its CSV (one line per file) to ``--out`` (default: stdout).

Output: ``FILE: DIGIT (CONFIDENCE%)``, or ``FILE: NUMBER`` with ``--multi``; ``--json`` prints
one JSON object per file (JSON Lines) with the API's fields and ``file``. A progress bar goes
to stderr when it is a terminal (``--progress``/``--no-progress`` to choose). Exit status: 0
when every file was read, 1 when any failed, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import mimetypes
import os
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
REQUEST_TIMEOUT_SECONDS = 60
OFFLINE_ONLY_FIELDS = ("prediction_id", "input_url", "feature_maps")  # nothing is stored offline
# What the service reads (recognizer.decoding.ACCEPTED, which imports Pillow: --help must not).
FORMATS = "PNG, JPEG, HEIC/HEIF, AVIF, WebP, GIF, BMP or TIFF"
# Settings' default MAX_S3_UPLOAD_BYTES, for --help (which loads no settings; a test compares).
OFFLINE_LIMIT_TEXT = "50 MiB"
# The names those formats' files go by: a folder's other files are skipped.
IMAGE_SUFFIXES = frozenset(
    (
        ".png",
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".heic",
        ".heif",
        ".avif",
        ".webp",
        ".gif",
        ".bmp",
        ".dib",
        ".tif",
        ".tiff",
    )
)


@dataclass(frozen=True)
class Outcome:
    """What became of one file: the API-shaped answer, or an error code and message."""

    file: str
    answer: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.answer is not None

    def as_json(self) -> dict[str, Any]:
        if self.answer is not None:
            return {"file": self.file, **self.answer}
        return {"file": self.file, "error": {"code": self.error_code, "message": self.error_message}}

    def as_text(self, multi: bool) -> str:
        if self.answer is None:
            return f"{self.file}: error: {self.error_code}: {self.error_message}"
        photograph = self.answer.get("refused_because") == "photograph"  # an older API sends none
        if multi:
            if photograph:
                return f"{self.file}: (no digits: a photograph, not handwriting)"
            left_out = sum(not digit["is_digit"] for digit in self.answer["digits"])
            note = f" ({left_out} not a digit, left out)" if left_out else ""
            return f"{self.file}: {self.answer['number'] or '(no digits)'}{note}"
        digit, confidence = self.answer["predicted_digit"], self.answer["confidence"]  # already rounded
        if not self.answer["is_digit"]:
            from recognizer.schemas import percent_text

            refusal = "a photograph, not handwriting" if photograph else "not a digit"
            return f"{self.file}: {refusal} (closest: {digit}, {percent_text(confidence)})"
        return f"{self.file}: {digit} ({confidence:.1f}%)"


Reader = Callable[[bytes, str], dict[str, Any]]  # (file's bytes, file's name) -> answer


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null for a while: what a native library prints there
    (not through sys.stderr, so redirect_stderr cannot catch it) is dropped. Single-threaded
    use only, as here before any file is read."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# Offline: the local model -------------------------------------------------------------------


class FileFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def offline_reader(multi: bool) -> Reader:
    """Read files with the local model as the API would, storing nothing."""
    # Imported here so `digits --help` and --url mode never load NumPy, Pillow or the model.
    from recognizer.errors import ClientError
    from recognizer.service import Recognizer
    from recognizer.settings import Settings

    settings = Settings.from_env()
    # Offline reads whatever the API would take: files over its direct limit go there through
    # POST /api/uploads (up to MAX_S3_UPLOAD_BYTES), so that limit is the one that applies here.
    largest = max(settings.max_upload_bytes, settings.max_s3_upload_bytes)
    settings = settings.model_copy(update={"max_upload_bytes": largest})
    with native_stderr_silenced():  # LiteRT says "INFO: Created ... XNNPACK delegate" on first use
        recognizer = Recognizer.from_settings(settings, store=None)
        recognizer.networks.warm_up()

    def read(data: bytes, filename: str) -> dict[str, Any]:
        try:
            if multi:
                return recognizer.read_row(data, feature_maps=False).model_dump(mode="json", exclude_none=True)
            answer = recognizer.predict_digit(data, store=False).model_dump(mode="json", exclude_none=True)
        except ClientError as exc:
            raise FileFailed(exc.code, exc.message) from exc
        for field in OFFLINE_ONLY_FIELDS:
            answer.pop(field, None)
        return answer

    return read


# Online: a deployed API ----------------------------------------------------------------------


def api_root(base_url: str) -> str:
    """The API under ``base_url`` (the site's root or its ``/api``)."""
    base = base_url.rstrip("/")
    return base if base.endswith("/api") else base + "/api"


def endpoint(base_url: str, multi: bool) -> str:
    """The predict endpoint under ``base_url``."""
    return api_root(base_url) + ("/predict/multi" if multi else "/predict")


def direct_limit(api: str) -> int | None:
    """The largest file the API takes in the request itself (its OpenAPI ``x-upload``), or None
    when it does not say (an older API: everything is sent directly)."""
    try:
        with urllib.request.urlopen(api + "/openapi.json", timeout=REQUEST_TIMEOUT_SECONDS) as response:
            limit = json.loads(response.read())["info"]["x-upload"]["max_bytes"]
        return int(limit)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def multipart_body(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = f"digits-cli-{uuid.uuid4().hex}"
    kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    safe_name = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
        f"Content-Type: {kind}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _error_from_response(status: int, body: bytes) -> FileFailed:
    try:
        error = json.loads(body)["error"]
        return FileFailed(str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return FileFailed(f"http_{status}", body[:200].decode("utf-8", "replace") or f"HTTP {status}")


def _post(url: str, body: bytes, content_type: str) -> bytes:
    """POST and return the answer's body; a 4xx/5xx or no answer as FileFailed."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise _error_from_response(exc.code, exc.read()) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FileFailed("unreachable", f"cannot reach {url}: {reason}") from exc


def _json(body: bytes, url: str) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise FileFailed("bad_response", f"{url} did not answer JSON") from exc
    if not isinstance(answer, dict):
        raise FileFailed("bad_response", f"{url} did not answer a JSON object")
    return answer


def sent_to_s3(api: str, data: bytes, filename: str) -> str:
    """Send a file too big for the request straight to storage (POST /api/uploads, then its
    presigned POST); its upload_id."""
    kind = mimetypes.guess_type(filename)[0] or "image/jpeg"
    kind = kind if kind.startswith("image/") else "image/jpeg"
    request = json.dumps({"content_type": kind, "content_length": len(data)}).encode()
    ticket = _json(_post(api + "/uploads", request, "application/json"), api + "/uploads")
    boundary = f"digits-cli-{uuid.uuid4().hex}"
    fields = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in ticket["fields"].items()
    )
    file_part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        f"Content-Type: {kind}\r\n\r\n"
    ).encode()
    _post(
        ticket["url"],
        fields + file_part + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )
    return str(ticket["upload_id"])


def url_reader(base_url: str, multi: bool) -> Reader:
    """Send each file to the API at ``base_url``: in the request, or, when it is bigger than the
    API takes that way (a phone photo on AWS), straight to storage first."""
    api, target = api_root(base_url), endpoint(base_url, multi)
    limit = direct_limit(api)

    def read(data: bytes, filename: str) -> dict[str, Any]:
        if limit is not None and len(data) > limit:
            reference = json.dumps({"upload_id": sent_to_s3(api, data, filename)}).encode()
            return _json(_post(target, reference, "application/json"), target)
        body, content_type = multipart_body("image", filename, data)
        return _json(_post(target, body, content_type), target)

    return read


# Running -------------------------------------------------------------------------------------


def read_file(path: str, reader: Reader) -> Outcome:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Outcome(path, error_code="unreadable_file", error_message=exc.strerror or str(exc))
    try:
        answer = reader(data, Path(path).name)
    except FileFailed as exc:
        return Outcome(path, error_code=exc.code, error_message=exc.message)
    return Outcome(path, answer=answer)


def files_to_read(paths: Sequence[str], stderr: TextIO) -> list[str]:
    """``paths`` with each folder replaced by its image files, by name. What else a folder holds
    is named on ``stderr`` as skipped (hidden files silently); subfolders are not entered."""
    files: list[str] = []
    for path in paths:
        folder = Path(path)
        if not folder.is_dir():
            files.append(path)
            continue
        entries = sorted((entry for entry in folder.iterdir() if not entry.name.startswith(".")), key=lambda e: e.name)
        images = [entry for entry in entries if entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES]
        skipped = [entry.name + ("/" if entry.is_dir() else "") for entry in entries if entry not in images]
        if skipped:
            shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
            what = "not an image file" if len(skipped) == 1 else "not image files"
            print(f"{path}: skipped {shown} ({what})", file=stderr)
        if not images:
            print(f"{path}: no image files in this folder ({FORMATS})", file=stderr)
        files.extend(str(entry) for entry in images)
    return files


def predict_files(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from tqdm import tqdm  # fits the bar to the terminal's width, clears it before each result

    paths = files_to_read(args.files, stderr)
    if not paths:
        print("digits: error: no image files to read", file=stderr)
        return EXIT_USAGE
    reader = url_reader(args.url, args.multi) if args.url else offline_reader(args.multi)
    show_progress = args.progress if args.progress is not None else (stderr.isatty() and len(paths) > 1)
    failed = 0
    with tqdm(
        total=len(paths), file=stderr, disable=not show_progress, unit="file", leave=False, dynamic_ncols=True
    ) as progress:
        for path in paths:
            progress.set_postfix_str(Path(path).name, refresh=False)
            outcome = read_file(path, reader)
            failed += not outcome.ok
            if args.json:
                line, stream = json.dumps(outcome.as_json()), stdout
            else:
                line, stream = outcome.as_text(args.multi), stdout if outcome.ok else stderr
            progress.write(line, file=stream)
            stream.flush()
            progress.update()
    if failed and not args.json:
        print(f"{failed} of {len(paths)} files failed", file=stderr)
    return EXIT_FAILED if failed else EXIT_OK


# Bulk jobs -----------------------------------------------------------------------------------

BULK_UPLOADERS = 8  # files sent to storage side by side
POLL_SECONDS = 0.5


def _get_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return _json(response.read(), url)
    except urllib.error.HTTPError as exc:
        raise _error_from_response(exc.code, exc.read()) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise FileFailed("unreachable", f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from exc


def post_form(url: str, fields: dict[str, str], filename: str, data: bytes) -> None:
    """A presigned POST: the policy's fields, then the file as field ``file``."""
    boundary = f"digits-cli-{uuid.uuid4().hex}"
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    file_part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        f"Content-Type: {kind}\r\n\r\n"
    ).encode()
    _post(
        url, head + file_part + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
    )


def upload_to_job(ticket: dict[str, Any], path: str) -> str | None:
    """Send one file under the job's prefix; None, or why it failed."""
    upload = ticket["upload"]
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"unreadable_file: {exc.strerror or exc}"
    name = Path(path).name
    try:
        post_form(upload["url"], {**upload["fields"], "key": upload["key_prefix"] + name}, name, data)
    except FileFailed as exc:
        return f"{exc.code}: {exc.message}"
    return None


def bulk_job(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Upload the folder as a job, start it, follow it, write its CSV."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    paths = files_to_read([args.folder], stderr)
    if not paths:
        print("digits: error: no image files to send", file=stderr)
        return EXIT_USAGE
    api = api_root(args.url)
    show = args.progress if args.progress is not None else stderr.isatty()
    try:
        ticket = _json(_post(api + "/jobs", b"{}", "application/json"), api + "/jobs")
        if len(paths) > int(ticket["max_files"]):
            print(f"digits: error: a job holds at most {ticket['max_files']} files ({len(paths)} here)", file=stderr)
            return EXIT_USAGE
        job = api + "/jobs/" + str(ticket["job_id"])
        failed_uploads = 0
        with (
            tqdm(total=len(paths), file=stderr, disable=not show, unit="file", desc="upload", leave=False) as bar,
            ThreadPoolExecutor(BULK_UPLOADERS) as uploads,
        ):
            for path, failure in zip(paths, uploads.map(lambda path: upload_to_job(ticket, path), paths), strict=True):
                if failure is not None:
                    failed_uploads += 1
                    bar.write(f"{path}: not uploaded: {failure}", file=stderr)
                bar.update()
        start = json.dumps({"kind": args.kind}).encode()
        status = _json(_post(job + "/start", start, "application/json"), job + "/start")
        with tqdm(
            total=status.get("files"), file=stderr, disable=not show, unit="file", desc="read", leave=False
        ) as bar:
            while status["status"] == "running":
                time.sleep(POLL_SECONDS)
                status = _get_json(job)
                bar.update(max(0, int(status.get("done") or 0) - bar.n))
        if status["status"] != "succeeded":
            print(f"digits: error: job {ticket['job_id']} {status['status']}: {status.get('error')}", file=stderr)
            return EXIT_FAILED
        with urllib.request.urlopen(status["results"]["csv"], timeout=REQUEST_TIMEOUT_SECONDS) as response:
            table = response.read().decode("utf-8")
    except FileFailed as exc:
        print(f"digits: error: {exc.code}: {exc.message}", file=stderr)
        return EXIT_FAILED
    except (OSError, KeyError, TypeError, ValueError) as exc:
        print(f"digits: error: {type(exc).__name__}: {exc}", file=stderr)
        return EXIT_FAILED
    if args.out:
        Path(args.out).write_text(table, encoding="utf-8")
    else:
        stdout.write(table)
        stdout.flush()
    where = f": {args.out}" if args.out else ""
    print(
        f"job {ticket['job_id']}: {status['files']} files read, {status['failed_files']} with an error{where}",
        file=stderr,
    )
    return EXIT_FAILED if failed_uploads or status["failed_files"] else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digits", description="Recognise handwritten digits in image files.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict = commands.add_parser(
        "predict",
        help="read the digit (or, with --multi, the number) in each file",
        description=(
            "Read the digit in each image file, offline with the local model (nothing is "
            "stored), or with --url through a deployed API. Offline, a file may have up to "
            f"{OFFLINE_LIMIT_TEXT}, as the API takes through POST /api/uploads (MAX_S3_UPLOAD_BYTES)."
        ),
    )
    predict.add_argument(
        "files",
        nargs="+",
        metavar="PATH",
        help=f"image files ({FORMATS}) or folders of them (their image files are read, by name)",
    )
    predict.add_argument("--multi", action="store_true", help="read a row of digits (a number) in each file")
    predict.add_argument("--json", action="store_true", help="one JSON object per file (JSON Lines)")
    predict.add_argument("--url", help="the API's base URL, e.g. https://digits.example.com (default: offline)")
    predict.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal and there are several files)",
    )
    bulk = commands.add_parser(
        "bulk",
        help="read a whole folder as one bulk job of a deployed API (or the local stack)",
        description=(
            "Send a folder's image files to the API at --url as one bulk job (each file straight to "
            "storage), start it, follow it, and write its CSV: a header, then one line per file "
            "(file, digit or number, confidence, is_digit, error)."
        ),
    )
    bulk.add_argument("folder", metavar="FOLDER", help=f"a folder of image files ({FORMATS})")
    bulk.add_argument("--url", required=True, help="the API's base URL, e.g. https://digits.example.com")
    bulk.add_argument("--out", help="write the CSV here (default: stdout)")
    bulk.add_argument("--kind", choices=("digit", "row"), default="digit", help="one digit per file, or a number")
    bulk.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars on stderr (default: when stderr is a terminal)",
    )
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    if args.url and not args.url.startswith(("http://", "https://")):
        parser.print_usage(stderr)
        print(f"digits: error: --url must start with http:// or https:// (got {args.url!r})", file=stderr)
        return EXIT_USAGE
    if args.command == "bulk":
        return bulk_job(args, stdout, stderr)
    return predict_files(args, stdout, stderr)


if __name__ == "__main__":
    raise SystemExit(main())
