"""The `digits` command: offline with the local model, or --url against a running API."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recognizer import cli
from recognizer.decoding import ACCEPTED
from recognizer.schemas import percent_text
from recognizer.settings import Settings
from recognizer.sizes import size_text
from tests.not_digits import mark_png
from tests.photos import photo_file
from tests.test_decoding import png_declaring
from training.data.realistic import mnist_glyph
from training.data.rows import layout_digits

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"


def run_cli(*args: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    status = cli.main(list(args), stdout=stdout, stderr=stderr)
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def digit_files(tmp_path: Path, digit_png) -> list[Path]:
    paths = []
    for digit in (3, 7, 0):
        path = tmp_path / f"digit-{digit}.png"
        path.write_bytes(digit_png(digit, 4))
        paths.append(path)
    return paths


@pytest.fixture
def row_file(tmp_path: Path, mnist_sample) -> Path:
    rng = np.random.default_rng(1)
    glyphs = [mnist_glyph(mnist_sample.image_of(d, 5), d).render(60, rng) for d in (2, 0, 4, 9)]
    layout = layout_digits(glyphs, 60, [0.5, 0.5, 0.5], [False] * 3, rng)
    path = tmp_path / "row.png"
    Image.fromarray(np.clip(245 - 225 * layout.alpha, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline mode must never touch storage: any attempt fails the test."""
    import recognizer.storage

    def no_storage(*args, **kwargs):
        raise AssertionError("offline mode tried to use S3")

    monkeypatch.setattr(recognizer.storage, "open_store", no_storage)
    monkeypatch.setattr(recognizer.storage, "s3_client", no_storage)


# --- offline ------------------------------------------------------------------------------


def test_offline_prints_each_files_digit_and_confidence(offline, digit_files) -> None:
    status, out, err = run_cli("predict", *map(str, digit_files))
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == len(digit_files)
    for line, path in zip(lines, digit_files, strict=True):
        name, answer = line.split(": ")
        digit, confidence = answer.split(" ")
        assert name == str(path) and digit in "0123456789"
        assert confidence.startswith("(") and confidence.endswith("%)")
        assert 0 < float(confidence[1:-2]) <= 100


def test_offline_json_lines_carry_the_api_fields(offline, digit_files) -> None:
    status, out, _ = run_cli("predict", "--json", *map(str, digit_files))
    assert status == 0
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["file"] for a in answers] == [str(p) for p in digit_files]
    for answer in answers:
        assert {"predicted_digit", "confidence", "probabilities", "is_digit"} <= set(answer)
        assert answer["is_digit"] is True
        assert "input_url" not in answer and "feature_maps" not in answer  # nothing was stored
        assert answer["warnings"] == []


def test_offline_multi_reads_the_number(offline, row_file) -> None:
    status, out, err = run_cli("predict", "--multi", str(row_file))
    assert status == 0, err
    name, number = out.strip().split(": ")
    assert name == str(row_file) and len(number) == 4 and number.isdigit()
    status, out, _ = run_cli("predict", "--multi", "--json", str(row_file))
    answer = json.loads(out)
    assert answer["number"] == number and len(answer["digits"]) == 4
    assert all(len(digit["box"]) == 4 for digit in answer["digits"])


def test_a_mark_that_is_not_a_digit_is_printed_as_such(offline, digit_files, tmp_path: Path) -> None:
    star = tmp_path / "star.png"
    star.write_bytes(mark_png("star"))
    status, out, _ = run_cli("predict", str(digit_files[0]), str(star))
    assert status == 0  # an answer, not a failure
    digit_line, star_line = out.splitlines()
    assert "not a digit" not in digit_line
    assert star_line.startswith(f"{star}: not a digit (closest: ") and star_line.endswith("%)")
    assert percent_text(0.04) == "under 0.1%" and percent_text(31.0) == "31%" and percent_text(2.5) == "2.5%"
    status, out, _ = run_cli("predict", "--json", str(star))
    answer = json.loads(out)
    assert answer["is_digit"] is False and answer["warnings"][0].startswith("this does not look like a digit")


def test_a_photograph_is_printed_as_one(offline) -> None:
    photo = PHOTOS / "ribbon_art.jpg"
    status, out, _ = run_cli("predict", str(photo))
    assert status == 0  # an answer, not a failure
    assert out.startswith(f"{photo}: a photograph, not handwriting (closest: ")
    status, out, _ = run_cli("predict", "--multi", str(photo))
    assert out.strip() in (f"{photo}: (no digits: a photograph, not handwriting)", "")
    status, out, _ = run_cli("predict", "--json", str(photo))
    answer = json.loads(out)
    assert answer["refused_because"] == "photograph" and answer["warnings"][0].startswith(
        "this looks like a photograph"
    )


