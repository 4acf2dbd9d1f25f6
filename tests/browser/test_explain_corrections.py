"""Issue 29 in Chromium: the evidence map beside the input (legend, words, keys), live over the
drawing, and a correction from the answer card to the exported IDX files and a training run."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

import numpy as np
import pytest

from infra.corrections import export
from recognizer.feature_maps import input_pixels
from tests.browser.conftest import Site
from tests.drawings import canvas_png
from tests.training.test_corrections import tiny_fit
from training.data.corrections import load_corrections

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LEGEND = "red: what made it a {}; blue: what spoke against it"


def is_predict(response, path: str = "/api/predict") -> bool:
    return urlparse(response.url).path == path and response.request.method == "POST"


def upload_drawing(site: Site, tmp_path: Path, digit28: np.ndarray, name: str) -> dict:
    """A canvas-like PNG of ``digit28`` chosen in the file picker; the API's answer."""
    path = tmp_path / name
    path.write_bytes(canvas_png(digit28))
    with site.page.expect_response(lambda r: is_predict(r) and r.status == 200) as answered:
        site.by_test_id("upload-input").set_input_files(str(path))
    assert "explain=true" in answered.value.url
    site.page.wait_for_function("() => !document.querySelector('[data-testid=evidence-view]').hidden")
    return answered.value.json()


