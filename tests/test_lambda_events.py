"""The handler template.yaml names, invoked in-process as Lambda would, S3 by moto.

Events: the HTTP API (payload 2.0) event `sam local generate-event apigateway http-api-proxy`
generated (tests/events/), carrying real MNIST digits as base64 multipart bodies. The
function's environment is template.yaml's, resolved for one stack (tests/infra/cfn_values.py)
with moto's bucket as its maps bucket; each event carries the X-Origin-Verify header
CloudFront's api origin adds, as every request that reaches the function through it does.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from recognizer.api.deps import get_recognizer
from tests.conftest import multipart_body
from tests.infra.cfn_values import Stack
from tests.infra.lambda_image import (
    function_properties,
    handler_name,
    sam_http_api_event,
    template,
)

REGION = "us-east-1"  # conftest's FAKE_AWS_ENV
STAGE = "test"


def lambda_handler() -> Callable[[dict, object], dict]:
    module_name, _, attribute = handler_name().rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def lambda_init() -> None:
    """Load the handler's module afresh (its settings and recognizer come from the environment)."""
    importlib.reload(importlib.import_module(handler_name().rpartition(".")[0]))


DEPLOYED = Stack(template(), name="digits", region=REGION, parameters={"Stage": STAGE})


def maps_bucket_name() -> str:
    return DEPLOYED.resolve(template()["Resources"]["MapsBucket"]["Properties"]["BucketName"])


def origin_header() -> dict[str, str]:
    """What CloudFront's api origin adds to every request (template.yaml's Distribution)."""
    (api,) = [
        o
        for o in template()["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"]
        if o["Id"] == "api"
    ]
    return {h["HeaderName"].lower(): DEPLOYED.resolve(h["HeaderValue"]) for h in api["OriginCustomHeaders"]}


@pytest.fixture
def template_env(moto_s3, monkeypatch: pytest.MonkeyPatch):
    """The function's environment from template.yaml, MapsBucket being moto's bucket."""
    for name, value in function_properties()["Environment"]["Variables"].items():
        monkeypatch.setenv(name, str(DEPLOYED.resolve(value)).replace(maps_bucket_name(), moto_s3.bucket))
    monkeypatch.setenv("AWS_REGION", REGION)
    lambda_init()
    # mock_aws answers botocore's calls only: here the handler's store puts through its client
    # (its bucket writer's PUTs reach moto's server in tests/reliability/test_storage_faults.py).
    module = importlib.import_module(handler_name().rpartition(".")[0])
    through_client = dataclasses.replace(module.recognizer.store, writer=None)
    through = dataclasses.replace(module.recognizer, store=through_client)
    module.app.dependency_overrides[get_recognizer] = lambda: through
    yield moto_s3
    # The handler module is process-wide: built again from the environment as it was, so that
    # later tests (tests/test_handler.py) do not get this one's (it requires X-Origin-Verify).
    monkeypatch.undo()
    lambda_init()


def invoke(event: dict, context, *, through_cloudfront: bool = True) -> tuple[int, dict]:
    if through_cloudfront:
        event = {**event, "headers": {**event["headers"], **origin_header()}}
    response = lambda_handler()(event, context)
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], json.loads(body)


def upload_event(png: bytes, path: str = "/api/predict") -> dict:
    body, content_type = multipart_body({"image": ("digit.png", png, "image/png")})
    return sam_http_api_event("POST", path, body=body, content_type=content_type)


def test_the_templates_handler_is_importable_by_its_dotted_name():
    assert callable(lambda_handler())
    assert handler_name() == "recognizer.handler.handler"


