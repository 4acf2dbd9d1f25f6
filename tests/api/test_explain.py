"""?explain=true on /api/predict and /api/predict/multi: the evidence map's shape, its PNG, its
cost (nothing without it) and its faithfulness on MNIST test digits drawn on the canvas."""

from __future__ import annotations

import base64
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from recognizer.feature_maps import input_pixels
from recognizer.networks import Networks
from recognizer.networks.digit_cnn import Activations
from tests.api.test_multi import post_row, row_png
from tests.drawings import canvas_png

FAITHFUL_SHARE = 0.75  # of the drawn digits, at least this many must pass the test below
DIGITS_DRAWN = 40
HIDDEN_SHARE = 0.2  # the test hides this share of a digit's ink
RANDOM_DRAWS = 20


def post(client, data: bytes, **params) -> dict:
    response = client.post("/api/predict", files={"image": ("drawing.png", data, "image/png")}, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def stored_input(moto_s3, prediction_id: str) -> np.ndarray:
    """The 28x28 input a prediction stored (input_url's PNG), float32 in [0, 1]."""
    png = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=f"predictions/{prediction_id}/input.png")["Body"]
    return input_pixels(png.read()).astype(np.float32) / 255.0


def data_url_png(url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))


@dataclasses.dataclass
class CountingDigitModel:
    """The served network, counting its forward passes and their sizes."""

    model: object
    batches: list[int] = dataclasses.field(default_factory=list)
    backend: str = "litert"

    def run(self, images: np.ndarray) -> Activations:
        self.batches.append(len(images))
        return self.model.run(images)


def test_explain_adds_the_evidence_map_and_its_png_over_the_input(app_client, mnist_sample, moto_s3) -> None:
    body = post(app_client, canvas_png(mnist_sample.image_of(7)), explain="true")
    explanation = body["explanation"]
    assert set(explanation) == {"method", "values", "url"} and explanation["method"] == "occlusion"
    values = np.array(explanation["values"])
    assert values.shape == (28, 28)
    model_input = stored_input(moto_s3, body["prediction_id"])
    assert np.all(values[model_input == 0] == 0)  # over the input's ink only
    assert values.max() > 0  # something made it a 7
    png = data_url_png(explanation["url"])
    assert (
        png.size
        == Image.open(
            io.BytesIO(
                moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=f"predictions/{body['prediction_id']}/input.png")[
                    "Body"
                ].read()
            )
        ).size
        == (28, 28)
    )
    alpha = np.asarray(png.convert("RGBA"))[..., 3]
    assert np.array_equal(alpha > 0, values != 0)  # clear wherever the map says nothing
    # Nothing more is stored for it than for any prediction.
    prefix = f"predictions/{body['prediction_id']}/"
    assert moto_s3.keys(prefix) == [prefix + name for name in ("conv1.png", "conv2.png", "input.png")]


def test_without_explain_there_is_no_explanation_and_no_second_forward_pass(
    app_client, serve_with, networks: Networks, mnist_sample
) -> None:
    counting = CountingDigitModel(networks.digit)
    serve_with(networks=dataclasses.replace(networks, digit=counting))
    data = canvas_png(mnist_sample.image_of(3))
    plain = post(app_client, data)
    assert "explanation" not in plain
    assert len(counting.batches) == 1  # one pass: the readings
    explained = post(app_client, data, explain="true")
    assert len(counting.batches) == 3  # one more pass for the readings, then one for the map
    assert counting.batches[2] > 1  # every hidden piece at once
    assert explained["predicted_digit"] == plain["predicted_digit"]
    assert explained["probabilities"] == plain["probabilities"]


def test_a_file_sent_to_s3_is_explained_too(app_client, mnist_sample, moto_s3) -> None:
    upload_id = "0123456789abcdef0123456789abcdef"
    moto_s3.client.put_object(
        Bucket=moto_s3.bucket, Key=f"uploads/{upload_id}", Body=canvas_png(mnist_sample.image_of(5))
    )
    response = app_client.post("/api/predict?explain=true", json={"upload_id": upload_id})
    assert response.status_code == 200, response.text
    assert np.array(response.json()["explanation"]["values"]).shape == (28, 28)


