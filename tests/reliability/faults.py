"""S3 that fails on purpose, on loopback: a closed port, a server that never answers, a proxy
that answers late (its writes land after the client gave up) or refuses chosen PUTs with
AccessDenied."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

LOOPBACK = "127.0.0.1"
ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>0</RequestId></Error>"
)


def closed_port_endpoint() -> str:
    """An endpoint nothing listens on (the port was free a moment ago): connection refused."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    return f"http://{LOOPBACK}:{port}"


class SilentServer:
    """Accepts connections and never answers: S3 stalled behind a load balancer."""

    def __init__(self) -> None:
        self._listener = socket.create_server((LOOPBACK, 0))
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            self._held.append(connection)

    def stop(self) -> None:
        self._stopped.set()
        for connection in [*self._held, self._listener]:
            connection.close()


class S3Proxy:
    """Relays every request to ``upstream``, each held ``delay`` seconds first (slower than the
    client's timeout, yet every write eventually lands). The PUTs numbered in ``refuse_puts`` (by
    arrival, from 1) are answered AccessDenied as S3 answers it, never passed on: a bucket
    policy changed mid-prediction."""

    def __init__(self, upstream: str, delay: float = 0.0, refuse_puts: frozenset[int] = frozenset()) -> None:
        target = urlparse(upstream)
        self.delay = delay
        self.puts = 0  # PUTs seen
        self._count = threading.Lock()

        def forward(method: str, path: str, body: bytes, headers: dict[str, str]):
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                connection.request(method, path, body=body, headers=headers)
                answer = connection.getresponse()
                return answer.status, answer.getheaders(), answer.read()
            finally:
                connection.close()

        self._in_flight = 0
        self._idle = threading.Condition()
        proxy = self

        class Relay(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "PUT" and proxy._count_put() in refuse_puts:
                    self.send_response(403)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(ACCESS_DENIED)))
                    self.end_headers()
                    self.wfile.write(ACCESS_DENIED)
                    return
                proxy._enter()
                try:
                    time.sleep(proxy.delay)
                    status, headers, payload = forward(self.command, self.path, body, dict(self.headers))
                except OSError:
                    status, headers, payload = 502, [], b""
                finally:
                    proxy._leave()
                try:
                    self.send_response(status)
                    for name, value in headers:
                        if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up long ago: that is the point

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Relay)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def _count_put(self) -> int:
        with self._count:
            self.puts += 1
            return self.puts

    def _enter(self) -> None:
        with self._idle:
            self._in_flight += 1

    def _leave(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        """Until every request it took has reached upstream (or ``timeout``)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
