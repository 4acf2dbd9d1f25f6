"""FastAPI dependencies: the one ``Recognizer`` the app was built with, and its bulk ``Jobs``.

Tests swap it with ``app.dependency_overrides[get_recognizer] = ...``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from recognizer.errors import JobsUnavailable
from recognizer.jobs import Jobs
from recognizer.service import Recognizer


def get_recognizer(request: Request) -> Recognizer:
    """The app's recognizer (``create_app`` puts it in ``app.state``)."""
    recognizer: Recognizer = request.app.state.recognizer
    return recognizer


RecognizerDep = Annotated[Recognizer, Depends(get_recognizer)]


def get_jobs(request: Request) -> Jobs:
    """The app's bulk jobs (``create_app`` puts them in ``app.state``); 503 where it has none."""
    jobs: Jobs | None = request.app.state.jobs
    if jobs is None:
        raise JobsUnavailable("this service stores nothing, so it runs no jobs")
    return jobs


JobsDep = Annotated[Jobs, Depends(get_jobs)]
