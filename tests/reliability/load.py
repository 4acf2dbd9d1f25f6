"""Many clients at once against the local stack, each checking that every answer is its own.

Each client sends its own digits (real MNIST digits the model reads right, checked in this
process first). An answer belongs to another request when its digit is not the one sent, or
when the normalised input it stored (fetched from its presigned ``input_url`` afterwards) is
not the one this client's image makes; both are counted as cross-talk.
"""

from __future__ import annotations

import io
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import httpx
import numpy as np
from PIL import Image

from recognizer.decoding import decode_upload
from recognizer.feature_maps import input_png
from recognizer.networks import load_networks
from recognizer.service import Recognizer
from recognizer.settings import REPO_MODELS, Settings
from recognizer.vision.digit import to_model_input
from tests.reliability.corpus import (
    BATCH,
    MULTI,
    PREDICT,
    encode,
    mnist_sample_digits,
    paper_digit,
)


@dataclass(frozen=True)
class Digit:
    label: int
    png: bytes
    stored_input: np.ndarray  # the 28x28 input.png the service must store for it


@dataclass(frozen=True)
class Job:
    """One request a client sends, and what its answer must say."""

    kind: str  # PREDICT, BATCH or MULTI
    digits: tuple[Digit, ...]
    row: bytes = b""  # MULTI: the image of the row


@dataclass
class Stored:
    """A stored input to fetch after the load, with what it must show."""

    url: str
    prediction_id: str
    expected: np.ndarray


@dataclass
class LoadFigures:
    clients: int = 0
    requests: int = 0
    errors: int = 0
    cross_talk: int = 0
    wrong_digits: int = 0
    foreign_inputs: int = 0
    unreadable_inputs: int = 0
    duplicate_ids: int = 0
    stored_inputs_checked: int = 0
    seconds: float = 0.0
    requests_per_second: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    by_route: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def stored_input_of(png: bytes) -> np.ndarray:
    """The normalised input the service stores for this upload, computed here the same way."""
    model_input = to_model_input(decode_upload(png, max_pixels=25_000_000))
    return np.asarray(Image.open(io.BytesIO(input_png(model_input))), dtype=np.int16)


def offline_recognizer() -> Recognizer:
    """The service as the CLI runs it (nothing stored), to know what it reads."""
    return Recognizer(Settings(), load_networks(REPO_MODELS), store=None)


def readable_digits(count: int, recognizer: Recognizer) -> list[Digit]:
    """``count`` MNIST digits (every class) the model reads right, with their stored inputs."""
    digits = []
    for label, pixels in mnist_sample_digits(count * 2, seed=11):
        png = encode(paper_digit(pixels), "PNG")
        if recognizer.predict_digit(png, store=False).predicted_digit == label:
            digits.append(Digit(label, png, stored_input_of(png)))
        if len(digits) == count:
            break
    return digits


def row_of(digits: Sequence[Digit]) -> bytes:
    """The digits side by side on one white strip, a gap between each."""
    images = [Image.open(io.BytesIO(d.png)).convert("L") for d in digits]
    gap = images[0].width // 3
    row = Image.new("L", (sum(i.width for i in images) + gap * (len(images) + 1), images[0].height + 2 * gap), 255)
    x = gap
    for image in images:
        row.paste(image, (x, gap))
        x += image.width + gap
    return encode(row, "PNG")


