"""/api/docs: Swagger UI served by the app itself, inside a strict Content-Security-Policy."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from recognizer.api.docs import CONTENT_SECURITY_POLICY


class PageParts(HTMLParser):
    """The page's scripts (src, or inline text), stylesheets and inline style elements."""

    def __init__(self) -> None:
        super().__init__()
        self.script_sources: list[str | None] = []
        self.inline_scripts: list[str] = []
        self.links: list[str] = []
        self.style_elements = 0
        self.style_attributes = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.style_attributes += "style" in named
        if tag == "script":
            self.script_sources.append(named.get("src"))
            self._in_script = True
        elif tag == "link":
            self.links.append(named.get("href") or "")
        elif tag == "style":
            self.style_elements += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def test_the_docs_page_loads_only_its_own_files_and_no_inline_script(app_client) -> None:
    page = app_client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe" not in policy
    parts = PageParts()
    parts.feed(page.text)
    assert parts.inline_scripts == [] and parts.style_elements == 0 and parts.style_attributes == 0
    assert not re.search(r"https?://", page.text), "the page names another host (a CDN)"
    sources = [source or "" for source in parts.script_sources]
    assert [source.split("?")[0] for source in sources] == ["/api/docs/swagger-ui-bundle.js", "/api/docs/start.js"]
    stylesheets = [href.split("?")[0] for href in parts.links if href.startswith("/")]
    assert stylesheets == ["/api/docs/swagger-ui.css"]
    for url, kind in [(sources[0], "text/javascript"), (sources[1], "text/javascript"), (parts.links[1], "text/css")]:
        answer = app_client.get(url)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(kind), url
        assert "immutable" in answer.headers["cache-control"]
    bundle = app_client.get(sources[0]).text
    assert "SwaggerUIBundle" in bundle and len(bundle) > 500_000  # Swagger UI itself, not a stub
    assert '"/api/openapi.json"' in app_client.get(sources[1]).text


def test_only_swagger_uis_files_are_served_under_the_docs(app_client) -> None:
    for name in ("favicon-32x32.png", "__init__.py", "..%2Fdocs.py", "nothing.js"):
        answer = app_client.get(f"/api/docs/{name}")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", name


def test_the_docs_are_not_an_operation_in_the_schema(app_client) -> None:
    paths = app_client.get("/api/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/api/docs")]
