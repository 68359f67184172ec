"""Speed on a poor network: the first page a borrower opens, with everything it loads (HTML, CSS,
JavaScript), is at most 60 KB compressed, needs no web font, and its static files are named by
their content and cached for a year (so the next page loads only its own HTML)."""

from __future__ import annotations

import gzip
import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.web.assets import FOREVER

#: The issue's budget for the first page, compressed, in bytes.
BUDGET = 60 * 1024
#: What a borrower opens first: the home page (from a letter's link) and the sign-in page.
FIRST_PAGES = ["/", "/sign-in"]


class _Loads(HTMLParser):
    """The files a page makes the browser fetch before it can be read: stylesheets, scripts,
    fonts preloaded, images."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("rel") in ("stylesheet", "preload", "font") and a.get("href"):
            self.urls.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.urls.append(a["src"])


def _gzipped(body: bytes) -> int:
    """Bytes on the wire as a proxy compresses them (gzip level 6, nginx's and Apache's usual)."""
    return len(gzip.compress(body, compresslevel=6))


def _fetch(client, url: str):
    """A static file's answer, read and closed (a file left open is a ResourceWarning)."""
    answer = client.get(url)
    answer.get_data()
    answer.close()
    return answer


def _loads(html: str) -> list[str]:
    parser = _Loads()
    parser.feed(html)
    return [url for url in parser.urls if not url.startswith("data:")]


@pytest.mark.parametrize("path", FIRST_PAGES)
def test_the_first_page_is_at_most_60_kb_compressed(client, path):
    page = client.get(path)
    assert page.status_code == 200
    sizes = {path: _gzipped(page.get_data())}
    for url in _loads(page.get_data(as_text=True)):
        assert urlsplit(url).netloc == "", f"{url}: the first page loads nothing from elsewhere"
        answer = _fetch(client, url)
        assert answer.status_code == 200, url
        sizes[urlsplit(url).path] = _gzipped(answer.get_data())
    total = sum(sizes.values())
    print(f"\nfirst page {path}: {total / 1024:.1f} KB gzip in total "
          + ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in sizes.items()))
    assert len(sizes) >= 3, f"{path} loads its CSS and scripts: {sorted(sizes)}"
    assert total <= BUDGET, f"{path}: {total} bytes compressed, over {BUDGET}"


def test_no_web_font_is_needed_to_read_it(client):
    """The system's own fonts, with CJK fallbacks so Chinese renders on every phone."""
    page = client.get("/").get_data(as_text=True)
    css = _fetch(client, next(u for u in _loads(page) if ".css" in u)).get_data(as_text=True)
    assert "@font-face" not in css and "@import" not in css
    assert not re.search(r"\.(woff2?|ttf|otf)\b", page + css)
    stack = re.search(r"body\s*{[^}]*font-family:([^;]+);", css).group(1)
    for family in ('"PingFang SC"', '"Noto Sans CJK SC"', '"Microsoft YaHei"', "sans-serif"):
        assert family in stack, family


@pytest.mark.parametrize("path", FIRST_PAGES)
def test_static_files_are_named_by_content_and_cached_for_a_year(client, path):
    for url in _loads(client.get(path).get_data(as_text=True)):
        answer = _fetch(client, url)
        version = parse_qs(urlsplit(url).query).get("v", [""])[0]
        assert version == hashlib.sha256(answer.get_data()).hexdigest()[:12], url
        assert answer.headers["Cache-Control"] == FOREVER, url
        # A stale or absent version is never kept: the next release's file is fetched at once.
        stale = _fetch(client, urlsplit(url).path + "?v=000000000000")
        assert stale.headers["Cache-Control"] == "no-cache", url
        assert _fetch(client, urlsplit(url).path).headers["Cache-Control"] == "no-cache", url


def test_a_signed_in_borrower_caches_static_files_but_never_a_page(person, demo):
    """Personal pages stay out of every cache; the CSS they load is still kept for a year."""
    page = person.sign_in("DEMO-1001", "1985-04-12")
    assert page.status == 200
    response = person.client.get("/accounts/")
    assert response.headers["Cache-Control"] == "no-store"
    css = next(u for u in _loads(response.get_data(as_text=True)) if ".css" in u)
    assert _fetch(person.client, css).headers["Cache-Control"] == FOREVER
