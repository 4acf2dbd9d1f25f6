"""The FastAPI app factory: routes under /api, one error shape, OpenAPI at /api/docs."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from recognizer.api.docs import install_docs
from recognizer.api.errors import install_error_handlers
from recognizer.api.origin import OriginGuard
from recognizer.api.outcome import OutcomeCallback, OutcomeMiddleware
from recognizer.api.routes import ROUTERS
from recognizer.api.routes.health import API_VERSION
from recognizer.decoding import ACCEPTED
from recognizer.jobs import JobEngine, Jobs, JobStore
from recognizer.service import Recognizer
from recognizer.settings import Settings
from recognizer.sizes import size_text

API_PREFIX = "/api"
DOCS_URL = f"{API_PREFIX}/docs"


def limit_texts(settings: Settings) -> dict[str, str]:
    """What route descriptions may say of the limits (``{max_upload}`` and so on)."""
    return {
        "max_upload": size_text(settings.max_upload_bytes),
        "max_batch_files": str(settings.max_batch_files),
        "max_batch_bytes": size_text(settings.max_batch_bytes),
        "max_batch_upload_ids": str(settings.max_batch_upload_ids),
        "max_s3_upload": size_text(settings.max_s3_upload_bytes),
        "max_job_files": f"{settings.max_job_files:,}",
        "max_job_file": size_text(settings.max_job_file_bytes),
        "formats": ACCEPTED,
    }


def _filled(value: Any, texts: dict[str, str]) -> Any:
    """``value`` with every ``{name}`` of ``texts`` in its strings filled in (dicts and lists
    walked; other braces, such as JSON shapes in descriptions, left alone)."""
    if isinstance(value, str):
        for name, text in texts.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {key: _filled(item, texts) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, texts) for item in value]
    return value


def _state_limits_in_openapi(app: FastAPI, settings: Settings) -> None:
    """Routes describe limits as ``{max_upload}`` and the like (the routers are shared by every
    app); this app's schema says its own, and carries them for clients in ``info.x-upload``
    (the site's messages and hints come from there)."""
    generate = app.openapi
    texts = limit_texts(settings)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"] = _filled(schema["paths"], texts)
            schema["info"]["x-upload"] = {
                "formats": texts["formats"],
                "max_bytes": settings.max_upload_bytes,
                "max_size": texts["max_upload"],
                "max_batch_files": settings.max_batch_files,
                "max_batch_bytes": settings.max_batch_bytes,
                "max_batch_upload_ids": settings.max_batch_upload_ids,
                "max_s3_bytes": settings.max_s3_upload_bytes,
                "max_s3_size": texts["max_s3_upload"],
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise


def jobs_of(recognizer: Recognizer, engine: JobEngine | None) -> Jobs | None:
    """Bulk jobs in ``recognizer``'s bucket, run by ``engine`` (None: none can start)."""
    if recognizer.store is None:
        return None
    settings = recognizer.settings
    store = JobStore(recognizer.store.client, recognizer.store.bucket, settings.presigned_url_expiry)
    return Jobs(store, engine, settings.max_job_files, settings.max_job_file_bytes, settings.job_upload_expiry)


def create_app(
    recognizer: Recognizer, on_outcome: OutcomeCallback | None = None, job_engine: JobEngine | None = None
) -> FastAPI:
    """An app answering with ``recognizer``. ``on_outcome`` is told how each request ended (the
    Lambda handler's metrics); ``job_engine`` runs bulk jobs (Step Functions, or the local
    stand-in). OpenAPI states the limits of ``recognizer.settings``."""
    app = FastAPI(
        title="Digit recognizer",
        version=API_VERSION,
        description=(
            "Recognise handwritten digits and see what the network's convolutional layers "
            'see. Every error answers `{"error": {"code", "message"}}`.'
        ),
        docs_url=None,  # served by install_docs: Swagger UI from this app, not a CDN
        openapi_url=f"{API_PREFIX}/openapi.json",
        redoc_url=None,
    )
    app.state.recognizer = recognizer
    app.state.jobs = jobs_of(recognizer, job_engine)
    # "/api/health/" is a 404 in the error shape, not a redirect to this host: behind
    # CloudFront an absolute redirect would send the browser to the API's own address.
    app.router.redirect_slashes = False
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    _state_limits_in_openapi(app, recognizer.settings)
    install_docs(app, DOCS_URL, f"{API_PREFIX}/openapi.json")
    install_error_handlers(app)
    if recognizer.settings.origin_secret:
        # Inside OutcomeMiddleware (added after it), so that its 403s are counted like any other.
        app.add_middleware(OriginGuard, secret=recognizer.settings.origin_secret)
    app.add_middleware(OutcomeMiddleware, on_outcome=on_outcome)
    return app