def test_any_failed_file_makes_the_exit_status_1(offline, digit_files, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    missing = tmp_path / "missing.png"
    status, out, err = run_cli("predict", str(digit_files[0]), str(text), str(missing))
    assert status == 1
    assert out.startswith(f"{digit_files[0]}: ")  # the good file is still answered
    assert f"{text}: error: unsupported_media_type" in err
    assert f"{missing}: error: unreadable_file" in err
    status, out, _ = run_cli("predict", "--json", str(text))
    assert status == 1 and json.loads(out)["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["predict"],
        ["predict", "--bogus", "x.png"],
        ["unknown", "x.png"],
        ["predict", "--url", "ftp://example.com", "x.png"],
    ],
)
def test_usage_errors_exit_with_2(args: list[str]) -> None:
    status, _, err = run_cli(*args)
    assert status == 2 and "usage" in err.lower()


def test_a_progress_bar_goes_to_stderr(offline, digit_files) -> None:
    status, out, err = run_cli("predict", "--progress", *map(str, digit_files))
    assert status == 0
    assert f"/{len(digit_files)} [" in err and "file" in err  # tqdm's bar, on stderr only
    assert f"/{len(digit_files)} [" not in out
    _, _, quiet = run_cli("predict", "--no-progress", *map(str, digit_files))
    assert quiet == ""