def test_powertools_names_in_the_template_are_the_handlers():
    handler_module = importlib.import_module(handler_name().rpartition(".")[0])
    variables = function_properties()["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == handler_module.SERVICE
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == handler_module.NAMESPACE


def test_the_sam_event_is_an_http_api_payload_2_event():
    event = sam_http_api_event("POST", "/api/predict", body=b"x", content_type="image/png")
    assert event["version"] == "2.0"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"x"
    assert event["routeKey"] == "ANY /api/{proxy+}"
    assert event["requestContext"]["http"]["method"] == "POST"


@pytest.mark.parametrize("digit", range(10))
def test_a_multipart_upload_of_a_real_digit_is_read_correctly(template_env, digit_png, lambda_context, digit: int):
    status, answer = invoke(upload_event(digit_png(digit)), lambda_context)

    assert status == 200, answer
    assert answer["predicted_digit"] == digit
    assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    stored = template_env.keys(f"predictions/{answer['prediction_id']}/")
    assert len(stored) == 3
    assert answer["warnings"] == []


def test_presigned_urls_point_at_the_host_the_csp_allows(template_env, digit_png, lambda_context):
    status, answer = invoke(upload_event(digit_png(3)), lambda_context)
    assert status == 200, answer

    csp = DEPLOYED.resolve(
        template()["Resources"]["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"][
            "SecurityHeadersConfig"
        ]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    )
    host = f"https://{maps_bucket_name()}.s3.{REGION}.amazonaws.com"
    assert f"img-src 'self' data: blob: {host};" in csp and f"connect-src 'self' {host};" in csp
    allowed_host = host.replace(maps_bucket_name(), template_env.bucket)
    urls = [answer["input_url"], *(m["url"] for m in answer["feature_maps"].values())]
    for url in urls:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == allowed_host
        assert "X-Amz-Signature=" in parts.query
    # The presigned POST for a big file goes to the same host (the CSP's connect-src).
    event = sam_http_api_event(
        "POST",
        "/api/uploads",
        body=b'{"content_type": "image/heic", "content_length": 9000000}',
        content_type="application/json",
    )
    status, ticket = invoke(event, lambda_context)
    assert status == 201, ticket
    parts = urlsplit(ticket["url"])
    assert f"{parts.scheme}://{parts.netloc}" == allowed_host


def test_a_raw_image_body_is_read_correctly(template_env, digit_png, lambda_context):
    event = sam_http_api_event("POST", "/api/predict", body=digit_png(4), content_type="image/png")
    status, answer = invoke(event, lambda_context)
    assert status == 200, answer
    assert answer["predicted_digit"] == 4


def test_not_an_image_is_a_4xx_json_error(template_env, lambda_context):
    body, content_type = multipart_body({"image": ("notes.png", b"just some words", "image/png")})
    event = sam_http_api_event("POST", "/api/predict", body=body, content_type=content_type)
    status, answer = invoke(event, lambda_context)
    assert 400 <= status < 500
    assert set(answer["error"]) == {"code", "message"}
    assert template_env.keys() == []


def test_deleting_a_prediction_removes_what_it_stored(template_env, digit_png, lambda_context):
    _, answer = invoke(upload_event(digit_png(8)), lambda_context)
    prefix = f"predictions/{answer['prediction_id']}/"
    assert template_env.keys(prefix)

    event = sam_http_api_event("DELETE", f"/api/predictions/{answer['prediction_id']}")
    status, deleted = invoke(event, lambda_context)

    assert status == 200, deleted
    assert template_env.keys(prefix) == []


def test_a_request_straight_to_the_apis_own_endpoint_is_refused(template_env, digit_png, lambda_context):
    """With the template's environment the function requires CloudFront's header: an event
    without it (someone calling the execute-api endpoint) is refused before anything is read."""
    assert origin_header()["x-origin-verify"] == DEPLOYED.uuid  # the default: the stack's id
    for event in (upload_event(digit_png(5)), sam_http_api_event("GET", "/api/health")):
        status, answer = invoke(event, lambda_context, through_cloudfront=False)
        assert status == 403, answer
        assert answer["error"]["code"] == "direct_access_refused"
    assert template_env.keys() == []
    status, _ = invoke(sam_http_api_event("GET", "/api/health"), lambda_context)
    assert status == 200
