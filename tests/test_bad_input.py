"""Whatever a person (or someone pretending to be one) sends, they get a clear page and a precise
status — never a 500, never a hint about another borrower, and nothing half-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from portal.cases.models import CaseEvent
from portal.identity.models import OneTimeCode, PortalSession, SignInFailure
from tests.fixtures.client import dob

ALEX = ("DEMO-1001", "1985-04-12")
MARIA = ("DEMO-1002", "1979-07-30")
GENERIC_REFUSAL = (
    "We could not match those details. Check your reference number and date of birth."
)
EXPIRED_CODE = "This code has expired or was already used. Ask for a new code."
CSRF_MESSAGE = "This form expired or was sent from elsewhere. Please try again."
#: What would betray Alex's account to someone else.
ALEX_MARKERS = ["Rivera", "Alex", "2,480.19", "2480,19", "Lumen", "LUM-1001", "alex@", "0147"]


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _to_code_page(person, reference: str, date_of_birth: str):
    page = person.submit(person.get("/sign-in"),
                         {"reference": reference, **dob(date_of_birth)})
    assert page.h1 == "Get your sign-in code", page.text[:300]
    choice = page.soup.find("input", {"name": "destination"})
    page = person.submit(page, {"destination": choice["value"]})
    assert page.h1 == "Enter your code", page.text[:300]
    return page


def _code_error(page) -> str:
    error = page.soup.find(id="code-error")
    assert error is not None, page.text[:400]
    return " ".join(error.get_text(" ").split()).removeprefix("Error: ")


def _other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _assert_signed_out(person) -> None:
    page = person.get("/accounts/")
    assert page.status == 200 and page.h1 == "Sign in", page


def _no_alex(text: str) -> None:
    leaked = [m for m in ALEX_MARKERS if m in text]
    assert not leaked, f"page shows Alex's data: {leaked}"


def _multipart(parts: list[tuple[bytes, bytes, bytes | None]]) -> tuple[bytes, str]:
    """A multipart body built by hand (the test client would spool a big one to a temp file it
    never closes): (name, value, filename or None) for each part."""
    boundary = b"----portal-test-boundary"
    body = b""
    for name, value, filename in parts:
        disposition = b'form-data; name="' + name + b'"'
        if filename:
            disposition += b'; filename="' + filename + b'"'
        body += (b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n"
                 + value + b"\r\n")
    return body + b"--" + boundary + b"--\r\n", "multipart/form-data; boundary=" + boundary.decode()


# --- sign-in details ---------------------------------------------------------------------------


def test_unknown_reference_and_wrong_birth_date_get_the_same_answer(person, demo, db):
    unknown = person.submit(person.get("/sign-in"),
                            {"reference": "DEMO-9999", **dob("1985-04-12")})
    wrong_date = person.submit(person.get("/sign-in"),
                               {"reference": "DEMO-1001", **dob("1985-04-13")})

    for page in (unknown, wrong_date):
        assert page.status == 422
        assert page.h1 == "Sign in"
        alert = page.soup.find(id="form-errors")
        assert alert is not None and alert.get("role") == "alert"
        assert GENERIC_REFUSAL in page.text
        _no_alex(page.text)
    assert unknown.soup.find(id="form-errors").get_text() == \
        wrong_date.soup.find(id="form-errors").get_text()
    # Field errors, if any, are the same too: nothing says which part was wrong.
    assert [e.get_text() for e in unknown.soup.select(".error")] == \
        [e.get_text() for e in wrong_date.soup.select(".error")]

    # Neither got any further: no code sent, no way into the next step.
    assert _count(db, OneTimeCode) == 0
    assert person.get("/sign-in/send-code").h1 == "Sign in"


def test_impossible_date_is_shown_next_to_the_field(person, demo, db):
    page = person.submit(person.get("/sign-in"),
                         {"reference": "DEMO-1001", **dob("1985-02-30")})

    assert page.status == 422
    field = page.soup.find("input", {"name": "dob_day"})
    described = (field.get("aria-describedby") or "").split()
    assert field.get("aria-invalid") == "true"
    error_ids = [i for i in described if i.endswith("-error")]
    assert error_ids, f"the date input is not tied to an error: {field}"
    error = page.soup.find(id=error_ids[0])
    assert error is not None and "date" in error.get_text().lower(), error
    # Next to the field: in the same field group as the input.
    assert error.find_parent(class_="field") is field.find_parent(class_="field")
    # What was typed in the other field is kept, and nothing counted against the reference.
    assert page.soup.find("input", {"name": "reference"})["value"] == "DEMO-1001"
    assert _count(db, SignInFailure) == 0


# --- one-time codes ----------------------------------------------------------------------------


def test_expired_code_is_refused(person, demo, db):
    page = _to_code_page(person, *ALEX)
    code = person.latest_code()
    past = datetime.now(UTC) - timedelta(minutes=11)
    db.execute(update(OneTimeCode).values(created_at=past, expires_at=past + timedelta(minutes=10)))

    page = person.submit(page, {"code": code})

    assert page.status == 422
    assert page.h1 == "Enter your code"
    assert _code_error(page) == EXPIRED_CODE
    assert _count(db, PortalSession) == 0
    _assert_signed_out(person)


def test_code_replayed_with_the_old_cookie_is_refused(person, demo, db, make_person):
    page = _to_code_page(person, *ALEX)
    code = person.latest_code()
    before = person.client.get_cookie("portal_session").value
    assert person.submit(page, {"code": code}).h1 == "Your accounts"

    attacker = make_person()
    attacker.client.set_cookie("portal_session", before)
    page = attacker.get("/sign-in/code")
    assert page.h1 == "Enter your code"
    page = attacker.submit(page, {"code": code})

    assert page.status == 422
    assert _code_error(page) == EXPIRED_CODE
    assert _count(db, PortalSession) == 1
    _assert_signed_out(attacker)


def test_code_replayed_in_a_new_sign_in_attempt_is_refused(person, demo, db):
    page = _to_code_page(person, *ALEX)
    old = person.latest_code()
    assert person.submit(page, {"code": old}).h1 == "Your accounts"
    person.sign_out()

    page = _to_code_page(person, *ALEX)
    new = person.latest_code()
    while new == old:  # one chance in a million: ask again so the test means what it says
        page = person.submit(person.get("/sign-in/send-code"))
        new = person.latest_code()
    page = person.submit(page, {"code": old})

    assert page.status == 422
    assert page.h1 == "Enter your code"
    _assert_signed_out(person)
    assert person.submit(person.get("/sign-in/code"), {"code": new}).h1 == "Your accounts"


def test_five_wrong_codes_kill_the_code(person, demo, db):
    page = _to_code_page(person, *ALEX)
    code = person.latest_code()

    for left in (4, 3, 2, 1):
        page = person.submit(page, {"code": _other_code(code)})
        assert page.status == 422
        assert f"You have {left} {'try' if left == 1 else 'tries'} left." in _code_error(page)
    page = person.submit(page, {"code": _other_code(code)})
    assert page.status == 422
    assert "can no longer be used" in _code_error(page)
    assert db.scalar(select(OneTimeCode.attempts)) == 5

    # The right code now meets the reference's lockout...
    page = person.submit(page, {"code": code})
    assert page.status == 429
    # ...and once the lockout is over, the code itself is still dead.
    db.execute(update(SignInFailure).values(
        failed_at=datetime.now(UTC) - timedelta(minutes=16)))
    page = person.submit(person.get("/sign-in/code"), {"code": code})
    assert page.status == 422
    assert _code_error(page) == EXPIRED_CODE
    assert _count(db, PortalSession) == 0
    _assert_signed_out(person)


# --- sessions and URLs -------------------------------------------------------------------------


def _tampered(value: str) -> dict[str, str]:
    """Ways to spoil a signed cookie: flipped bytes in each part, cut short, junk."""
    def flip(text: str, at: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        replacement = alphabet[(alphabet.index(text[at]) + 7) % len(alphabet)] \
            if text[at] in alphabet else "A"
        return text[:at] + replacement + text[at + 1:]

    first_dot = value.index(".", 1)
    last_dot = value.rindex(".")
    return {
        "payload byte flipped": flip(value, first_dot // 2),
        "signature byte flipped": flip(value, last_dot + 3),
        "last byte flipped": flip(value, len(value) - 1),
        "cut short": value[: len(value) // 2],
        "signature removed": value[:last_dot],
        "junk": "not-a-session",
        "non-ascii junk": "%FF%FE.%00.\u00e9",
    }


def test_tampered_session_cookie_leaves_you_signed_out(person, demo, make_person):
    person.sign_in(*ALEX)
    value = person.client.get_cookie("portal_session").value
    # The untouched cookie works on another device, so the checks below mean something.
    control = make_person()
    control.client.set_cookie("portal_session", value)
    assert control.get("/accounts/").h1 == "Your accounts"

    for name, spoiled in _tampered(value).items():
        other = make_person()
        other.client.set_cookie("portal_session", spoiled)
        response = other.client.get("/accounts/")
        assert response.status_code in (302, 303), f"{name}: {response.status_code}"
        assert urlsplit(response.headers["Location"]).path == "/sign-in", name
        page = other.get("/accounts/")
        assert page.status == 200 and page.h1 == "Sign in", f"{name}: {page}"
        _no_alex(page.text)


def test_guessing_another_borrowers_account_url_finds_nothing(person, demo):
    person.sign_in(*MARIA)
    theirs = person.get("/accounts/NWB-1001")
    also_theirs = person.get("/accounts/LUM-1001")
    nobodys = person.get("/accounts/NWB-0000")

    for page in (theirs, also_theirs, nobodys):
        assert page.status == 404
        assert page.h1 == "No se encontró la página"  # María reads Spanish
        _no_alex(page.text)
    assert theirs.text.replace("NWB-1001", "X") == nobodys.text.replace("NWB-0000", "X")
    assert person.get("/accounts/NWB-1002").status == 200


# --- size, encoding, CSRF ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, content_type",
    [(5 * 1024 * 1024, "application/x-www-form-urlencoded"),
     (5 * 1024 * 1024, "multipart/form-data"),
     (700 * 1024, "multipart/form-data")],
    ids=["5 MB form", "5 MB multipart form", "700 KB multipart text field"],
)
def test_oversized_form_gets_a_413_page(person, demo, db, size, content_type):
    token = person.csrf_token()
    fields = {"csrf_token": token, "reference": "A" * size, **dob("1985-04-12")}
    if content_type.startswith("multipart/"):
        body, content_type = _multipart(
            [(k.encode(), v.encode(), None) for k, v in fields.items()])
        response = person.client.post("/sign-in", data=body, content_type=content_type)
    else:
        response = person.client.post("/sign-in", data=fields, content_type=content_type)

    assert response.status_code == 413
    page = person.get("/")  # still a working session afterwards
    assert page.status == 200
    assert "That was too large to send." in response.get_data(as_text=True)
    assert _count(db, SignInFailure) == 0


def test_oversized_upload_gets_a_413_page(person, demo):
    token = person.csrf_token().encode()
    body, content_type = _multipart([
        (b"csrf_token", token, None), (b"reference", b"DEMO-1001", None),
        (b"evidence", b"%PDF" + b"\0" * (5 * 1024 * 1024), b"big.pdf"),
    ])
    response = person.client.post("/sign-in", data=body, content_type=content_type)

    assert response.status_code == 413
    assert "That was too large to send." in response.get_data(as_text=True)


#: A NUL byte can never be stored or matched (PostgreSQL text cannot hold one): 400 at the door.
#: Raw, unencoded bytes make a url-encoded body unreadable (a browser always percent-encodes),
#: so its CSRF token cannot be read either: 400 with the CSRF message.
BAD_REQUEST = "Request not understood"


def _assert_clear_refusal(response, expected: int) -> None:
    """The precise status, and a page that says what is wrong: the 400 page, or the form again
    with its error shown."""
    from bs4 import BeautifulSoup

    assert response.status_code == expected, response.status_code
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    if expected == 400:
        assert soup.find("h1").get_text() == BAD_REQUEST
    else:
        assert soup.select("#form-errors, .error"), "no error shown on the form"
    _no_alex(soup.get_text(" "))


@pytest.mark.parametrize(
    "reference, expected",
    [(b"%FF%FE%FD", 422), (b"\xff\xfe\xfd", 400), (b"DEMO-1001%C3%28", 422), (b"%00", 400),
     (b"DEMO%001001", 400), (b"%ED%A0%80", 422), (b"%C0%AF", 422)],
    ids=["percent-encoded invalid", "raw invalid", "broken sequence", "NUL", "embedded NUL",
         "surrogate", "overlong"],
)
def test_non_utf8_form_fields_are_refused_cleanly(person, demo, db, reference, expected):
    token = person.csrf_token().encode()
    body = (b"csrf_token=" + token + b"&reference=" + reference
            + b"&dob_day=12&dob_month=4&dob_year=1985")
    response = person.client.post(
        "/sign-in", data=body, content_type="application/x-www-form-urlencoded")

    _assert_clear_refusal(response, expected)
    if expected == 400:
        assert _count(db, SignInFailure) == 0
    _assert_signed_out(person)


@pytest.mark.parametrize("raw, expected", [(b"\xff\xfe\xfd", 422), (b"DEMO\x001001", 400)],
                         ids=["raw invalid", "raw NUL"])
def test_non_utf8_multipart_fields_are_refused_cleanly(person, demo, raw, expected):
    """Multipart bodies carry raw bytes, even from a real browser."""
    token = person.csrf_token().encode()
    body, content_type = _multipart([
        (b"csrf_token", token, None), (b"reference", raw, None),
        (b"dob_day", b"12", None), (b"dob_month", b"4", None),
        (b"dob_year", b"1985", None)])
    response = person.client.post("/sign-in", data=body, content_type=content_type)

    _assert_clear_refusal(response, expected)


@pytest.mark.parametrize(
    "field, value, expected",
    [("email", b"agent%00@demo.test", 400), ("email", b"%FF@demo.test", 422),
     ("email", b"\xff@demo.test", 400), ("password", b"%00%FF", 400),
     ("password", b"%FF%FE", 422)],
    ids=["NUL in email", "invalid UTF-8 email", "raw bytes in email", "NUL in password",
         "invalid UTF-8 password"],
)
def test_non_utf8_staff_sign_in_is_refused_cleanly(person, demo, field, value, expected):
    token = person.csrf_token().encode()
    fields = {"email": b"agent@demo.test", "password": b"demo-password-1", field: value}
    body = b"csrf_token=" + token + b"".join(b"&" + k.encode() + b"=" + v
                                             for k, v in fields.items())
    response = person.client.post(
        "/staff/sign-in", data=body, content_type="application/x-www-form-urlencoded")

    _assert_clear_refusal(response, expected)


@pytest.mark.parametrize(
    "code, expected",
    [(b"%FF%FE", 422), (b"\xff\xfe\xfd\xfc\xfb\xfa", 400), (b"12%0034", 400),
     (b"%00%00%00%00%00%00", 400),
     (b"%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96", 422)],
    ids=["percent-encoded invalid", "raw invalid", "embedded NUL", "only NUL", "full-width digits"],
)
def test_non_utf8_code_is_refused_cleanly(person, demo, db, code, expected):
    page = _to_code_page(person, *ALEX)
    token = page.soup.find("input", {"name": "csrf_token"})["value"].encode()
    response = person.client.post(
        "/sign-in/code", data=b"csrf_token=" + token + b"&code=" + code,
        content_type="application/x-www-form-urlencoded")

    _assert_clear_refusal(response, expected)
    assert _count(db, PortalSession) == 0


@pytest.mark.parametrize(
    "url, expected",
    [("/%FF%FE", {404}), ("/sign-in?next=%FF%FE", {200}), ("/sign-in?%FF=%FE", {200}),
     ("/accounts/%FF", {302}), ("/%00", {400}), ("/sign-in?x=%00", {400}),
     ("/staff/accounts/%C3%28", {302}), ("/sign-in?" + "x=1&" * 2000, {200})],
)
def test_odd_urls_never_fail_for_anonymous_visitors(person, url, expected):
    response = person.client.get(url)
    assert response.status_code in expected, response.status_code


@pytest.mark.parametrize(
    "path, query, expected",
    [("/accounts/\xff\xfe", "", 302), ("/\xc3(", "", 404),
     ("/sign-in", "next=\xff\xfe&\xff=1", 400), ("/", "\xc3(", 400), ("/nowhere", "x=\xff", 400),
     ("/sign-in", "x=%FF", 200)],
)
def test_raw_non_utf8_bytes_in_the_url_never_fail(person, path, query, expected):
    """A browser percent-encodes, but a raw client can send any byte; WSGI carries raw bytes as
    latin-1 characters, and no page may trip over them."""
    response = person.client.get("/", environ_overrides={"PATH_INFO": path, "QUERY_STRING": query})
    assert response.status_code == expected, response.status_code


@pytest.mark.parametrize(
    "path, expected",
    [("/accounts/%FF%FE", 404), ("/accounts/NWB-1001%00", 400), ("/accounts/%00", 400),
     ("/accounts/%C3%28", 404), ("/accounts/?x=%FF", 200), ("/accounts/" + "A" * 5000, 404),
     ("/accounts/NWB-1001%20", 404), ("/accounts/nwb-1001", 404)],
)
def test_odd_account_urls_for_a_borrower(person, demo, path, expected):
    person.sign_in(*MARIA)
    response = person.client.get(path)
    assert response.status_code == expected, response.status_code
    _no_alex(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "path, expected",
    [("/staff/accounts/%00", 400), ("/staff/accounts/NWB-1001%00", 400),
     ("/staff/accounts/%FF", 404), ("/staff/accounts?page=%FF", 200),
     ("/staff/accounts?page=-3", 200), ("/staff/accounts?page=0", 200),
     ("/staff/accounts?page=99999999999999999999", 200),
     ("/staff/accounts?page=9223372036854775807", 200), ("/staff/accounts?page=1e400", 200)],
)
def test_odd_staff_urls_never_fail(person, staff_sign_in, path, expected):
    staff_sign_in(person, "agent@demo.test")
    response = person.client.get(path)
    assert response.status_code == expected, response.status_code
    if path.startswith("/staff/accounts?page=") and path[-2:] in ("FF", "-3", "=0", "00"):
        # Nonsense page numbers show the first page.
        assert "NWB-1001" in response.get_data(as_text=True)


def test_form_without_csrf_token_gets_a_clear_400(person, demo, db):
    response = person.client.post("/sign-in", data={
        "reference": "DEMO-1001", **dob("1985-04-12")})

    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert _count(db, SignInFailure) == 0
    assert person.get("/sign-in/send-code").h1 == "Sign in"


def test_sign_out_without_csrf_token_changes_nothing(person, demo, db, make_person):
    person.sign_in(*ALEX)
    stranger = make_person()
    forged = stranger.csrf_token()  # a real token, but of someone else's session

    for data in ({}, {"csrf_token": ""}, {"csrf_token": forged}, {"csrf_token": "x" * 90}):
        response = person.client.post("/sign-out", data=data)
        assert response.status_code == 400, data
        assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert person.get("/accounts/").h1 == "Your accounts"
    assert db.scalar(select(PortalSession.ended_at)) is None
    kinds = db.scalars(select(CaseEvent.kind))
    assert "borrower.signed_out" not in kinds


# --- language switch ---------------------------------------------------------------------------


def _html_lang(person) -> str:
    return person.get("/sign-in").soup.find("html")["lang"]


def _choose_language(person, lang: str, next_: str | None = "/sign-in"):
    data = {"csrf_token": person.csrf_token(), "lang": lang}
    if next_ is not None:
        data["next"] = next_
    return person.client.post("/language", data=data)


def test_language_switch_ignores_unknown_codes(person):
    assert _html_lang(person) == "en"
    for code in ("xx", "", "EN-US", "../../etc", "zh_Hans_CN", "es "):
        response = _choose_language(person, code)
        assert response.status_code == 303
        assert _html_lang(person) == "en", code

    assert _choose_language(person, "es").status_code == 303
    assert _html_lang(person) == "es"
    assert _choose_language(person, "klingon").status_code == 303
    assert _html_lang(person) == "es"


def test_language_switch_returns_to_the_page_you_were_on(person):
    response = _choose_language(person, "es", "/sign-in?x=1")
    assert response.headers["Location"] == "/sign-in?x=1"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example",
     "https:evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example",
     " //evil.example", "javascript:alert(1)", "evil.example", "/%2F/evil.example"],
)
def test_language_switch_refuses_open_redirects(person, target):
    response = _choose_language(person, "es", target)

    assert response.status_code == 303, response.status_code
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and location[1:2] not in ("/", "\\"), location
    assert not any(c in location for c in "\t\r\n\\"), location
    # Where it leads is on this site.
    assert person.client.get(location).status_code in (200, 302, 303, 404)
