"""/api/docs in a browser with no way out: Swagger UI renders every operation from the API's
own files, and the page's Content-Security-Policy refuses nothing (any refusal is a console
error, which fails the test through the site fixture)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("local_stack")]


def test_the_api_docs_render_every_operation_offline_inside_the_csp(site, local_stack: str) -> None:
    elsewhere: list[str] = []

    def only_this_origin(route) -> None:
        url = route.request.url
        if url.startswith(local_stack) or url.startswith("data:"):
            route.continue_()
        else:  # what a CDN would have served: as if there were no internet
            elsewhere.append(url)
            route.abort()

    site.context.route("**/*", only_this_origin)
    page = site.open("/api/docs")
    paths = page.locator(".opblock-summary-path")
    paths.filter(has_text="/api/uploads").wait_for()
    shown = set(paths.all_inner_texts())
    schema = page.request.get(f"{local_stack}/api/openapi.json").json()
    assert shown == set(schema["paths"]), "an operation of the OpenAPI document is missing from the page"
    page.locator(".opblock-summary", has_text="/api/predict").first.click()
    page.get_by_role("button", name="Try it out").wait_for()
    assert elsewhere == []
