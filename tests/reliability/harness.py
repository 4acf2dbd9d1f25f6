"""Sending uploads to a running stack and judging the answers; the server's memory from /proc.

An answer is acceptable when it is a 200 with a well-formed result, or a 4xx whose body is
exactly the API's ``{"error": {"code", "message"}}`` (docs/architecture.md, contract 3); the
upload may narrow that down further (``Upload.expect``, ``Upload.code``, the batch fields). Anything else is a problem, and a 5xx
or a dropped connection is always one.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from tests.reliability.corpus import BATCH, MULTI, PREDICT, Upload


@dataclass(frozen=True)
class Answer:
    name: str
    path: str
    status: int  # 0: no HTTP answer at all (connection refused, reset, timed out)
    elapsed_ms: float
    code: str | None
    problems: tuple[str, ...]
    bomb: bool = False

    @property
    def rejected(self) -> bool:
        return 400 <= self.status < 500


def error_problems(body: object) -> list[str]:
    """Problems with an error body, measured against the API's one error shape (docs/architecture.md)."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"error body is not {{'error': {{...}}}}: {str(body)[:120]}"]
    error = body["error"]
    problems = []
    if set(error) != {"code", "message"}:
        problems.append(f"error keys are {sorted(error)}, not code and message")
    for key in ("code", "message"):
        if not isinstance(error.get(key), str) or not error.get(key):
            problems.append(f"error.{key} is not a non-empty string")
    return problems


def prediction_problems(body: object, where: str = "") -> list[str]:
    if not isinstance(body, dict):
        return [f"{where}prediction is not an object"]
    problems = []
    digit, probabilities = body.get("predicted_digit"), body.get("probabilities")
    if not isinstance(digit, int) or not 0 <= digit <= 9:
        problems.append(f"{where}predicted_digit is {digit!r}")
    if not isinstance(probabilities, list) or len(probabilities) != 10:
        problems.append(f"{where}probabilities are not ten numbers")
    elif abs(sum(probabilities) - 1.0) > 1e-3 or (
        isinstance(digit, int) and probabilities[digit] != max(probabilities)
    ):
        problems.append(f"{where}probabilities do not sum to 1 or do not peak at the digit")
    if not isinstance(body.get("warnings", []), list):
        problems.append(f"{where}warnings is not a list")
    return problems


def batch_problems(upload: Upload, body: object) -> list[str]:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        return ["batch answer has no results list"]
    if len(results) != upload.results:
        return [f"batch answered {len(results)} results for {upload.results} files"]
    problems = []
    for index, result in enumerate(results):
        if isinstance(result, dict) and "error" in result:
            problems += [f"results[{index}]: {p}" for p in error_problems({"error": result["error"]})]
        else:
            problems += prediction_problems(result, f"results[{index}].")
    if results and upload.first is not None:
        first = results[0]
        is_error = isinstance(first, dict) and "error" in first
        code = first["error"].get("code") if is_error and isinstance(first["error"], dict) else None
        if upload.first == "prediction" and is_error:
            problems.append(f"the first file should be read, got {code}")
        elif upload.first == "error" and not is_error:
            problems.append("the first file should be refused, got a prediction")
        elif upload.first not in ("prediction", "error") and code != upload.first:
            problems.append(f"the first file's code is {code}, expected {upload.first}")
    if upload.good_last and results and isinstance(results[-1], dict) and "error" in results[-1]:
        problems.append(f"the good file was spoilt: {results[-1]['error']}")
    return problems


def success_problems(upload: Upload, body: object) -> list[str]:
    if upload.path == BATCH:
        return batch_problems(upload, body)
    if upload.path == MULTI:
        if not isinstance(body, dict) or not isinstance(body.get("digits"), list) or not body["digits"]:
            return ["row answer has no digits"]
        # A mark that does not look like a digit is listed (is_digit false) and left out of the number.
        number = "".join(
            str(d.get("predicted_digit")) for d in body["digits"] if isinstance(d, dict) and d.get("is_digit", True)
        )
        return [] if body.get("number") == number else [f"number {body.get('number')!r} is not its digits {number!r}"]
    if upload.path == PREDICT:
        return prediction_problems(body)
    return []


