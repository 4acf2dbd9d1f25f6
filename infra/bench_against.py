"""``make bench BENCH_ARGS="--against REF"``: the API server's CPU per request, this checkout
against REF, in one run.

REF is checked out in a worktree under ``.bench/against/`` with a virtual environment of its own
(its ``requirements-run.txt``; a ref older than that file gets its ``functions/requirements.txt``
plus this checkout's local-stack lines). Both local stacks run side by side (each its own code,
models and moto), and the same requests go to each, alternated in small batches so that whatever
else the machine does weighs on both alike: the site's own requests for a drawn canvas, a phone
photo the page has shrunk, and a row of five digits. For each side and request, the CPU the API
server's process spent (all its threads, from /proc; moto's S3 server is another process) per
request, and the ratio this / REF. No figure here is a test's assertion: the machine's load moves
them, the ratio much less.
"""

from __future__ import annotations

import hashlib
import io
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.bench import multipart

REPO_ROOT = Path(__file__).resolve().parents[1]
AGAINST_DIR = REPO_ROOT / ".bench" / "against"
VENVS_DIR = REPO_ROOT / ".bench" / "venvs"
MNIST_SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"

CANVAS_SIDE = 280  # the site's drawing canvas (site/index.html)
PHONE_PHOTO = (4032, 3024)  # a 12-megapixel phone photo ...
SEND_PIXELS = 2048 * 2048  # ... which the page shrinks to at most this many pixels (site/js/shrink.js)
JPEG_QUALITY = 92  # the page's JPEG_QUALITY, 0.92


@dataclass(frozen=True)
class Request:
    """One of the site's requests: its route with the query the page sends, and the file."""

    name: str
    path: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Side:
    """One checkout under test: its code and the interpreter that runs its local stack."""

    name: str
    repo: Path
    python: Path


# --- the requests -------------------------------------------------------------------------------


def _digits(labels: list[int]) -> list:
    import numpy as np

    with np.load(MNIST_SAMPLE) as sample:
        images, known = sample["images"], sample["labels"]
        return [images[int(np.flatnonzero(known == label)[0])] for label in labels]


def _encoded(pixels, fmt: str, **options: object) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def canvas_upload(digit: int = 7) -> bytes:
    """A digit drawn on the site's canvas: white strokes on black, 280x280, as its RGBA PNG."""
    import numpy as np
    from PIL import Image

    drawn = CANVAS_SIDE * 5 // 7
    big = Image.fromarray(_digits([digit])[0]).resize((drawn, drawn), Image.Resampling.BICUBIC)
    strokes = np.clip((np.asarray(big, np.float32) / 255.0 - 0.35) * 4.0, 0.0, 1.0)
    grey = np.zeros((CANVAS_SIDE, CANVAS_SIDE), np.uint8)
    start = (CANVAS_SIDE - drawn) // 2
    grey[start : start + drawn, start : start + drawn] = (strokes * 255.0 + 0.5).astype(np.uint8)
    return _encoded(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "PNG")


def shrunk_photo_upload(digit: int = 3) -> bytes:
    """A phone photo of a digit written on paper, as the page sends it: shrunk to at most
    SEND_PIXELS and encoded as JPEG (light falling off across the page, sensor noise)."""
    import numpy as np
    from PIL import Image

    scale = min(1.0, (SEND_PIXELS / (PHONE_PHOTO[0] * PHONE_PHOTO[1])) ** 0.5)
    width, height = (int(side * scale) for side in PHONE_PHOTO)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    page = 215.0 - 30.0 * (xx / width) - 15.0 * (yy / height) + rng.normal(0.0, 3.0, (height, width))
    side = height // 3
    ink = np.asarray(Image.fromarray(_digits([digit])[0]).resize((side, side), Image.Resampling.BICUBIC), np.float32)
    top, left = (height - side) // 2, (width - side) // 2
    page[top : top + side, left : left + side] -= ink * 0.65
    grey = np.clip(page, 0, 255).astype(np.uint8)
    return _encoded(
        np.dstack([grey, grey, np.clip(grey.astype(int) - 6, 0, 255).astype(np.uint8)]), "JPEG", quality=JPEG_QUALITY
    )


def row_upload(labels: tuple[int, ...] = (4, 0, 7, 2, 9)) -> bytes:
    """A row of five digits written dark on light paper, 70 px tall, apart, as a grey PNG."""
    import numpy as np
    from PIL import Image

    height, gap, margin = 70, 30, 40
    glyphs = [
        np.asarray(Image.fromarray(d).resize((height, height), Image.Resampling.BICUBIC), np.float32) / 255.0
        for d in _digits(list(labels))
    ]
    ink = np.zeros((height + 2 * margin, 2 * margin + len(glyphs) * height + (len(glyphs) - 1) * gap), np.float32)
    for index, glyph in enumerate(glyphs):
        left = margin + index * (height + gap)
        ink[margin : margin + height, left : left + height] = glyph
    return _encoded(np.clip(240.0 - 220.0 * ink, 0, 255).astype(np.uint8), "PNG")


