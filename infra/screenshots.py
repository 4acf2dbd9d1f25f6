"""Screenshots of the website for the README: ``python -m infra.screenshots``.

Starts the local stack (or uses ``--url``), drives Debian's Chromium through Playwright, and
writes docs/desktop.png (1280 px wide, full page) and docs/phone.png (390 px wide at 2x, the
first two screens or so of the page). Each shot uploads two MNIST test digits (so the history has entries),
then draws a "7" on the canvas and points at one feature map so its enlarged view shows.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
MNIST_SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# (digit, white-on-black as in MNIST or dark ink on white as on paper)
UPLOADS = ((3, False), (8, True))
SEVEN = (((0.27, 0.24), (0.74, 0.22), (0.46, 0.80)), ((0.38, 0.52), (0.66, 0.52)))
PHONE_HEIGHT_CSS = 1900  # the phone shot: header, inputs, result (a full page is too tall)


def digit_files(folder: Path) -> list[Path]:
    with np.load(MNIST_SAMPLE) as data:
        images, labels = data["images"], data["labels"]
    paths = []
    for digit, on_paper in UPLOADS:
        pixels = images[np.flatnonzero(labels == digit)[0]]
        image = Image.fromarray(255 - pixels if on_paper else pixels).resize((112, 112), Image.Resampling.BICUBIC)
        path = folder / f"digit-{digit}.png"
        image.save(path)
        paths.append(path)
    return paths


def draw_strokes(page, strokes) -> None:
    canvas = page.get_by_test_id("draw-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=14)
        page.mouse.up()


def wait_for_maps(page) -> None:
    page.wait_for_function(
        "() => ['feature-map-conv1', 'feature-map-conv2'].every(id => {"
        " const img = document.querySelector(`[data-testid=${id}]`);"
        " return img.complete && img.naturalWidth > 0; })"
    )


def prepare(page, url: str, uploads: list[Path]) -> None:
    """Fill the page: history from uploads, then a drawing, its answer and a zoomed map."""
    page.goto(url)
    history = page.get_by_test_id("history-list").locator("li")
    for count, path in enumerate(uploads, start=1):
        page.get_by_test_id("upload-input").set_input_files(str(path))
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=history-list] li').length === n", arg=count
        )
    with page.expect_response(lambda r: urlparse(r.url).path.endswith("/api/predict")):
        draw_strokes(page, SEVEN)
    page.wait_for_function("() => document.querySelector('#status').textContent === ''")
    assert history.count() == len(uploads) + 1
    wait_for_maps(page)
    conv1 = page.get_by_test_id("feature-map-conv1")
    grid = conv1.bounding_box()
    conv1.hover(position={"x": grid["width"] * 4.5 / 8, "y": grid["height"] * 1.5 / 4})
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


def take(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    desktop_path, phone_path = out / "desktop.png", out / "phone.png"
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        uploads = digit_files(Path(scratch))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            desktop = browser.new_context(viewport={"width": 1280, "height": 900})
            page = desktop.new_page()
            prepare(page, url, uploads)
            page.screenshot(path=str(desktop_path), full_page=True)
            desktop.close()

            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
            )
            page = phone.new_page()
            prepare(page, url, uploads)
            # A full-page shot would drop the touch emulation (and the "Take a photo" button
            # with it): a tall phone viewport shows the same layout.
            page.set_viewport_size({"width": 390, "height": PHONE_HEIGHT_CSS})
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(phone_path))
            phone.close()
        finally:
            browser.close()
    return [desktop_path, phone_path]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running stack (default: start the local stack)")
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url = args.url
        if not url:
            from infra.local_stack import local_stack_process

            url = stack.enter_context(local_stack_process()).url
        for path in take(url.rstrip("/"), args.out):
            print(path)


if __name__ == "__main__":
    main()