def test_each_digit_of_a_row_is_explained_for_the_digit_the_row_answers(app_client, mnist_sample, moto_s3) -> None:
    data, _ = row_png(mnist_sample, [4, 0, 7])
    plain = post_row(app_client, data).json()
    assert all("explanation" not in digit for digit in plain["digits"])
    body = post_row(app_client, data, explain="true").json()
    assert [d["predicted_digit"] for d in body["digits"]] == [d["predicted_digit"] for d in plain["digits"]]
    for digit in body["digits"]:
        values = np.array(digit["explanation"]["values"])
        assert values.shape == (28, 28) and values.max() > 0
        assert data_url_png(digit["explanation"]["url"]).size == (28, 28)
    assert moto_s3.keys() == []  # without ?feature_maps=true nothing is stored, map or not


def hiding_costs(networks: Networks, model_input: np.ndarray, values: np.ndarray, digit: int, seed: int):
    """The answer's probability (``digit``'s, among the ten) once the pixels the map marks as the
    strongest evidence are hidden, and its mean once as many random ink pixels are hidden."""
    flat = model_input.reshape(-1)
    ink = np.flatnonzero(flat > 0.1)
    count = max(1, round(HIDDEN_SHARE * ink.size))
    strongest = np.argsort(-values.reshape(-1), kind="stable")[:count]
    strongest = strongest[values.reshape(-1)[strongest] > 0]  # only evidence for the answer
    rng = np.random.default_rng(seed)
    batch = [flat.copy() for _ in range(1 + RANDOM_DRAWS)]
    batch[0][strongest] = 0.0
    for copy in batch[1:]:
        copy[rng.choice(ink, size=strongest.size, replace=False)] = 0.0
    probs = networks.digit.run(np.stack(batch).reshape(-1, 28, 28)).probs[:, digit]
    return float(probs[0]), float(probs[1:].mean())


def test_hiding_the_strongest_evidence_costs_the_answer_more_than_hiding_random_ink(
    app_client, networks: Networks, mnist_sample, moto_s3
) -> None:
    """The issue's test of faithfulness, through the API: MNIST test digits drawn on the canvas;
    hiding the fifth of the ink the map marks strongest lowers the answer's probability more
    than hiding as many random ink pixels (the mean of 20 draws), for at least 75% of them. The
    same measure on the map turned upside down must fail, or it would prove nothing."""
    chosen = np.linspace(0, len(mnist_sample.labels) - 1, DIGITS_DRAWN).round().astype(int)
    faithful = upside_down = 0
    for index in chosen:
        body = post(app_client, canvas_png(mnist_sample.images[index]), explain="true")
        model_input = stored_input(moto_s3, body["prediction_id"])
        values = np.array(body["explanation"]["values"], np.float32)
        digit = body["predicted_digit"]
        hidden, random = hiding_costs(networks, model_input, values, digit, seed=int(index))
        faithful += hidden < random
        hidden, random = hiding_costs(networks, model_input, -values, digit, seed=int(index))
        upside_down += hidden < random
    assert faithful >= FAITHFUL_SHARE * DIGITS_DRAWN, f"{faithful} of {DIGITS_DRAWN}"
    assert upside_down < FAITHFUL_SHARE * DIGITS_DRAWN, f"upside down: {upside_down} of {DIGITS_DRAWN}"
    print(f"faithful for {faithful} of {DIGITS_DRAWN} drawn digits (upside down: {upside_down})")


@pytest.mark.parametrize("value", ["yes please", "2"])
def test_a_bad_explain_value_is_a_validation_error(app_client, mnist_sample, value: str) -> None:
    response = app_client.post(
        "/api/predict",
        params={"explain": value},
        files={"image": ("d.png", canvas_png(mnist_sample.image_of(1)), "image/png")},
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


def test_the_explain_parameter_and_the_explanation_are_documented(app_client) -> None:
    spec = app_client.get("/api/openapi.json").json()
    for path in ("/api/predict", "/api/predict/multi"):
        names = {p["name"] for p in spec["paths"][path]["post"]["parameters"]}
        assert "explain" in names, path
    schemas = spec["components"]["schemas"]
    for name in ("PredictionResponse", "DigitInRow"):
        assert "explanation" in schemas[name]["properties"]
        assert "explanation" not in schemas[name].get("required", [])
    assert set(schemas["Explanation"]["required"]) == {"method", "values", "url"}
