"""The Lambda entry point with API Gateway HTTP API (payload 2.0) events, S3 by moto."""

from __future__ import annotations

import base64
import dataclasses
import json
import re

import pytest

from recognizer import handler as lambda_module
from recognizer.api.deps import get_recognizer
from recognizer.service import Recognizer
from tests.conftest import multipart_body
from tests.infra.lambda_image import template


@pytest.fixture
def serve(recognizer: Recognizer):
    """``serve(other)``: the handler's app answers with ``other`` (default: the test's
    recognizer, storing in moto's S3) instead of the one it built from the environment."""
    overrides = lambda_module.app.dependency_overrides

    def use(other: Recognizer = recognizer) -> Recognizer:
        overrides[get_recognizer] = lambda: other
        return other

    use()
    yield use
    overrides.clear()


def invoke(event: dict, context) -> tuple[int, dict, dict]:
    response = lambda_module.handler(event, context)
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], response["headers"], json.loads(body)


def emitted_metrics(stdout: str) -> list[dict]:
    """The CloudWatch EMF documents Powertools printed."""
    documents = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def test_multipart_upload_is_answered(serve, moto_s3, digit_png, api_gateway_event, lambda_context):
    body, content_type = multipart_body({"image": ("digit.png", digit_png(0), "image/png")})
    event = api_gateway_event("POST", "/api/predict", body=body, headers={"content-type": content_type})
    status, headers, answer = invoke(event, lambda_context)
    assert status == 200, answer
    assert headers["content-type"] == "application/json"
    assert len(answer["probabilities"]) == 10
    assert sum(answer["probabilities"]) == pytest.approx(1.0)
    assert answer["is_digit"] is True
    prefix = f"predictions/{answer['prediction_id']}/"
    assert len(moto_s3.keys(prefix)) == 3
    assert prefix + "conv2.png" in answer["feature_maps"]["conv2"]["url"]


def test_raw_image_body_is_answered(serve, moto_s3, digit_png, api_gateway_event, lambda_context):
    event = api_gateway_event("POST", "/api/predict", body=digit_png(7), headers={"content-type": "image/png"})
    status, _, answer = invoke(event, lambda_context)
    assert status == 200, answer
    assert 0 <= answer["predicted_digit"] <= 9


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("GET", "/api/nowhere", None, {}, 404, "not_found"),
        ("GET", "/api/predict", None, {}, 405, "method_not_allowed"),
        ("POST", "/api/predict", b"", {"content-type": "image/png"}, 422, "missing_image"),
        ("POST", "/api/predict", b"plain words", {"content-type": "image/png"}, 415, "unsupported_media_type"),
        ("POST", "/api/predict", b"\x89PNG\r\n\x1a\n broken", {"content-type": "image/png"}, 422, "invalid_image"),
        ("DELETE", "/api/predictions/" + "0" * 32, None, {}, 404, "not_found"),
        ("DELETE", "/api/predictions/nope", None, {}, 422, "invalid_prediction_id"),
    ],
)
def test_errors_keep_their_shape_through_lambda(
    serve, api_gateway_event, lambda_context, method, path, body, headers, status, code
):
    got_status, _, answer = invoke(api_gateway_event(method, path, body=body, headers=headers), lambda_context)
    assert got_status == status, answer
    assert answer["error"]["code"] == code and answer["error"]["message"]


def test_an_oversized_body_is_413(serve, recognizer, api_gateway_event, lambda_context):
    serve(dataclasses.replace(recognizer, settings=recognizer.settings.model_copy(update={"max_upload_bytes": 1000})))
    event = api_gateway_event(
        "POST", "/api/predict", body=b"\x89PNG" + b"\0" * 2000, headers={"content-type": "image/png"}
    )
    status, _, answer = invoke(event, lambda_context)
    assert status == 413 and answer["error"]["code"] == "file_too_large"


def test_health_and_delete(serve, moto_s3, digit_png, api_gateway_event, lambda_context):
    status, _, health = invoke(api_gateway_event("GET", "/api/health"), lambda_context)
    assert status == 200 and health["status"] == "ok"
    event = api_gateway_event("POST", "/api/predict", body=digit_png(2), headers={"content-type": "image/png"})
    prediction_id = invoke(event, lambda_context)[2]["prediction_id"]
    status, _, deleted = invoke(
        api_gateway_event("GET", "/api/reset", query={"prediction_id": prediction_id}), lambda_context
    )
    assert status == 200 and deleted["deleted"] == 3
    assert moto_s3.keys(f"predictions/{prediction_id}/") == []