def draw_seven(site: Site) -> None:
    page = site.page
    canvas = site.by_test_id("draw-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    page.mouse.move(*at(0.25, 0.22))
    page.mouse.down()
    page.mouse.move(*at(0.75, 0.22), steps=12)
    page.mouse.move(*at(0.42, 0.82), steps=16)
    page.mouse.up()


def overlay_tinted_pixels(site: Site) -> dict:
    """How many pixels of the overlay over the drawing are painted red and blue."""
    return site.page.evaluate(
        """() => {
          const canvas = document.querySelector('[data-testid=draw-evidence]');
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let red = 0, blue = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] === 0) continue;
            if (data[i] > data[i + 2] + 20) red += 1;
            else if (data[i + 2] > data[i] + 20) blue += 1;
          }
          return {red, blue};
        }"""
    )


def test_the_evidence_map_is_beside_the_input_with_a_legend_words_and_keys(site, mnist_sample, tmp_path):
    site.open("/")
    answer = upload_drawing(site, tmp_path, mnist_sample.image_of(7), "seven.png")
    digit = answer["predicted_digit"]
    page = site.page
    overlay = site.by_test_id("evidence-map")
    page.wait_for_function(
        "() => ['evidence-map'].every(id => { const img = document.querySelector(`[data-testid=${id}]`);"
        " return img.complete && img.naturalWidth === 28; })"
    )
    assert site.by_test_id("evidence-legend").inner_text() == LEGEND.format(digit)
    # Beside the input, the same size, laid over a copy of it.
    input_box = page.locator("#input-img").bounding_box()
    map_box = overlay.bounding_box()
    assert map_box["width"] == input_box["width"] and map_box["height"] == input_box["height"]
    assert abs(map_box["y"] - input_box["y"]) < 1 and map_box["x"] > input_box["x"] + input_box["width"]
    assert page.locator("#evidence-input").get_attribute("src") == answer["input_url"]
    # In words for screen readers: where the evidence for and against lies.
    alt = overlay.get_attribute("alt")
    assert alt.startswith("Evidence map over the 28 by 28 input. What made it a ")
    assert "mostly the " in alt
    # Keyboard: focus the map, read it region by region with the arrow keys.
    overlay.focus()
    reading = site.by_test_id("evidence-reading")
    assert reading.inner_text().startswith("The middle: ")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")
    assert reading.inner_text().startswith("The top left: ")
    assert page.locator("#evidence-cursor").is_visible()
    page.locator("#result-card").screenshot(path=str(tmp_path / "evidence-map.png"))


def test_the_drawing_can_show_its_evidence_live(site, tmp_path):
    page = site.open("/")
    with page.expect_response(lambda r: is_predict(r) and r.status == 200, timeout=30_000):
        draw_seven(site)
    overlay = site.by_test_id("draw-evidence")
    assert overlay.is_hidden()  # only when asked for
    site.by_test_id("evidence-on-drawing").check()
    overlay.wait_for(state="visible")
    tinted = overlay_tinted_pixels(site)
    assert tinted["red"] > 200  # the strokes that made it a 7, in red
    page.locator(".draw-frame").screenshot(path=str(tmp_path / "drawing-evidence.png"))
    # A new stroke makes the map stale: it goes, and comes back with the next answer.
    canvas = site.by_test_id("draw-canvas")
    box = canvas.bounding_box()
    with page.expect_response(lambda r: is_predict(r) and r.status == 200, timeout=30_000):
        page.mouse.move(box["x"] + 0.35 * box["width"], box["y"] + 0.52 * box["height"])
        page.mouse.down()
        assert overlay.is_hidden()
        page.mouse.move(box["x"] + 0.65 * box["width"], box["y"] + 0.52 * box["height"], steps=8)
        page.mouse.up()
    overlay.wait_for(state="visible")
    site.by_test_id("evidence-on-drawing").uncheck()
    assert overlay.is_hidden()


def stack_s3(input_url: str) -> tuple[str, str]:
    """The local stack's S3 endpoint and bucket, from a presigned link it made (path style)."""
    parsed = urlparse(input_url)
    return f"{parsed.scheme}://{parsed.netloc}", parsed.path.split("/")[1]


def test_a_correction_from_the_answer_card_reaches_the_export_and_a_training_run(site, mnist_sample, tmp_path):
    site.open("/")
    answer = upload_drawing(site, tmp_path, mnist_sample.image_of(5), "five.png")
    page = site.page
    correction = site.by_test_id("correction")
    correction.locator("summary").click()
    assert correction.locator("summary").inner_text() == "Wrong? It was a …"
    consent = page.locator("#correction-consent-text").inner_text()
    assert consent == (
        "I agree that only the 28×28 image above and my answer are kept, for one year, to train the network again."
    )
    answered = answer["predicted_digit"] if answer["is_digit"] else "none"
    assert correction.locator(f"input[value='{answered}']").is_disabled()  # "wrong" offers the others
    wrong = 3 if answer["predicted_digit"] != 3 else 8
    correction.locator("label", has_text=str(wrong)).click()
    # Without consent nothing is sent.
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/correction" in r.url else None)
    site.by_test_id("correction-send").click()
    assert "Tick the box to agree first" in site.by_test_id("correction-status").inner_text()
    assert requests == []
    site.by_test_id("correction-consent").check()
    page.locator("#result-card").screenshot(path=str(tmp_path / "correction-form.png"))
    with page.expect_response(lambda r: r.url.endswith("/correction")) as sent:
        site.by_test_id("correction-send").click()
    assert sent.value.status == 201
    assert json.loads(sent.value.request.post_data) == {"digit": wrong, "consent": True}
    status = site.by_test_id("correction-status")
    status.filter(has_text="Thank you").wait_for()
    assert status.inner_text() == f"Thank you: kept as a {wrong}, with the 28×28 image only."
    page.locator("#result-card").screenshot(path=str(tmp_path / "correction-sent.png"))

    # The bucket's corrections, exported as training takes them: this one among them, exactly
    # the input the network saw, with the label chosen on the page.
    import boto3

    endpoint, bucket = stack_s3(answer["input_url"])
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    export(client, bucket, tmp_path / "corrections")
    images, labels = load_corrections(tmp_path / "corrections")
    with urlopen(answer["input_url"]) as response:
        seen = input_pixels(response.read())
    (index,) = [i for i, image in enumerate(images) if np.array_equal(image, seen)]
    assert labels[index] == wrong
    # ... and training takes them: a few steps of Keras fitting on the exported files.
    history = tiny_fit(images, labels, epochs=5)
    assert history["loss"][-1] < history["loss"][0]
