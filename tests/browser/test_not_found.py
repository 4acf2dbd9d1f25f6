"""site/404.html: what CloudFront answers for a page the site does not have (and the local stack
too). In the site's style, under the site's strict CSP (nothing refused), at any path."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Site


@pytest.mark.parametrize("path", ["/no-such-page", "/deep/no/such/page.html"])
def test_a_missing_page_is_the_sites_own_404_page(site: Site, path: str) -> None:
    site.console.allow(r"status of 404")  # the document itself: the one error expected
    response = site.page.goto(f"{site.url}{path}")
    assert response.status == 404
    page = site.page
    assert page.get_by_role("heading", level=1).inner_text() == "This page does not exist"
    # The site's stylesheet applied (absolute links work at any depth), nothing the CSP refused.
    card = page.locator("section.card")
    assert card.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    assert page.locator("img").evaluate_all("images => images.every(i => i.complete && i.naturalWidth > 0)")
    home = page.get_by_role("link", name="Recognize a digit")
    assert home.get_attribute("href") == "/"
    home.click()
    page.wait_for_url(f"{site.url}/")
    assert not [text for text in site.console.errors if "Content Security Policy" in text]


def test_the_404_page_fits_a_phone(phone_site: Site) -> None:
    phone_site.console.allow(r"status of 404")
    phone_site.open("/no-such-page")
    page = phone_site.page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.get_by_role("link", name="Recognize a digit").bounding_box()
    assert box is not None and box["height"] >= 44  # a finger-sized target
