"""Issue 18: every borrower and staff form the pages offer, found by following the pages' own
links, filled by hypothesis with hostile values (huge, negative, non-Latin, markup, injection,
control characters): never a 500, and every error shown is tied to its field (aria-describedby)
or stated for the whole form."""

from __future__ import annotations

import io
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.client import Page

ALEX = ("DEMO-1001", "1985-04-12")
#: Forms that end the session or the test's subject; they are covered by their own tests.
LEAVE_ALONE = ("sign-out", "/reveal", "/language", "/undo", "/active", "/mfa-reset")
HOSTILE_VALUES = [
    "", " ", "0", "-1", "-0.01", "1e309", "NaN", "99999999999999999999", "0.001", "1,000.5",
    "１２３", "٣٤٥", "<script>alert(1)</script>", "' OR 1=1 --", "{{7*7}}", "%(x)s",
    "\u202eevil", "😀" * 50, "a" * 5000, "2026-02-30", "12:99", "+1 (555) 0100", "@", "x@y",
    "\r\nBcc: x@evil.example", "../../etc/passwd", "null", "[]", "{}",
]
VALUES = st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=80))
FUZZ = settings(max_examples=4, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def _links(page: Page) -> list[str]:
    found = []
    for a in page.soup.find_all("a", href=True):
        url = urljoin(page.url, a["href"])
        parts = urlsplit(url)
        if parts.netloc or not parts.path.startswith(("/accounts", "/staff", "/contact",
                                                       "/plans", "/disputes", "/pay")):
            continue
        if parts.path.endswith((".csv", ".pdf", ".json")) or "sign-out" in parts.path:
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def _forms(person, entries: list[str], limit: int = 40) -> list[tuple[str, str, dict]]:
    """(page, action, {field: kind}) of each POST form on the entry pages and the pages they
    link to."""
    seen, forms, queue = set(), {}, list(entries)
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        page = person.get(path)
        if page.status != 200:
            continue
        queue.extend(link for link in _links(page) if path in entries)
        for form in page.soup.find_all("form"):
            action = urljoin(page.url, form.get("action") or page.url)
            if (form.get("method") or "get").lower() != "post" or any(
                    word in action for word in LEAVE_ALONE):
                continue
            fields = {}
            for element in form.find_all(["input", "select", "textarea"]):
                name = element.get("name")
                if name and name != "csrf_token" and element.get("type") != "submit":
                    fields[name] = element.name if element.name != "input" else element.get(
                        "type", "text")
            forms.setdefault(urlsplit(action).path, (path, fields))
    return [(page, action, fields) for action, (page, fields) in sorted(forms.items())]


def _tied_to_fields(page: Page) -> None:
    described = {ref for element in page.soup.select("[aria-describedby]")
                 for ref in element["aria-describedby"].split()}
    for error in page.soup.select("p.error"):
        assert error.get("id") in described, (page.url, str(error)[:200])


def _fuzz(person, page_path: str, action: str, fields: dict) -> int:
    """Every hostile value in every field at once, then a few drawn mixes; the count sent."""
    token = person.get(page_path).soup.find("input", {"name": "csrf_token"})
    tried = []

    def send(values: dict) -> None:
        data = {name: value for name, value in values.items() if fields[name] != "file"}
        for name, kind in fields.items():
            if kind == "file":
                data[name] = (io.BytesIO(b"%PDF-1.4 not really"), "x.pdf")
        data["csrf_token"] = token["value"] if token else ""
        response = person.client.post(action, data=data, content_type="multipart/form-data")
        assert response.status_code < 500, (action, values, response.status_code)
        if response.status_code == 200 and response.mimetype == "text/html":
            _tied_to_fields(Page(response, action))
        tried.append(response.status_code)

    for value in HOSTILE_VALUES:
        send(dict.fromkeys(fields, value))

    @FUZZ
    @given(values=st.fixed_dictionaries({name: VALUES for name in fields}))
    def drawn(values):
        send(values)

    drawn()
    return len(tried)


def test_every_borrower_form_survives_hostile_values(person, demo):
    person.sign_in(*ALEX)
    forms = _forms(person, ["/accounts/", "/accounts/LUM-1001", "/accounts/NWB-1001"])
    assert len(forms) >= 4, [a for _, a, _ in forms]
    for page_path, action, fields in forms:
        assert _fuzz(person, page_path, action, fields) > 0


@pytest.mark.parametrize("email, entries", [
    ("admin@demo.test", ["/staff/accounts/NWB-1002", "/staff/admin/people",
                         "/staff/admin/plan-policy", "/staff/recalls", "/staff/imports",
                         "/staff/statements/NWB"]),
    ("agent@demo.test", ["/staff/accounts/NWB-1001", "/staff/disputes", "/staff/plans"]),
])
def test_every_staff_form_survives_hostile_values(make_person, staff_sign_in, demo, email,
                                                  entries, make_payment):
    make_payment("NWB-1002", 5000, "succeeded")  # its refund form is one of the case page's
    person = make_person()
    staff_sign_in(person, email)
    forms = _forms(person, entries)
    assert len(forms) >= 3, [a for _, a, _ in forms]
    # A supervisor's or admin's case page offers a refund of each card payment with room left.
    assert any(a.endswith("/refund") for _, a, _ in forms) == (email == "admin@demo.test")
    for page_path, action, fields in forms:
        assert _fuzz(person, page_path, action, fields) > 0
