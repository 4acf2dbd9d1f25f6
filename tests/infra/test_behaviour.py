"""infra.behaviour: what it records of an answer, and how two sets of answers are compared."""

from __future__ import annotations

import httpx

from infra.behaviour import differences, requests_of, summary


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_an_answer_is_summarised_by_what_the_contract_promises() -> None:
    digit = answer(200, {"predicted_digit": 7, "confidence": 99.1234567, "prediction_id": "x" * 32, "input_url": "u"})
    assert summary(digit) == {"status": 200, "digit": 7, "confidence": 99.1234567}
    row = answer(
        200,
        {
            "number": "42",
            "digits": [{"box": [1, 2, 3, 4], "confidence": 90.0}, {"box": [5, 6, 7, 8], "confidence": 80.0}],
        },
    )
    assert summary(row) == {
        "status": 200,
        "number": "42",
        "boxes": [[1, 2, 3, 4], [5, 6, 7, 8]],
        "confidences": [90.0, 80.0],
    }
    error = answer(415, {"error": {"code": "unsupported_media_type", "message": "a PDF"}})
    assert summary(error) == {"status": 415, "code": "unsupported_media_type", "message": "a PDF"}
    batch = answer(200, {"results": [{"predicted_digit": 1}, {"error": {"code": "missing_image"}}]})
    assert summary(batch)["results"] == [1, "missing_image"]
    assert summary(httpx.Response(502, text="gateway")) == {"status": 502}


def test_every_difference_is_listed_and_none_when_the_same() -> None:
    before = {"single/clean": [{"name": "0", "status": 200, "digit": 7}, {"name": "1", "status": 200, "digit": 1}]}
    assert differences(before, before) == []
    after = {"single/clean": [{"name": "0", "status": 200, "digit": 7}, {"name": "1", "status": 200, "digit": 7}]}
    (found,) = differences(before, after)
    assert found.startswith("single/clean 1:")
    assert differences(before, {"single/clean": before["single/clean"][:1]}) == [
        "single/clean: 2 answers before, 1 after"
    ]


def test_digits_go_to_predict_rows_to_multi_and_hostile_requests_as_they_are() -> None:
    inputs = {
        "single": {"clean": [(7, b"png")]},
        "rows": {"spaced": [("42", b"row")]},
        "hostile": [("zero bytes", "POST", "/api/predict", b"", (), ())],
    }
    sent = list(requests_of(inputs))
    assert [(group, request[2]) for group, request in sent] == [
        ("single/clean", "/api/predict"),
        ("rows/spaced", "/api/predict/multi"),
        ("hostile", "/api/predict"),
    ]


def test_confidences_compare_as_shown_so_the_rounding_rule_is_no_difference() -> None:
    before = {"single/clean": [{"name": "0", "digit": 7, "confidence": 99.99999998}]}
    after = {"single/clean": [{"name": "0", "digit": 7, "confidence": 99.9}]}
    assert differences(before, after) == []
    assert differences({"g": [{"name": "0", "confidence": 97.26}]}, {"g": [{"name": "0", "confidence": 97.2}]})
