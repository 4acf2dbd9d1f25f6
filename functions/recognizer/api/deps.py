"""FastAPI dependencies: the one ``Recognizer`` the app was built with, and its settings.

Tests swap either with ``app.dependency_overrides[get_recognizer] = ...``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from recognizer.service import Recognizer
from recognizer.settings import Settings


def get_recognizer(request: Request) -> Recognizer:
    """The app's recognizer (``create_app`` puts it in ``app.state``)."""
    recognizer: Recognizer = request.app.state.recognizer
    return recognizer


def get_settings(recognizer: Annotated[Recognizer, Depends(get_recognizer)]) -> Settings:
    return recognizer.settings


RecognizerDep = Annotated[Recognizer, Depends(get_recognizer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
