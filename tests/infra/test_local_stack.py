"""The local stack over real HTTP: one port for the site and the API, S3 on moto's server."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from infra.local_stack import SITE_DIR

pytestmark = pytest.mark.xdist_group("local_stack")


def post_digit(base_url: str, data: bytes) -> dict:
    response = httpx.post(f"{base_url}/api/predict", files={"image": ("digit.png", data, "image/png")}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_api_and_error_shape_over_http(local_stack: str) -> None:
    health = httpx.get(f"{local_stack}/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    missing = httpx.get(f"{local_stack}/api/no-such-route")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{local_stack}/api/docs").status_code == 200


@pytest.mark.skipif(not (SITE_DIR / "index.html").is_file(), reason="site/ has no index.html yet")
def test_the_site_is_served_at_the_root(local_stack: str) -> None:
    index = httpx.get(f"{local_stack}/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert index.text == (SITE_DIR / "index.html").read_text()
    if (SITE_DIR / "feature_maps.html").is_file():
        maps = httpx.get(f"{local_stack}/feature_maps")
        assert maps.text == (SITE_DIR / "feature_maps.html").read_text()
    asset = next(path for path in sorted(SITE_DIR.rglob("*")) if path.is_file())
    served = httpx.get(f"{local_stack}/{asset.relative_to(SITE_DIR).as_posix()}")
    assert served.status_code == 200 and served.content == asset.read_bytes()


def test_a_page_the_site_does_not_have_is_its_404_page_as_on_aws(local_stack: str) -> None:
    """CloudFront answers a missing page with site/404.html, status 404; so does the local stack
    (StaticFiles serves 404.html), while the API keeps its own JSON 404."""
    missing = httpx.get(f"{local_stack}/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert missing.text == (SITE_DIR / "404.html").read_text()
    assert httpx.get(f"{local_stack}/api/no-such-route").json()["error"]["code"] == "not_found"


def test_predict_and_fetch_the_maps_like_a_browser(local_stack: str, digit_png) -> None:
    body = post_digit(local_stack, digit_png(3))
    for url, size in (
        (body["input_url"], (28, 28)),
        (body["feature_maps"]["conv2"]["url"], None),
    ):
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        assert size is None or image.size == size


def test_two_concurrent_requests_with_different_digits(local_stack: str, digit_png) -> None:
    alone: dict[bytes, dict] = {}
    for digit in (0, 8, 1, 7, 4):  # the first two the model reads differently
        data = digit_png(digit)
        body = post_digit(local_stack, data)
        if body["predicted_digit"] not in {b["predicted_digit"] for b in alone.values()}:
            alone[data] = body
        if len(alone) == 2:
            break
    first, second = alone
    start = threading.Barrier(2)

    def together(data: bytes) -> tuple[bytes, dict]:
        start.wait(timeout=30)
        return data, post_digit(local_stack, data)

    for _ in range(3):
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(together, [first, second]))
        for data, body in results:
            assert body["predicted_digit"] == alone[data]["predicted_digit"]
            assert body["probabilities"] == pytest.approx(alone[data]["probabilities"], abs=1e-6)
            stored_input = httpx.get(body["input_url"]).content
            assert stored_input == httpx.get(alone[data]["input_url"]).content
        assert results[0][1]["prediction_id"] != results[1][1]["prediction_id"]


def test_the_listening_socket_lets_asyncio_disable_nagle() -> None:
    # asyncio sets TCP_NODELAY on accepted connections only for IPPROTO_TCP sockets; without
    # it each response would wait for the client's delayed ACK.
    import socket

    from infra.local_stack import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