def client_jobs(client: int, clients: int, digits: Sequence[Digit], recognizer: Recognizer) -> list[Job]:
    """Client ``client``'s requests: its own digits (one class per client, in turn), mostly
    alone, now and then in a batch with another class's digit, or in a row of two."""
    by_label: dict[int, list[Digit]] = {}
    for digit in digits:
        by_label.setdefault(digit.label, []).append(digit)
    label = client % 10
    own = by_label[label][(client // 10) :: max(1, (clients + 9) // 10)] or by_label[label]
    other = by_label[(label + 1) % 10][0]
    jobs = [Job(PREDICT, (digit,)) for digit in own] * 2
    jobs.append(Job(BATCH, (own[0], other)))
    pair = (own[-1], other)
    if recognizer.read_row(row_of(pair)).number == "".join(str(d.label) for d in pair):
        jobs.append(Job(MULTI, pair, row_of(pair)))
    return jobs


def send_job(http: httpx.Client, job: Job) -> tuple[int, dict | None]:
    if job.kind == MULTI:
        response = http.post(MULTI, files={"image": ("row.png", job.row, "image/png")})
    elif job.kind == BATCH:
        response = http.post(
            BATCH, files=[("images", (f"{i}.png", d.png, "image/png")) for i, d in enumerate(job.digits)]
        )
    else:
        response = http.post(PREDICT, files={"image": ("digit.png", job.digits[0].png, "image/png")})
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def judge(job: Job, answer: dict) -> tuple[list[str], list[Stored]]:
    """Wrong digits in the answer, and the stored inputs to check later."""
    if job.kind == MULTI:
        expected = "".join(str(d.label) for d in job.digits)
        return ([] if answer.get("number") == expected else [f"row {expected} read as {answer.get('number')}"]), []
    predictions = answer["results"] if job.kind == BATCH else [answer]
    wrong, stored = [], []
    for digit, prediction in itertools.zip_longest(job.digits, predictions):
        if digit is None or prediction is None or prediction.get("predicted_digit") != digit.label:
            wrong.append(
                f"{digit.label if digit else None} answered as {prediction and prediction.get('predicted_digit')}"
            )
        elif prediction.get("input_url"):
            stored.append(Stored(prediction["input_url"], prediction["prediction_id"], digit.stored_input))
    return wrong, stored


def run_load(
    base_url: str, digits: Sequence[Digit], recognizer: Recognizer, *, clients: int, requests: int, time_limit_s: float
) -> LoadFigures:
    """``clients`` threads share ``requests`` requests (or ``time_limit_s``), then every stored
    input is fetched and compared with what its request sent (``recognizer``: the service
    offline, to know which rows it reads)."""
    jobs = [client_jobs(index, clients, digits, recognizer) for index in range(clients)]
    budget = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    routes: dict[str, int] = {}
    problems: list[str] = []
    stored: list[Stored] = []
    figures = LoadFigures(clients=clients)
    start_line = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60.0) as http:
            start_line.wait()
            for job in itertools.cycle(jobs[index]):
                if next(budget) >= requests or time.perf_counter() > deadline:
                    return
                sent = time.perf_counter()
                try:
                    status, answer = send_job(http, job)
                except httpx.HTTPError as exc:
                    status, answer = 0, {"error": type(exc).__name__}
                elapsed = (time.perf_counter() - sent) * 1000.0
                wrong, to_check = judge(job, answer) if status == 200 and answer else ([], [])
                with lock:
                    latencies.append(elapsed)
                    routes[job.kind] = routes.get(job.kind, 0) + 1
                    stored.extend(to_check)
                    if status != 200:
                        figures.errors += 1
                        problems.append(f"{job.kind}: {status} {str(answer)[:120]}")
                    figures.wrong_digits += len(wrong)
                    problems.extend(f"client {index}: {w}" for w in wrong)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    deadline = time.perf_counter() + time_limit_s
    for thread in threads:
        thread.start()
    start_line.wait()  # every client ready: the clock starts now
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    figures.seconds = round(time.perf_counter() - started, 2)
    figures.requests = len(latencies)
    figures.by_route = dict(sorted(routes.items()))
    ordered = sorted(latencies) or [0.0]
    figures.p50_ms = round(ordered[len(ordered) // 2], 1)
    figures.p95_ms = round(ordered[int(0.95 * (len(ordered) - 1))], 1)
    figures.max_ms = round(ordered[-1], 1)
    figures.requests_per_second = round(figures.requests / figures.seconds, 1) if figures.seconds else 0.0
    check_stored_inputs(stored, digits, figures, problems)
    figures.cross_talk = figures.wrong_digits + figures.foreign_inputs + figures.duplicate_ids
    figures.examples = problems[:20]
    return figures


def check_stored_inputs(
    stored: list[Stored], digits: Sequence[Digit], figures: LoadFigures, problems: list[str]
) -> None:
    """Fetch every stored input: it must be this request's, under this request's own prefix."""
    ids = [item.prediction_id for item in stored]
    figures.duplicate_ids = len(ids) - len(set(ids))
    everyone = [digit.stored_input for digit in digits]
    with httpx.Client(timeout=60.0) as http:
        for item in stored:
            figures.stored_inputs_checked += 1
            if f"predictions/{item.prediction_id}/input.png" not in item.url:
                figures.foreign_inputs += 1
                problems.append(f"{item.prediction_id}: input_url points elsewhere: {item.url[:100]}")
                continue
            response = http.get(item.url)
            try:
                shown = np.asarray(Image.open(io.BytesIO(response.content)), dtype=np.int16)
            except OSError:
                figures.unreadable_inputs += 1
                problems.append(f"{item.prediction_id}: stored input unreadable ({response.status_code})")
                continue
            if shown.shape == item.expected.shape and np.abs(shown - item.expected).max() <= 1:
                continue
            figures.foreign_inputs += 1
            belongs = any(shown.shape == other.shape and np.abs(shown - other).max() <= 1 for other in everyone)
            problems.append(f"{item.prediction_id}: stored input is {'another request' if belongs else 'nobody'}'s")