def test_the_console_script_is_installed(digit_files) -> None:
    script = Path(sys.executable).with_name("digits")
    assert script.is_file(), "run: .venv/bin/pip install --no-deps -e ."
    done = subprocess.run([str(script), "predict", str(digit_files[0])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{digit_files[0]}: ")


# --- against the running local stack ------------------------------------------------------


@pytest.mark.xdist_group("local_stack")
def test_url_mode_gives_the_offline_answers(local_stack: str, digit_files, row_file) -> None:
    files = [*map(str, digit_files)]
    status, online, err = run_cli("predict", "--json", "--url", local_stack, *files)
    assert status == 0, err
    _, local, _ = run_cli("predict", "--json", *files)
    for remote, here in zip(map(json.loads, online.splitlines()), map(json.loads, local.splitlines()), strict=True):
        assert remote["file"] == here["file"]
        assert remote["predicted_digit"] == here["predicted_digit"]
        assert remote["probabilities"] == pytest.approx(here["probabilities"], abs=1e-5)
        assert "conv1" in remote["feature_maps"]  # the API stored and linked them
    status, number_online, _ = run_cli("predict", "--multi", "--url", local_stack + "/api/", str(row_file))
    assert status == 0
    assert number_online == run_cli("predict", "--multi", str(row_file))[1]


@pytest.mark.xdist_group("local_stack")
def test_url_mode_reports_the_apis_errors(local_stack: str, digit_files, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    status, out, err = run_cli("predict", "--url", local_stack, str(digit_files[0]), str(text))
    assert status == 1
    assert out.startswith(f"{digit_files[0]}: ")
    assert f"{text}: error: unsupported_media_type" in err


def test_url_mode_with_nothing_listening_fails_each_file(digit_files) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    status, out, _ = run_cli("predict", "--json", "--url", f"http://127.0.0.1:{port}", *map(str, digit_files))
    assert status == 1
    assert [json.loads(line)["error"]["code"] for line in out.splitlines()] == ["unreachable"] * len(digit_files)


# --- in a terminal ------------------------------------------------------------------------------


def screen_of(command: list[str], cwd: Path, columns: int = 80, rows: int = 40) -> list[str]:
    """What a terminal of ``columns`` x ``rows`` shows once ``command`` has run in it (a real
    pseudo-terminal; pyte plays the terminal, carriage returns and erasures included)."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    import pyte

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(command, cwd=cwd, stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(timeout=120) in (0, 1)
    screen = pyte.Screen(columns, rows)
    pyte.ByteStream(screen).feed(output)
    return [line.rstrip() for line in screen.display if line.strip()]


def test_at_80_columns_the_bar_leaves_only_the_results(digit_files, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    files = [*(path.name for path in digit_files * 3), text.name]
    lines = screen_of([sys.executable, "-m", "recognizer.cli", "predict", "--progress", *files], cwd=tmp_path)
    # One result a file, in order (the error's message may wrap onto a second line), then the
    # summary: no bar left over among them, no runtime chatter.
    assert [line.split(": ")[0] for line in lines if line.startswith(tuple(files))] == files, lines
    assert sum("error: unsupported_media_type" in line for line in lines) == 1
    assert lines[-1] == f"1 of {len(files)} files failed"
    assert not any("INFO" in line or "XNNPACK" in line or "file/s" in line or "%|" in line for line in lines), lines


def test_an_empty_file_is_a_missing_image_as_the_api_says(offline, tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    status, _, err = run_cli("predict", str(empty))
    assert status == 1 and "missing_image" in err, err


def test_url_mode_sends_a_file_over_the_direct_limit_through_storage(local_stack: str, mnist_sample, tmp_path: Path):
    """A photo bigger than the API takes in a request goes to S3 first (POST /api/uploads)."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo_file(mnist_sample.image_of(6), side=2800, noise=12, quality=100))
    assert path.stat().st_size > 5 * 1024 * 1024  # the local stack's MAX_UPLOAD_BYTES
    status, out, err = run_cli("predict", "--json", "--url", local_stack, str(path))
    assert status == 0, err
    answer = json.loads(out)
    assert answer["predicted_digit"] == 6 and answer["is_digit"] is True


# --- big files, folders, formats ----------------------------------------------------------


def test_offline_reads_a_photo_the_api_takes_through_uploads(offline, mnist_sample, tmp_path: Path) -> None:
    """A phone photo over the API's direct limit: the API takes it through POST /api/uploads,
    and so offline reads it (it refused an 8.3 MB photo that --url read)."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo_file(mnist_sample.image_of(6), side=2800, noise=12, quality=100))
    defaults = Settings()
    assert defaults.max_upload_bytes < path.stat().st_size <= defaults.max_s3_upload_bytes
    status, out, err = run_cli("predict", "--json", str(path))
    assert status == 0, err
    assert json.loads(out)["predicted_digit"] == 6


def test_offline_names_its_limit_for_a_file_over_it(offline, monkeypatch, digit_files) -> None:
    limit = 1024
    monkeypatch.setenv("MAX_S3_UPLOAD_BYTES", str(limit))
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(limit))
    size = digit_files[0].stat().st_size
    assert size > limit
    status, _, err = run_cli("predict", str(digit_files[0]))
    assert status == 1
    assert f"{digit_files[0]}: error: file_too_large: the file is larger than 1 KiB ({size:,} bytes)" in err


def test_help_names_every_format_and_the_offline_limit() -> None:
    assert cli.FORMATS == ACCEPTED  # the service's own list, kept here so --help loads no Pillow
    assert size_text(Settings().max_s3_upload_bytes) == cli.OFFLINE_LIMIT_TEXT
    status, out, _ = run_cli("predict", "--help")
    assert status == 0
    flat = " ".join(out.split())
    assert "HEIC/HEIF, AVIF" in flat and ACCEPTED in flat and "folders" in flat
    assert f"up to {cli.OFFLINE_LIMIT_TEXT}" in flat


def test_a_folder_is_read_file_by_file_by_name(offline, digit_files, tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    for index, source in enumerate(digit_files):  # digit-3, digit-7, digit-0: named b, c, a
        (scans / f"{'bca'[index]}.PNG").write_bytes(source.read_bytes())
    (scans / "notes.txt").write_text("not an image")
    (scans / ".DS_Store").write_bytes(b"\0")
    (scans / "old").mkdir()
    status, out, err = run_cli("predict", f"{scans}/")
    assert status == 0, err
    assert [line.split(": ")[0] for line in out.splitlines()] == [str(scans / f"{name}.PNG") for name in "abc"]
    assert [line.split(": ")[1][0] for line in out.splitlines()] == ["0", "3", "7"]
    assert err.splitlines() == [f"{scans}/: skipped notes.txt, old/ (not image files)"]


def test_a_folder_without_images_is_a_usage_error(offline, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    status, out, err = run_cli("predict", str(tmp_path))
    assert status == 2 and out == ""
    assert f"{tmp_path}: no image files in this folder" in err and "no image files to read" in err


def test_a_decompression_bomb_is_one_clear_line_without_pillows_warning(tmp_path: Path) -> None:
    """What a person sees: the refusal, not Pillow's DecompressionBombWarning before it."""
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(20000, 15000))
    done = subprocess.run(
        [sys.executable, "-m", "recognizer.cli", "predict", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"{path}: error: image_too_large: 20000x15000 = 300,000,000 pixels; at most "), lines
    assert lines[1:] == ["1 of 1 files failed"]


@pytest.mark.xdist_group("local_stack")
def test_bulk_sends_a_folder_as_one_job_and_writes_its_csv(local_stack: str, tmp_path: Path, digit_png) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    for digit in (3, 5, 8):
        (folder / f"{digit}.png").write_bytes(digit_png(digit))
    (folder / "torn.png").write_bytes(digit_png(1)[:50])
    (folder / "notes.txt").write_text("not an image")
    out, stdout, stderr = tmp_path / "results.csv", io.StringIO(), io.StringIO()
    status = cli.main(["bulk", str(folder), "--url", local_stack, "--out", str(out), "--no-progress"], stdout, stderr)
    assert status == cli.EXIT_FAILED, stderr.getvalue()  # one file could not be read
    rows = out.read_text().splitlines()
    assert rows[0] == "file,digit,confidence,is_digit,error" and len(rows) == 5
    by_file = {row.split(",")[0]: row.split(",") for row in rows[1:]}
    assert [by_file[f"{digit}.png"][1] for digit in (3, 5, 8)] == ["3", "5", "8"]
    assert by_file["torn.png"][4] == "invalid_image"
    assert "4 files read, 1 with an error" in stderr.getvalue() and "notes.txt" in stderr.getvalue()
    assert stdout.getvalue() == ""


def test_bulk_needs_a_url(tmp_path: Path) -> None:
    stderr = io.StringIO()
    assert cli.main(["bulk", str(tmp_path)], io.StringIO(), stderr) == cli.EXIT_USAGE
    assert "--url" in stderr.getvalue()