def test_metrics_and_correlation_id(serve, moto_s3, digit_png, api_gateway_event, lambda_context, capsys):
    event = api_gateway_event(
        "POST",
        "/api/predict",
        body=digit_png(9),
        headers={"content-type": "image/png"},
        request_id="req-abc-123",
    )
    status, _, answer = invoke(event, lambda_context)
    assert status == 200
    assert lambda_module.logger.get_correlation_id() == "req-abc-123"
    invoke(api_gateway_event("GET", "/api/missing"), lambda_context)

    documents = emitted_metrics(capsys.readouterr().out)
    namespaces = {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in documents}
    assert namespaces == {"DigitRecognizer"}
    predictions = [d for d in documents if "Predictions" in d]
    assert [d["digit"] for d in predictions] == [str(answer["predicted_digit"])]
    latencies = [value for d in documents if "Latency" in d for value in d["Latency"]]
    assert len(latencies) == 2 and all(value > 0 for value in latencies)
    assert [d["code"] for d in documents if "Errors" in d] == ["not_found"]


def test_tracing_is_off_outside_lambda(monkeypatch):
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    assert not lambda_module.tracing_enabled()
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert lambda_module.tracing_enabled()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not lambda_module.tracing_enabled()


def test_a_server_bug_is_a_500_in_the_error_shape(serve, recognizer, digit_png, api_gateway_event, lambda_context):
    class Broken(Recognizer):
        def predict_digit(self, data: bytes, **options):
            raise RuntimeError("a bug, not the client's fault")

    serve(Broken(recognizer.settings, recognizer.networks, recognizer.store))
    event = api_gateway_event("POST", "/api/predict", body=digit_png(1), headers={"content-type": "image/png"})
    status, _, answer = invoke(event, lambda_context)
    assert status == 500
    assert answer == {"error": {"code": "internal_error", "message": "an internal error occurred"}}


def cloudwatch_filter_matches(pattern: str, record: dict) -> bool:
    """CloudWatch Logs' JSON filter pattern, in the form template.yaml uses: ``{ $.a = "text" &&
    $.b >= 500 }`` (terms joined by &&: = and != on strings, comparisons on numbers). A term on a
    missing field, or a number compared with something that is not one, does not match."""
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), pattern
    for term in body[1:-1].split("&&"):
        found = re.fullmatch(r'\s*\$\.(\w+)\s*(=|!=|>=|<=|>|<)\s*(?:"([^"]*)"|(-?\d+(?:\.\d+)?))\s*', term)
        assert found, f"not modelled: {term!r}"
        key, operator, text, number = found.groups()
        if key not in record:
            return False
        value = record[key]
        if text is not None:
            assert operator in ("=", "!="), term
            if (value == text) != (operator == "="):
                return False
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        compare = {
            "=": value == float(number),
            "!=": value != float(number),
            ">=": value >= float(number),
            "<=": value <= float(number),
            ">": value > float(number),
            "<": value < float(number),
        }
        if not compare[operator]:
            return False
    return True


def test_the_templates_metric_filter_counts_the_functions_5xx_answers_and_nothing_else(
    serve, recognizer, digit_png, api_gateway_event, lambda_context, caplog
):
    """Lambda's Errors metric never sees a 500 that FastAPI answered: the template counts them
    from the log line every request ends with. Checked here against the handler's real lines."""
    pattern = template()["Resources"]["ServerErrorsMetricFilter"]["Properties"]["FilterPattern"]

    class Broken(Recognizer):
        def predict_digit(self, data: bytes, **options):
            raise RuntimeError("a bug")

    caplog.clear()
    assert invoke(api_gateway_event("GET", "/api/health"), lambda_context)[0] == 200
    assert invoke(api_gateway_event("GET", "/api/missing"), lambda_context)[0] == 404
    serve(Broken(recognizer.settings, recognizer.networks, recognizer.store))
    event = api_gateway_event("POST", "/api/predict", body=digit_png(1), headers={"content-type": "image/png"})
    assert invoke(event, lambda_context)[0] == 500
    # Each line as the function prints it: the records through Powertools' own JSON formatter.
    (printer,) = lambda_module.logger.handlers
    lines = [json.loads(printer.format(record)) for record in caplog.records]
    served = [line for line in lines if line["message"] == "request served"]
    assert [line["status"] for line in served] == [200, 404, 500]
    assert [cloudwatch_filter_matches(pattern, line) for line in served] == [False, False, True]
    assert cloudwatch_filter_matches(pattern, {**served[-1], "status": 503})  # storage_unavailable too