def site_requests(explain: bool = True) -> list[Request]:
    """What the page sends for each (site/js/api.js): a single digit with its evidence map, a
    row with each digit's feature maps stored and its evidence map. ``explain`` False: the same
    without the evidence maps (what the page asked before it showed them)."""
    single = "/api/predict?explain=true" if explain else "/api/predict"
    row = "/api/predict/multi?feature_maps=true" + ("&explain=true" if explain else "")
    return [
        Request("canvas", single, "drawing.png", "image/png", canvas_upload()),
        Request("shrunk_photo", single, "photo.jpg", "image/jpeg", shrunk_photo_upload()),
        Request("row_of_five", row, "row.png", "image/png", row_upload()),
    ]


# --- REF's checkout and venv ----------------------------------------------------------------------


def resolve(ref: str) -> str:
    """The full commit ``ref`` names in this repository (ValueError when none)."""
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ValueError(f"{ref!r} names no commit here")
    return done.stdout.strip()


def worktree(commit: str) -> Path:
    """A detached worktree of ``commit`` under .bench/against/ (made once, then reused)."""
    path = AGAINST_DIR / commit[:12]
    if not (path / ".git").exists():
        AGAINST_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--force", str(path), commit],
            cwd=REPO_ROOT,
            check=True,
            stdout=sys.stderr,
            stderr=sys.stderr,
        )
    return path


def run_requirements(checkout: Path) -> str:
    """What ``checkout``'s local stack needs installed, as the text of a requirements file:
    its own requirements-run.txt, or (older refs) its serving requirements and this checkout's
    local-stack lines (uvicorn, moto's S3 server)."""
    own = checkout / "requirements-run.txt"
    if own.exists():
        text = own.read_text()
    else:
        ours = (REPO_ROOT / "requirements-run.txt").read_text().splitlines()
        text = "\n".join(["-r functions/requirements.txt", *(line for line in ours if not line.startswith("-r "))])
    lines = []
    for line in text.splitlines():
        if line.startswith("-r "):
            included = checkout / line[3:].split("#", 1)[0].strip()
            lines.append(included.read_text())
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def venv_for(requirements: str) -> Path:
    """A venv holding ``requirements`` under .bench/venvs/ (one per distinct set of pins,
    shared by refs that pin alike); its interpreter."""
    digest = hashlib.sha256(requirements.encode()).hexdigest()[:16]
    venv = VENVS_DIR / digest
    python = venv / "bin" / "python"
    if (venv / ".installed").exists():
        return python
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pinned = venv / "requirements.txt"
    pinned.write_text(requirements)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(pinned)],
        check=True,
        stdout=sys.stderr,
    )
    (venv / ".installed").write_text(digest)
    return python


def plan(ref: str) -> dict[str, object]:
    """What a run against ``ref`` would use, without making or starting anything."""
    commit = resolve(ref)
    path = AGAINST_DIR / commit[:12]
    requirements = run_requirements(path) if path.exists() else None
    return {
        "ref": ref,
        "commit": commit,
        "worktree": str(path),
        "venv": str(VENVS_DIR / hashlib.sha256(requirements.encode()).hexdigest()[:16]) if requirements else None,
        "requests": [{"name": r.name, "path": r.path, "bytes": len(r.data)} for r in site_requests()],
    }


# --- the measurement ------------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far, from Linux's /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def alternation(rounds: int, names: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Each round's order of the sides: reversed every other round, so neither always goes first."""
    for index in range(rounds):
        yield index, names if index % 2 == 0 else names[::-1]


def ratio(this: float, other: float) -> float | None:
    return round(this / other, 3) if other > 0 else None


# A side's API as the Lambda function holds its memory: uvicorn over the side's own
# ``local_recognizer`` and ``create_local_app`` in a fresh interpreter, without the local stack's
# memory policy (``serve`` returns every buffer over 1 MiB to the OS, so each request faults its big
# buffers in anew: 25-30 ms of a phone photo's CPU that the function does not pay). Run in the
# side's checkout, so it uses that side's code; it needs only those two functions, moto's process
# and the fake credentials, which every ref since 07c6974 has. argv[1]: where to write
# {"url", "pid"} once it answers; it stops when its stdin closes.
APP_ONLY = """
import json, os, socket, sys, threading, time
from pathlib import Path
import uvicorn
from infra.local_stack import FAKE_CREDENTIALS, MotoS3Process, create_local_app, local_recognizer
from recognizer.settings import Settings
os.environ.update({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"})
moto = MotoS3Process()
try:
    app = create_local_app(local_recognizer(Settings.from_env(), moto.endpoint, "bench"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY, as serve()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))

    def stop_when_stdin_closes():
        sys.stdin.read()
        server.should_exit = True

    def announce():
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        Path(sys.argv[1]).write_text(json.dumps({"url": url, "pid": os.getpid()}))

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])
finally:
    moto.stop()
"""


