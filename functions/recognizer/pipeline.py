"""One upload in, one prediction out: decode -> preprocess -> infer -> render -> store.

Nothing here keeps state between calls; the model, the S3 client and the upload pool are
process-wide and hold no request data. ``predict_inputs`` serves callers that preprocess
several inputs themselves (rows of digits, batches) and want one forward pass for all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from recognizer.decoding import decode_for_recognition
from recognizer.errors import UploadTooLarge
from recognizer.feature_maps import CONV1_LAYOUT, CONV2_LAYOUT, conv1_png, conv2_png, input_png
from recognizer.inference import Activations, get_model
from recognizer.preprocessing import to_model_input
from recognizer.schemas import FeatureMap, FeatureMaps, PredictionResponse
from recognizer.settings import get_settings
from recognizer.storage import StorageError, get_store, new_prediction_id

INPUT_FILE, CONV1_FILE, CONV2_FILE = "input.png", "conv1.png", "conv2.png"


def predict_upload(data: bytes, *, store: bool = True) -> PredictionResponse:
    """Answer one uploaded image file (raises recognizer.errors.ClientError on bad input).

    ``store=False`` (the offline command line) stores nothing: no input or feature-map URLs.
    """
    settings = get_settings()
    if len(data) > settings.max_upload_bytes:
        raise UploadTooLarge(f"the upload is larger than {settings.max_upload_bytes} bytes")
    image = decode_for_recognition(data, settings)
    return predict_inputs([to_model_input(image)], store=store)[0]


def predict_inputs(model_inputs: Sequence[np.ndarray], *, store: bool = True) -> list[PredictionResponse]:
    """Run preprocessed 28x28 inputs through the model at once; one answer per input."""
    activations = get_model().run(np.stack(model_inputs))
    return [
        prediction_response(model_input, activations.row(index), store=store)
        for index, model_input in enumerate(model_inputs)
    ]


def prediction_response(
    model_input: np.ndarray, activations: Activations, *, store: bool = True
) -> PredictionResponse:
    """Build the answer for one input and store its images (storage failure -> a warning)."""
    probabilities = normalised_probabilities(activations.probs[0])
    digit = int(np.argmax(probabilities))
    prediction_id = new_prediction_id()
    renderers: dict[str, Callable[[], bytes]] = {
        INPUT_FILE: partial(input_png, model_input),
        CONV1_FILE: partial(conv1_png, activations.conv1[0]),
        CONV2_FILE: partial(conv2_png, activations.conv2[0]),
    }
    urls: dict[str, str] = {}
    warnings: list[str] = []
    try:
        urls = get_store().put_files(prediction_id, renderers) if store else {}
    except StorageError as exc:
        warnings.append(f"feature maps are unavailable: storing them failed ({exc})")
    except Exception as exc:  # noqa: BLE001 - e.g. no credentials or a bad endpoint setting
        warnings.append(f"feature maps are unavailable: storage is misconfigured ({type(exc).__name__})")
    return PredictionResponse(
        predicted_digit=digit,
        confidence=100.0 * probabilities[digit],
        probabilities=probabilities.tolist(),
        prediction_id=prediction_id,
        input_url=urls.get(INPUT_FILE),
        feature_maps=feature_maps_from(urls) if urls else None,
        warnings=warnings,
    )


def normalised_probabilities(probs: np.ndarray) -> np.ndarray:
    """float64 probabilities that sum to 1 (float32 softmax is off by a few ulps)."""
    values = np.clip(np.asarray(probs, dtype=np.float64).reshape(-1), 0.0, None)
    return values / values.sum()


def feature_maps_from(urls: dict[str, str]) -> FeatureMaps:
    return FeatureMaps(
        conv1=FeatureMap(url=urls[CONV1_FILE], rows=CONV1_LAYOUT.rows, cols=CONV1_LAYOUT.cols),
        conv2=FeatureMap(url=urls[CONV2_FILE], rows=CONV2_LAYOUT.rows, cols=CONV2_LAYOUT.cols),
    )
