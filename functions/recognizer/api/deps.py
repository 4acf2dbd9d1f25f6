"""FastAPI dependencies: the one ``Recognizer`` the app was built with.

Tests swap it with ``app.dependency_overrides[get_recognizer] = ...``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from recognizer.service import Recognizer


def get_recognizer(request: Request) -> Recognizer:
    """The app's recognizer (``create_app`` puts it in ``app.state``)."""
    recognizer: Recognizer = request.app.state.recognizer
    return recognizer


RecognizerDep = Annotated[Recognizer, Depends(get_recognizer)]
