"""What the page says of answers that are not plainly a digit: the same confidence wherever it
is shown, bars labelled for what they are, no number in a plain sentence. The API's answers are
the real local stack's, or, where a rare answer is needed exactly, one served in its place."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.browser.test_site import save_digit, upload, wait_for_history

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("local_stack")]

# A letter "A" as the API answers it: the closest digit's bar is long, its confidence rounds to 0.0.
NOT_A_DIGIT = {
    "predicted_digit": 4,
    "confidence": 0.0,
    "probabilities": [0.001, 0.0, 0.0, 0.0, 0.983, 0.01, 0.0, 0.0, 0.006, 0.0],
    "is_digit": False,
    "digit_probability": 0.0003,
    "prediction_id": "0123456789abcdef0123456789abcdef",
    "input_url": None,
    "feature_maps": None,
    "warnings": ["this does not look like a digit (closest: 4, under 0.1%)"],
}


def answer_with(site, path_end: str, body: dict) -> None:
    """The next requests to a URL ending so are answered ``body`` instead of by the API."""

    def fulfil(route) -> None:
        if route.request.url.split("?")[0].endswith(path_end):
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        else:
            route.continue_()

    site.page.route("**/api/predict**", fulfil)


def test_a_confidence_under_0_1_percent_reads_the_same_in_the_card_and_the_history(site, mnist_sample, tmp_path):
    page = site.open("/")
    answer_with(site, "/api/predict", NOT_A_DIGIT)
    upload(site, save_digit(tmp_path, mnist_sample.image_of(4), "letter-a.png"))
    wait_for_history(site, 1)
    assert site.by_test_id("confidence").inner_text() == "under 0.1%"
    entry = site.by_test_id("history-list").locator("li a").first
    assert "not a digit, under 0.1%" in entry.inner_text() and "0.0%" not in entry.inner_text()
    assert "under 0.1%" in entry.get_attribute("aria-label")
    # The bars are each digit's probability *if* it is one: headed so, and dimmed.
    title = page.locator("#probs-title").inner_text()
    assert title.startswith("If it were a digit, which one") and "these bars do not" in title
    bars = site.by_test_id("probabilities")
    assert float(bars.evaluate("list => getComputedStyle(list).opacity")) < 1
    # A digit afterwards (the real API): plain bars again.
    page.unroute("**/api/predict**")
    upload(site, save_digit(tmp_path, mnist_sample.image_of(7), "seven.png"))
    wait_for_history(site, 2)
    assert page.locator("#probs-title").inner_text().startswith("All ten probabilities")
    assert float(bars.evaluate("list => getComputedStyle(list).opacity")) == 1


def test_a_row_without_a_digit_says_so_in_a_sentence_not_in_the_numbers_font(site, mnist_sample, tmp_path):
    page = site.open("/")
    page.locator("#row-mode").check()
    mark = {key: value for key, value in NOT_A_DIGIT.items() if key not in ("input_url", "feature_maps", "warnings")}
    row = {
        "number": "",
        "digits": [{**mark, "box": [4, 4, 40, 40]}],
        "warnings": ["1 mark that did not look like a digit left out of the number (at x=4)"],
    }
    answer_with(site, "/api/predict/multi", row)
    upload(site, save_digit(tmp_path, mnist_sample.image_of(4), "row.png"))
    said = site.by_test_id("multi-left-out")
    said.wait_for()
    assert said.inner_text() == "No number read: nothing here looks like a digit (the one mark found, marked ?)."
    assert not page.locator("#multi-number").is_visible()  # no "Number read: none" in big figures
    assert "none" not in page.locator("#multi-body").inner_text().lower()


def test_a_photograph_is_called_one_on_the_card_and_in_a_row(site):
    photo = Path(__file__).resolve().parents[1] / "data" / "photos" / "ribbon_art.jpg"
    page = site.open("/")
    upload(site, photo)  # the real API: the scene judgement refuses it
    wait_for_history(site, 1)
    said = page.locator("#not-digit")
    assert said.is_visible() and said.inner_text().startswith(
        "This looks like a photograph, not handwriting (closest: "
    )
    entry = site.by_test_id("history-list").locator("li a").first
    assert "not a digit" in entry.inner_text()
    page.locator("#row-mode").check()
    mark = {key: value for key, value in NOT_A_DIGIT.items() if key not in ("input_url", "feature_maps", "warnings")}
    row = {
        "number": "",
        "digits": [{**mark, "box": [4, 4, 40, 40]}],
        "refused_because": "photograph",
        "warnings": ["this looks like a photograph, not handwriting"],
    }
    answer_with(site, "/api/predict/multi", row)
    upload(site, photo)
    left_out = site.by_test_id("multi-left-out")
    left_out.wait_for()
    assert left_out.inner_text() == "No number read: this looks like a photograph, not handwriting."


def test_a_number_with_signs_shows_them_in_the_number_and_outlines_them(site, mnist_sample, tmp_path):
    from training.data.rows import make_row

    made = make_row("signed", mnist_sample.images[:3], mnist_sample.labels[:3], np.random.default_rng(5), dirt=False)
    while not ("-" in made.number and ("." in made.number or "," in made.number)):
        made = make_row(
            "signed", mnist_sample.images[:3], mnist_sample.labels[:3], np.random.default_rng(len(made.data))
        )
    digit = {key: value for key, value in NOT_A_DIGIT.items() if key not in ("input_url", "feature_maps", "warnings")}
    digits = [
        {**digit, "predicted_digit": int(c), "is_digit": True, "confidence": 99.0, "box": list(box)}
        for c, box in zip([c for c in made.number if c.isdigit()], made.boxes, strict=True)
    ]
    marks = [{"symbol": symbol, "box": list(box)} for symbol, box in made.marks]
    page = site.open("/")
    page.locator("#row-mode").check()
    answer_with(site, "/api/predict/multi", {"number": made.number, "digits": digits, "marks": marks, "warnings": []})
    path = tmp_path / ("row.jpg" if made.data[:2] == b"\xff\xd8" else "row.png")
    path.write_bytes(made.data)
    upload(site, path)
    page.locator("#multi-number").filter(has_text=made.number).wait_for()
    overlay = page.locator(".box-overlay")
    overlay.locator("rect.sign-box").nth(len(marks) - 1).wait_for(state="attached")
    labels = overlay.locator("text.sign-label").all_text_contents()
    names = {"-": "minus", ".": "point", ",": "comma"}
    assert labels == [names[symbol] for symbol, _ in made.marks]
    assert overlay.locator("rect").count() == len(digits) + len(marks)
    assert len(page.locator("#multi-digits button").all()) == len(digits)  # chips for digits only
    page.screenshot(path=str(tmp_path / "signed-row.png"), full_page=True)