def judge(upload: Upload, status: int, content: bytes) -> tuple[str | None, list[str]]:
    """The answer's error code and its problems (none: acceptable)."""
    problems: list[str] = []
    if status >= 500:
        problems.append(f"server error {status}")
    elif not (status == 200 or 400 <= status < 500):
        problems.append(f"unexpected status {status}")
    if upload.expect and status not in upload.expect:
        problems.append(f"status {status}, expected one of {sorted(upload.expect)}")
    if status == 404 and not upload.path.startswith("/api") and content.lstrip().lower().startswith(b"<!doctype html"):
        return None, problems  # a page the site lacks: the site's own 404 page, as CloudFront serves it
    try:
        body = json.loads(content)
    except ValueError:
        return None, [*problems, f"answer is not JSON: {content[:80]!r}"]
    code = None
    if 400 <= status < 600:
        problems += error_problems(body)
        code = (
            body.get("error", {}).get("code")
            if isinstance(body, dict) and isinstance(body.get("error"), dict)
            else None
        )
        if upload.code is not None and upload.path != BATCH and code != upload.code:
            problems.append(f"code {code}, expected {upload.code}")
    elif status == 200:
        problems += success_problems(upload, body)
    return code, problems


def send(client: httpx.Client, upload: Upload) -> Answer:
    started = time.perf_counter()
    try:
        response = client.request(
            upload.method,
            upload.path,
            content=upload.body or None,
            headers=dict(upload.headers),
            params=dict(upload.query) or None,
        )
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - started) * 1000.0
        return Answer(upload.name, upload.path, 0, elapsed, None, (f"no answer: {type(exc).__name__}",), upload.bomb)
    elapsed = (time.perf_counter() - started) * 1000.0
    code, problems = judge(upload, response.status_code, response.content)
    return Answer(upload.name, upload.path, response.status_code, elapsed, code, tuple(problems), upload.bomb)


@dataclass
class CorpusFigures:
    """What a run of hostile uploads came to."""

    cases: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_route: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    no_answer: int = 0
    problems: int = 0
    examples_of_problems: list[str] = field(default_factory=list)
    slowest_rejection_ms: float = 0.0
    slowest_rejection_case: str = ""
    slowest_rejection_before_decoding_ms: float = 0.0
    rejections_over_200_ms: list[str] = field(default_factory=list)
    rejection_p95_ms: float = 0.0
    bomb_cases: int = 0
    slowest_bomb_ms: float = 0.0
    slowest_bomb_case: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# Codes answered before any pixel is decoded: the request, the bytes' format or the header.
EARLY_CODES = {
    "bad_request",
    "not_found",
    "method_not_allowed",
    "file_too_large",
    "image_too_large",
    "unsupported_media_type",
    "missing_image",
    "invalid_prediction_id",
    "validation_error",
    "too_many_files",
    "batch_too_large",
}


def summarise(answers: Iterable[Answer], limit_ms: float = 200.0) -> CorpusFigures:
    answers = list(answers)
    figures = CorpusFigures(cases=len(answers))
    figures.by_status = dict(sorted(Counter(str(a.status) for a in answers).items()))
    figures.by_route = dict(sorted(Counter(a.path for a in answers).items()))
    figures.server_errors = sum(1 for a in answers if a.status >= 500)
    figures.no_answer = sum(1 for a in answers if a.status == 0)
    flawed = [a for a in answers if a.problems]
    figures.problems = len(flawed)
    figures.examples_of_problems = [f"{a.name} -> {a.status}: {'; '.join(a.problems)}" for a in flawed[:25]]
    rejections = sorted((a for a in answers if a.rejected), key=lambda a: a.elapsed_ms)
    if rejections:
        slowest = rejections[-1]
        figures.slowest_rejection_ms = round(slowest.elapsed_ms, 1)
        figures.slowest_rejection_case = f"{slowest.name} ({slowest.status} {slowest.code})"
        figures.rejection_p95_ms = round(rejections[int(0.95 * (len(rejections) - 1))].elapsed_ms, 1)
        early = [a.elapsed_ms for a in rejections if a.code in EARLY_CODES]
        figures.slowest_rejection_before_decoding_ms = round(max(early, default=0.0), 1)
        figures.rejections_over_200_ms = [
            f"{a.name} ({a.code}, {a.elapsed_ms:.0f} ms)" for a in rejections if a.elapsed_ms > limit_ms
        ]
    bombs = [a for a in answers if a.bomb]
    figures.bomb_cases = len(bombs)
    if bombs:
        slowest_bomb = max(bombs, key=lambda a: a.elapsed_ms)
        figures.slowest_bomb_ms = round(slowest_bomb.elapsed_ms, 1)
        figures.slowest_bomb_case = f"{slowest_bomb.name} ({slowest_bomb.status} {slowest_bomb.code})"
    return figures


# --- the server's memory ----------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MB (MiB)."""
    return round(_status_kb(pid, "VmHWM") / 1024.0, 1)


def resident_memory_mb(pid: int) -> float:
    return round(_status_kb(pid, "VmRSS") / 1024.0, 1)


def reset_peak_memory(pid: int) -> bool:
    """Restart VmHWM from the current RSS (Linux clear_refs 5); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
