"""Issue 18, hostile input: CSRF on every unsafe route, session fixation, open redirects, header
injection, clickjacking, no-store on personal pages and the CSP — each over the app's own routes,
so a route added later is covered by the same checks."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.cases.models import CaseEvent
from portal.extensions import csrf
from portal.web.redirects import safe_path
from tests.fixtures.client import dob

CSRF_MESSAGE = "This form expired or was sent from elsewhere. Please try again."
ALEX = ("DEMO-1001", "1985-04-12")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
#: Placeholder values for route arguments, by converter.
ARGUMENTS = {"integer": "1", "int": "1", "default": "x", "string": "x", "path": "x", "uuid":
             "00000000-0000-0000-0000-000000000000"}


def _exempt(app, rule) -> bool:
    """Routes that take no cookies (the API's bearer keys, providers' signed callbacks)."""
    view = app.view_functions[rule.endpoint]
    name = f"{view.__module__}.{view.__name__}"
    blueprint = rule.endpoint.rpartition(".")[0]
    return name in csrf._exempt_views or blueprint in {
        bp if isinstance(bp, str) else bp.name for bp in csrf._exempt_blueprints}


def _url(rule) -> str:
    converters = {name: type(conv).__name__.replace("Converter", "").lower() or "default"
                  for name, conv in rule._converters.items()}
    url = rule.rule
    for name, kind in converters.items():
        url = re.sub(rf"<[^>]*\b{name}>", ARGUMENTS.get(kind, "x"), url)
    return url


def _unsafe_routes(app) -> list[tuple[str, str]]:
    return sorted({(method, _url(rule)) for rule in app.url_map.iter_rules()
                   for method in (rule.methods or set()) & UNSAFE
                   if not _exempt(app, rule)})


def test_every_unsafe_route_refuses_a_request_without_the_token_and_changes_nothing(
        app, db, demo, person, make_person):
    person.sign_in(*ALEX)
    forged = make_person().csrf_token()  # a real token, but of another session
    routes = _unsafe_routes(app)
    assert len(routes) > 40, routes  # the check reaches the app's forms, not a handful
    before = db.scalar(select(func.count()).select_from(CaseEvent))
    for method, url in routes:
        for data in ({}, {"csrf_token": forged}):
            response = person.client.open(url, method=method, data=data)
            assert response.status_code == 400, (method, url, response.status_code)
            assert CSRF_MESSAGE in response.get_data(as_text=True), (method, url)
    assert db.scalar(select(func.count()).select_from(CaseEvent)) == before


def test_the_exempt_routes_are_the_cookieless_ones(app):
    exempt = sorted({_url(rule) for rule in app.url_map.iter_rules()
                     if (rule.methods or set()) & UNSAFE and _exempt(app, rule)})
    assert exempt and all(url.startswith(("/api/", "/webhooks/", "/sms/", "/hooks/"))
                          or "webhook" in url or "callback" in url or "/sms" in url
                          for url in exempt), exempt


def _session_cookie(client) -> str | None:
    cookie = client.get_cookie("portal_session")
    return cookie.value if cookie else None


def test_a_borrower_gets_a_new_session_on_sign_in_not_the_one_planted_before(app, person, demo):
    person.get("/sign-in")
    planted = _session_cookie(person.client)
    assert planted
    assert person.sign_in(*ALEX).h1 == "Your accounts"
    assert _session_cookie(person.client) != planted
    # The planted cookie, replayed by whoever set it, is not signed in.
    attacker = app.test_client()
    attacker.set_cookie("portal_session", planted)
    assert attacker.get("/accounts/").status_code in (302, 303)


def test_staff_get_a_new_session_on_sign_in(make_person, staff_sign_in):
    person = make_person()
    person.get("/staff/sign-in")
    planted = _session_cookie(person.client)
    staff_sign_in(person, "agent@demo.test")
    assert _session_cookie(person.client) not in (None, planted)


@pytest.mark.parametrize("target, expected", [
    ("/accounts/", "/accounts/"),
    ("/accounts/?x=1", "/accounts/?x=1"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("/\t/evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("evil.example", "/"),
    ("", "/"),
    (None, "/"),
])
def test_a_redirect_target_is_a_path_of_this_site_or_home(app, target, expected):
    with app.test_request_context("/"):
        assert safe_path(target) == expected


def test_the_language_switch_never_redirects_off_site_or_splits_headers(client, demo):
    for referrer in ("https://evil.example/accounts/", "//evil.example/",
                     "/accounts/%0d%0aSet-Cookie:%20planted=1"):
        token = client.get("/sign-in")
        page = token.get_data(as_text=True)
        value = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = re.search(r'<form[^>]*action="([^"]*language[^"]*)"', page)
        assert value and form, "the language switch form is on the sign-in page"
        response = client.post(form.group(1), data={"csrf_token": value.group(1),
                                                    "language": "es"},
                               headers={"Referer": referrer})
        assert response.status_code in (302, 303)
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
        assert "evil.example" not in location and "\n" not in location
        assert "planted" not in response.headers.get("Set-Cookie", "")


PAGES_SIGNED_OUT = ["/", "/sign-in", "/staff/sign-in", "/help"]
PAGES_SIGNED_IN = ["/accounts/", "/accounts/LUM-1001"]


def _framing_and_csp(response) -> None:
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    scripts = re.search(r"script-src ([^;]+)", policy).group(1)
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    nonce = re.search(r"'nonce-([^']+)'", scripts).group(1)
    html = response.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        # Every script is a file of this site or carries this response's nonce.
        assert f'nonce="{nonce}"' in tag, tag


def test_signed_out_pages_cannot_be_framed_and_run_only_their_own_scripts(client, demo):
    for path in PAGES_SIGNED_OUT:
        response = client.get(path)
        if response.status_code == 404:
            continue
        _framing_and_csp(response)


def test_personal_pages_are_never_stored_and_cannot_be_framed(person, demo):
    person.sign_in(*ALEX)
    for path in PAGES_SIGNED_IN:
        response = person.client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert "no-store" in response.headers["Cache-Control"], path
        _framing_and_csp(response)
    nonces = {re.search(r"'nonce-([^']+)'", person.client.get(p).headers[
        "Content-Security-Policy"]).group(1) for p in PAGES_SIGNED_IN * 2}
    assert len(nonces) == len(PAGES_SIGNED_IN) * 2  # a fresh nonce for every response


def test_the_sign_in_form_has_no_personal_data_in_a_url(person, demo):
    page = person.get("/sign-in")
    form = page.form()
    assert form.get("method", "get").lower() == "post"
    page = person.submit(page, {"reference": ALEX[0], **dob(ALEX[1])})
    assert ALEX[0] not in page.url and "1985" not in page.url