@contextmanager
def app_only_process(side: Side, timeout: float = 120.0) -> Iterator[tuple[str, int]]:
    """``side``'s API without the local stack's memory policy (``APP_ONLY``): (its URL, its pid)."""
    import json
    import tempfile

    from infra.local_stack import _child_environment

    with tempfile.TemporaryDirectory(prefix="bench-app-") as scratch:
        ready = Path(scratch) / "ready.json"
        process = subprocess.Popen(
            [str(side.python), "-c", APP_ONLY, str(ready)],
            cwd=side.repo,
            env=_child_environment(None, side.repo),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{side.name}'s app did not start (exit status {process.poll()})")
                time.sleep(0.05)
            started = json.loads(ready.read_text())
            yield started["url"], started["pid"]
        finally:
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def _stacks(sides: list[Side], app_only: bool = False) -> Iterator[dict[str, tuple[str, int]]]:
    from infra.local_stack import local_stack_process

    with ExitStack() as stack:
        found = {}
        for side in sides:
            if app_only:
                found[side.name] = stack.enter_context(app_only_process(side))
                continue
            running = stack.enter_context(
                local_stack_process(repo=side.repo, site_dir=side.repo / "site", python=side.python)
            )
            found[side.name] = (running.url, running.info.pid)
        yield found


def measure(
    sides: list[Side], requests: list[Request], rounds: int, batch: int, warmup: int, app_only: bool = False
) -> dict[str, object]:
    """Every request sent ``rounds`` x ``batch`` times to each side, alternated by batch;
    the API process's CPU per request and the wall-clock median per side. ``app_only``: each
    side's API without the local stack's memory policy (``APP_ONLY``)."""
    import httpx

    cpu: dict[tuple[str, str], float] = {}
    walls: dict[tuple[str, str], list[float]] = {}
    with _stacks(sides, app_only) as stacks:
        clients = {name: httpx.Client(base_url=url, timeout=120) for name, (url, _) in stacks.items()}
        bodies = {r.name: multipart(r.data, r.filename, r.content_type) for r in requests}
        try:
            for client in clients.values():
                for request in requests:
                    body, content_type = bodies[request.name]
                    for _ in range(warmup):
                        _checked(client.post(request.path, content=body, headers={"content-type": content_type}))
            for _, order in alternation(rounds, list(clients)):
                for request in requests:
                    body, content_type = bodies[request.name]
                    for name in order:
                        client, pid = clients[name], stacks[name][1]
                        before = process_cpu_seconds(pid)
                        for _ in range(batch):
                            began = time.perf_counter()
                            _checked(client.post(request.path, content=body, headers={"content-type": content_type}))
                            walls.setdefault((name, request.name), []).append((time.perf_counter() - began) * 1000)
                        spent = process_cpu_seconds(pid) - before
                        cpu[(name, request.name)] = cpu.get((name, request.name), 0.0) + spent
        finally:
            for client in clients.values():
                client.close()
    count = rounds * batch
    this, other = sides[0].name, sides[1].name
    figures: dict[str, object] = {}
    for request in requests:
        per = {name: round(cpu[(name, request.name)] * 1000 / count, 2) for name in (this, other)}
        figures[request.name] = {
            f"{this}_cpu_ms_per_request": per[this],
            f"{other}_cpu_ms_per_request": per[other],
            "cpu_ratio": ratio(per[this], per[other]),
            f"{this}_wall_p50_ms": round(statistics.median(walls[(this, request.name)]), 1),
            f"{other}_wall_p50_ms": round(statistics.median(walls[(other, request.name)]), 1),
        }
    return figures


def _checked(response) -> None:  # type: ignore[no-untyped-def]
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")


def against(
    ref: str,
    rounds: int,
    batch: int,
    warmup: int,
    python: Path | None = None,
    explain: bool = True,
    app_only: bool = False,
) -> dict[str, object]:
    """The whole comparison: this checkout (its interpreter) against ``ref`` (its own venv, or
    ``python`` when given); ``explain`` False leaves the evidence maps out of the requests;
    ``app_only``: each side's API without the local stack's memory policy."""
    commit = resolve(ref)
    checkout = worktree(commit)
    ref_python = python or venv_for(run_requirements(checkout))
    sides = [Side("this", REPO_ROOT, Path(sys.executable)), Side("ref", checkout, ref_python)]
    requests = site_requests(explain)
    figures = measure(sides, requests, rounds, batch, warmup, app_only)
    return {
        "against": {"ref": ref, "commit": commit, "python": str(ref_python)},
        "servers": "each side's API alone, no memory policy (APP_ONLY)" if app_only else "each side's local stack",
        "paths": {r.name: r.path for r in requests},
        "this": {"commit": _head()},
        "requests": figures,
        "rounds": rounds,
        "batch": batch,
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)},
    }


def _head() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
