"""Only requests that came through CloudFront: the API refuses one without CloudFront's secret.

On AWS the HTTP API's own execute-api endpoint is public; called there, a client would skip
what CloudFront adds (the per-IP rate limit, the CSP, HSTS). CloudFront's api origin sends an
``X-Origin-Verify`` header whose value only the stack knows (template.yaml: OriginSecret); with
``ORIGIN_SECRET`` set, a request without that value is answered 403 ``direct_access_refused``
before any route runs. Unset (locally, in tests): nothing is checked.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from recognizer.api.outcome import record_error

HEADER = "x-origin-verify"
CODE = "direct_access_refused"
MESSAGE = (
    "this API answers only through its site's address (https://<the site>/api/...): "
    "requests straight to its own endpoint are refused"
)


class OriginGuard:
    """ASGI middleware: HTTP requests must carry ``secret`` in the X-Origin-Verify header."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._carries_the_secret(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        record_error(request, CODE)
        response = JSONResponse({"error": {"code": CODE, "message": MESSAGE}}, status_code=403)
        await response(scope, receive, send)

    def _carries_the_secret(self, scope: Scope) -> bool:
        sent = [value for name, value in scope.get("headers", []) if name.lower() == HEADER.encode()]
        # Exactly one, equal in constant time (a wrong value takes as long as a right one).
        return len(sent) == 1 and hmac.compare_digest(sent[0], self.secret)
