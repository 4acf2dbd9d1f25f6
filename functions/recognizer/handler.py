"""The Lambda entry point, ``recognizer.handler.handler``: the FastAPI app through Mangum.

Powertools gives structured JSON logs (the API Gateway request id as correlation id), CloudWatch
metrics in EMF (latency, predicted digits, client errors by code) and X-Ray traces (disabled
outside Lambda or with POWERTOOLS_TRACE_DISABLED=true).

This module is the composition root in Lambda: at import (Lambda's init phase, which runs with
burst CPU and is not billed against the first request's timeout) it reads the settings once and
builds the one ``Recognizer``: the networks loaded, the S3 client made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from recognizer.api import create_app
from recognizer.api.outcome import RequestOutcome
from recognizer.jobs import step_functions_engine
from recognizer.service import Recognizer
from recognizer.settings import Settings
from recognizer.storage import open_store

SERVICE = "digit-recognizer"
NAMESPACE = "DigitRecognizer"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
copy_config_to_registered_loggers(source_logger=logger, include={"recognizer"})

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def tracing_enabled() -> bool:
    """Powertools' own rule: in Lambda (not SAM local) unless POWERTOOLS_TRACE_DISABLED."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower()
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")
    return in_lambda and disabled not in ("1", "true", "yes", "on", "y")


def traced(function: Handler) -> Handler:
    """X-Ray tracing when it is on. A disabled Tracer still builds two X-Ray botocore clients
    (~200 ms), so none is made at all when tracing is off."""
    if not tracing_enabled():
        return function
    from aws_lambda_powertools import Tracer

    # Only boto3's calls are worth subsegments; patching every library slows the cold start.
    tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
    return tracer.capture_lambda_handler(function, capture_response=False)


def record_metrics(outcome: RequestOutcome) -> None:
    """CloudWatch metrics for one request (flushed when the invocation ends)."""
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=outcome.latency_ms)
    for digit in outcome.predicted_digits:
        with single_metric(
            name="Predictions",
            unit=MetricUnit.Count,
            value=1,
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name="digit", value=str(digit))
    if outcome.error_code is not None:
        with single_metric(
            name="Errors",
            unit=MetricUnit.Count,
            value=1,
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name="code", value=outcome.error_code)
    logger.info(
        "request served",
        extra={
            "method": outcome.method,
            "path": outcome.path,
            "status": outcome.status,
            "latency_ms": round(outcome.latency_ms, 2),
            "predicted_digits": list(outcome.predicted_digits),
            "error_code": outcome.error_code,
        },
    )


settings = Settings.from_env()
recognizer = Recognizer.from_settings(settings, open_store(settings))
# Bulk jobs run on the state machine template.yaml names (JOBS_STATE_MACHINE_ARN).
job_engine = (
    step_functions_engine(settings.jobs_state_machine_arn, settings.aws_region)
    if settings.jobs_state_machine_arn
    else None
)
app = create_app(recognizer, on_outcome=record_metrics, job_engine=job_engine)
asgi_handler = Mangum(app, lifespan="off")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@traced
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools' LambdaContext and Mangum's protocol describe the same object differently.
    return asgi_handler(event, context)  # type: ignore[arg-type]
