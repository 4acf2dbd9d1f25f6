"""What a request came to (status, latency, digits, error code), for metrics outside the app.

Routes and error handlers note their results in ``request.state``; ``OutcomeMiddleware`` reads
them once the response is sent and passes one ``RequestOutcome`` to a callback (the Lambda
handler turns it into CloudWatch metrics). The app itself knows nothing about metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_DIGITS = "predicted_digits"
_ERROR_CODE = "error_code"


@dataclass(frozen=True)
class RequestOutcome:
    method: str
    path: str
    status: int
    latency_ms: float
    predicted_digits: tuple[int, ...] = ()
    error_code: str | None = None


OutcomeCallback = Callable[[RequestOutcome], None]


def record_predictions(request: Request, digits: Iterable[int]) -> None:
    """Note the digits a route answered with (several for rows of digits and batches)."""
    previous = getattr(request.state, _DIGITS, ())
    setattr(request.state, _DIGITS, (*previous, *digits))


def record_error(request: Request, code: str) -> None:
    setattr(request.state, _ERROR_CODE, code)


class OutcomeMiddleware:
    def __init__(self, app: ASGIApp, on_outcome: OutcomeCallback | None = None) -> None:
        self.app = app
        self.on_outcome = on_outcome

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.on_outcome is None:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.on_outcome(
                RequestOutcome(
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    latency_ms=(time.perf_counter() - started) * 1000.0,
                    predicted_digits=tuple(state.get(_DIGITS, ())),
                    error_code=state.get(_ERROR_CODE),
                )
            )
