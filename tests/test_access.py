"""Every route declares who may open it, and every declaration holds for every kind of visitor.

The routes are read from the app's URL map, so a route added later is checked without anyone
remembering to add it here: without an access declaration it fails, and its declaration is then
tried by an anonymous visitor, the borrower who owns the account, another borrower and each staff
role, for each method it allows.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.support import Translations
from sqlalchemy import select

from portal.api.views import LENDER_KEY, PARTNER
from portal.identity.roles import PERMISSIONS, allows
from portal.web.access import BORROWER, PUBLIC
from tests.fixtures.factories import dispute_maker, import_maker, payment_maker, plan_maker

#: Each catalog present: a visitor reads a refusal in their own language (the outsider, Spanish).
CATALOGS = Path(__file__).resolve().parent.parent / "portal" / "translations"
LANGUAGE_CATALOGS = [Translations.load(CATALOGS, [folder.name])
                     for folder in sorted(CATALOGS.iterdir()) if folder.is_dir()]


def _says(text: str, message: str) -> bool:
    """Whether `text` says `message` in English or in any language the portal has a catalog of."""
    return message in text or any(t.gettext(message) in text for t in LANGUAGE_CATALOGS)


#: Sample values for URL arguments: real demo data, so an allowed visitor gets a real page.
SAMPLE_ARGS = {
    "reference": "NWB-1001",
    "account_ref": "NWB-1001",
    "account_reference": "NWB-1001",
    #: A succeeded card payment of the owner's on NWB-1001 (the `samples` fixture).
    "payment_id": "6c1f0f0e-0000-4000-8000-000000001001",
    #: A dispute of the owner's on NWB-1001 with one evidence file (the `samples` fixture).
    "number": "D-900001",
    "file_id": "900001",
    #: A captured message of demo mode (/dev/messages): none by that id, so a 404 for everyone.
    "message_id": "900001",
    #: An approved plan proposal of the owner's on NWB-1001 (the `samples` fixture).
    "plan_number": "P-900001",
    #: A finished placement import of Northwind's that placed NWB-1001 (the `samples` fixture).
    "import_id": "900002",
    #: A staff user of the samples' agency, Demo Collections (the `samples` fixture).
    "staff_id": "900002",
    #: A one-time staff link: none by that token, so "this link is not valid" for everyone.
    "token": "no-such-link-token",
    #: Northwind's closed remittance statement of this month, holding NWB-1001's sample payment
    #: (the `samples` fixture).
    "statement_id": "900003",
    #: The owner's grant to a helper who may act (the `samples` fixture).
    "grant_id": "900001",
    #: Northwind Bank, the sample account's creditor (the console's statements pages).
    "creditor_code": "NWB",
}
#: What an allowed visitor's page about a sample shows (by default, the sample account).
SAMPLE_MARKERS = {"staff_id": ["Sample Colleague"], "creditor_code": ["Northwind Bank"]}
#: The borrower who owns the samples above, and one who does not.
OWNER = ("DEMO-1001", "1985-04-12")
OUTSIDER = ("DEMO-1002", "1979-07-30")
#: For each sample value, one of the same shape that exists nowhere.
MISSING_ARGS = {"NWB-1001": "NWB-0000", "D-900001": "D-900000", "P-900001": "P-900000",
                "900002": "900999", "900003": "900993",
                "/900002": "/900009", "/statements/NWB": "/statements/NWX",
                "6c1f0f0e-0000-4000-8000-000000001001": "6c1f0f0e-0000-4000-8000-000000000000"}
#: What would betray the owner's account to someone else (names, amounts in en and es, contacts).
OWNER_MARKERS = [
    "Rivera", "Alex", "2,480.19", "2480,19", "830.00", "830,00", "Lumen", "LUM-1001",
    "alex@", "a***@e***", "0147", "350 W 31st", "10001", "1985",
]
STAFF_USERS = {
    "admin": "admin@demo.test",
    "agent": "agent@demo.test",
    "compliance": "compliance@demo.test",
    "supervisor": "supervisor@demo.test",
    "lender": "lender@northwind.test",
    # Staff of the second demo agency, which the samples' account does not belong to.
    "other agency's admin": "admin@harbor.test",
    "other agency's agent": "agent@harbor.test",
    "other agency's compliance": "compliance@harbor.test",
    "other agency's supervisor": "supervisor@harbor.test",
    # Birchwood Credit Union's lender user: sees Birchwood's portfolio, never Northwind's.
    "other agency's lender": "lender@birchwood.test",
}
#: Each staff visitor's role (the second agency's staff have the same roles as the first's).
ROLES = {visitor: visitor.removeprefix("other agency's ") for visitor in STAFF_USERS}
OTHER_AGENCY = {visitor for visitor in STAFF_USERS if visitor.startswith("other agency's ")}
#: What would betray one of the samples' agency's rows to another agency's staff.
AGENCY_MARKERS = ["NWB-1001", "NWB-1002", "Northwind", "D-900001", "P-900001", "López"]
SIGN_IN_PAGES = {"/sign-in", "/staff/sign-in"}
#: Public routes whose answer is a 5xx by design: /readyz says 503 while no worker has written a
#: heartbeat (none runs in these tests); its checks are tested in tests/test_ops.py.
DESIGNED_5XX = {"/readyz": 503}
TESTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _collect_rules():
    """The URL map, read once at collection time from an app that never touches a database."""
    from portal import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://collect@127.0.0.1:1/never_opened",
            "SERVER_NAME": None,
        }
    )
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        methods = tuple(m for m in TESTED_METHODS if m in (rule.methods or ()))
        rules.append((rule.rule, rule.endpoint, methods, getattr(view, "access", None)))
    return sorted(rules)


RULES = _collect_rules()


def _fill(rule_text: str, arguments) -> str:
    missing = sorted(a for a in arguments if a not in SAMPLE_ARGS)
    if missing:
        pytest.fail(
            f"route {rule_text} takes {missing}: add a real demo value for each to SAMPLE_ARGS "
            "in tests/test_access.py so its access rules are tested"
        )
    path = rule_text
    for name in arguments:
        start = path.index("<")
        end = path.index(">", start)
        assert path[start + 1:end].split(":")[-1] == name, rule_text
        path = path[:start] + SAMPLE_ARGS[name] + path[end + 1:]
    return path


def _arguments(rule_text: str) -> list[str]:
    names = []
    rest = rule_text
    while "<" in rest:
        start = rest.index("<")
        end = rest.index(">", start)
        names.append(rest[start + 1:end].split(":")[-1])
        rest = rest[end + 1:]
    return names


# --- every route declares its access -----------------------------------------------------------


def test_the_collected_rules_are_the_apps_rules(app):
    """The parametrized tests below cover exactly the app under test, nothing more or less."""
    live = sorted(
        (r.rule, r.endpoint) for r in app.url_map.iter_rules() if r.endpoint != "static"
    )
    assert [(rule, endpoint) for rule, endpoint, _m, _a in RULES] == live
    assert any(access == BORROWER for *_rest, access in RULES)
    assert any((access or "").startswith("staff:") for *_rest, access in RULES)


KNOWN_ACCESS = {PUBLIC, BORROWER, PARTNER, LENDER_KEY} | {
    f"staff:{p}" for permissions in PERMISSIONS.values() for p in permissions
}


@pytest.mark.parametrize(
    "endpoint", sorted({endpoint for _r, endpoint, _m, _a in RULES})
)
def test_every_view_declares_who_may_open_it(app, endpoint):
    view = app.view_functions[endpoint]
    access = getattr(view, "access", None)
    assert access is not None, (
        f"{endpoint} has no access declaration: decorate it with @public, @borrower_required "
        "or @staff_required(permission), below the route decorator"
    )
    assert access in KNOWN_ACCESS, f"{endpoint}: unknown access {access!r}"


# --- each visitor, each protected route, each method -------------------------------------------

PROTECTED = [(r, e, m, a) for r, e, methods, a in RULES
             if a and a not in (PUBLIC, PARTNER, LENDER_KEY) for m in methods]
PUBLIC_RULES = [(r, e, m) for r, e, methods, a in RULES if a == PUBLIC for m in methods]
#: Helpers, signed in by their emailed code: the owner's (see only, and act too) and the other
#: borrower's (act too), each by the email of their grant in the `samples` fixture.
HELPERS = {"owner's helper (see)": (900003, "see.helper@advice.example"),
           "owner's helper (act)": (900001, "act.helper@advice.example"),
           "other borrower's helper": (900004, "other.helper@advice.example")}
#: The borrower's pages a helper may use (by blueprint), and the helper's own pages.
HELPER_BLUEPRINTS = {"accounts", "payments", "plans", "disputes"}
HELPER_PAGES = {"helping.helping", "helping.switch"}
#: What a debt adviser who may act also reaches: starting breathing space (every sample helper
#: is an adviser; the see-only one may not act).
ADVISER_PAGES = {"contact.page", "contact.breathing_space"}
VISITORS = ["anonymous", "owner", "other borrower", *HELPERS, *STAFF_USERS]


def _helper_expected(visitor: str, endpoint: str, method: str, takes_account: bool) -> str:
    """A helper reaches the borrower's account pages (changing anything only with "act") and
    their own pages; the borrower's other pages are refused; another borrower's are not found."""
    if endpoint in HELPER_PAGES:
        return "allowed"
    if endpoint in ADVISER_PAGES and not visitor.endswith("(see)"):
        return "allowed"
    if endpoint.partition(".")[0] not in HELPER_BLUEPRINTS:
        return "403"
    if method != "GET" and visitor.endswith("(see)"):
        return "403"
    if visitor == "other borrower's helper":
        return "404" if takes_account else "allowed"
    return "allowed"


def _expected(access: str, visitor: str, takes_account: bool, endpoint: str = "",
              method: str = "GET") -> str:
    """What `visitor` should get: 'sign-in', 'allowed', 403 or 404."""
    if visitor == "anonymous":
        return "sign-in"
    if visitor in HELPERS:
        return _helper_expected(visitor, endpoint, method, takes_account) \
            if access == BORROWER else "403"
    if access == BORROWER:
        if visitor == "owner":
            return "allowed"
        if visitor == "other borrower":
            return "404" if takes_account else "allowed"
        return "403"
    permission = access.removeprefix("staff:")
    if visitor in ("owner", "other borrower"):
        return "403"
    if not allows(ROLES[visitor], permission):
        return "403"
    if visitor in OTHER_AGENCY:
        # Another agency's case, dispute or plan is not found; its lists show none of them.
        return "404" if takes_account else "scoped"
    return "allowed"


def _become(visitor: str, person, staff_sign_in) -> None:
    if visitor == "anonymous":
        return
    if visitor in HELPERS:
        page = person.submit(person.get("/helper/sign-in"), {"email": HELPERS[visitor][1]})
        page = person.submit(page, {"code": person.latest_code()})
        assert page.status == 200 and page.url == "/helping", page.text[:300]
        return
    if visitor in ("owner", "other borrower"):
        reference, born = OWNER if visitor == "owner" else OUTSIDER
        page = person.sign_in(reference, born)
        # Their accounts page, in their own language (the outsider reads Spanish).
        assert page.status == 200 and page.url == "/accounts/", page.text[:300]
        return
    page = staff_sign_in(person, STAFF_USERS[visitor])
    assert page.status == 200 and "Sign out" in page.text, page.text[:300]


def _send(person, method: str, path: str):
    """One request, redirects not followed; non-GET requests carry a valid CSRF token."""
    if method == "GET":
        return person.client.get(path)
    token = person.csrf_token()
    return person.client.open(path, method=method, data={"csrf_token": token})


def _text(response) -> str:
    from bs4 import BeautifulSoup

    if response.mimetype == "application/pdf":  # a receipt or evidence: its pages' text
        import io

        import pikepdf

        with pikepdf.open(io.BytesIO(response.get_data())) as document:
            pages = b" ".join(page.obj.Contents.read_bytes() for page in document.pages)
        return " ".join((response.get_data() + pages).decode("latin-1").split())
    return " ".join(BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text(" ")
                    .split())


def _assert_no_owner_data(text: str, where: str) -> None:
    leaked = [m for m in OWNER_MARKERS if m in text]
    assert not leaked, f"{where} shows the owner's data: {leaked}"


def _assert_no_agency_data(text: str, where: str) -> None:
    leaked = [m for m in AGENCY_MARKERS if m in text]
    assert not leaked, f"{where} shows another agency's rows: {leaked}"


def _sample_colleague() -> None:
    """Staff user 900002 of Demo Collections, invited and not yet set up."""
    from portal.agency.models import Agency
    from portal.extensions import db
    from portal.identity.models import StaffUser

    agency = db.session.scalar(select(Agency).where(Agency.name == "Demo Collections"))
    db.session.add(StaffUser(id=900002, email="sample.colleague@demo.test",
                             name="Sample Colleague", password_hash="!invited",
                             totp_secret="NOTASECRETNOTASECRET", role="agent",
                             agency_id=agency.id))


def _sample_grants() -> None:
    """The helpers' grants: two of the owner's (all accounts), one of the other borrower's."""
    from datetime import UTC, datetime, timedelta

    from portal.accounts.models import Borrower
    from portal.crypto import lookup_digest
    from portal.extensions import db
    from portal.identity.helpers import HelperGrant

    now = datetime.now(UTC)
    for (grant_id, email), reference, access in zip(
            HELPERS.values(), (OWNER[0], OWNER[0], OUTSIDER[0]), ("see", "act", "act"),
            strict=True):
        borrower = db.session.scalar(select(Borrower).where(Borrower.reference == reference))
        db.session.add(HelperGrant(
            id=grant_id, borrower_id=borrower.id, name="Sample Helper", email=email,
            email_digest=lookup_digest(email, "helper_grant.email"), kind="adviser",
            access=access, until=now.date() + timedelta(days=30), created_at=now))


@pytest.fixture(scope="class")
def samples(shared_db):
    """The owner's samples of SAMPLE_ARGS on NWB-1001: a succeeded card payment, a dispute with
    one evidence file and an approved plan proposal, made once for the class that reads them."""
    payment_id = uuid.UUID(SAMPLE_ARGS["payment_id"])
    payment_maker(shared_db)("NWB-1001", 5000, "succeeded", public_id=payment_id)
    dispute_maker(shared_db)("NWB-1001", dispute_id=900001, file_id=900001)
    plan_maker(shared_db)("NWB-1001", plan_id=900001)
    import_maker(shared_db)("NWB-1001", import_id=900002)
    shared_db.run(_sample_colleague)
    shared_db.run(_sample_statement, payment_id)
    shared_db.run(_sample_grants)


def _sample_statement(public_id) -> None:
    """Statement 900003: Northwind's, of this month, closed as if the month had ended, with the
    sample payment's money available at Stripe."""
    from sqlalchemy import text

    from portal.accounts.models import Creditor
    from portal.demo import stripe_month
    from portal.extensions import db
    from portal.lenders import remittance, statements
    from portal.payments import settlement
    from portal.payments.models import Payment

    payment = db.session.scalar(select(Payment).where(Payment.public_id == public_id))
    settlement.record({"id": "txn_sample_900003", "type": "charge",
                       "reporting_category": "charge", "source": payment.charge_id,
                       "amount": payment.amount_minor, "fee": 0, "net": payment.amount_minor,
                       "currency": "usd", "status": "available",
                       "created": int(payment.succeeded_at.timestamp()),
                       "available_on": int(payment.succeeded_at.timestamp())}, payment.id)
    db.session.execute(text("SELECT setval('remittance_statement_id_seq', 900002)"))
    period = remittance.period_of(payment.succeeded_at)
    _, end = remittance.period_bounds(period)
    stripe_month.reconcile(db.session.scalar(select(Creditor.agency_id).where(
        Creditor.code == "NWB")), period, end)
    statements.close_statement("NWB", period, "test", now=end)


class TestProtectedRoutes:
    """Each visitor, each protected route, each method: some 340 tests that only read the same
    samples, so they share one set of them (`shared_db`) instead of each making its own."""

    @pytest.mark.parametrize("visitor", VISITORS)
    @pytest.mark.parametrize(
        ("rule", "endpoint", "method", "access"),
        PROTECTED,
        ids=[f"{m} {r}" for r, _e, m, _a in PROTECTED],
    )
    def test_protected_route(self, rule, endpoint, method, access, visitor, person, demo,
                             staff_sign_in, samples):
        arguments = _arguments(rule)
        takes_account = any(a in SAMPLE_ARGS for a in arguments)
        path = _fill(rule, arguments)
        _become(visitor, person, staff_sign_in)
        expected = _expected(access, visitor, takes_account, endpoint, method)

        response = _send(person, method, path)
        status = response.status_code
        where = f"{method} {path} as {visitor}"
        assert status < 500, f"{where}: {status}"

        if expected == "sign-in":
            assert status != 200, f"{where} was served to an anonymous visitor"
            if status in (401, 403):
                _assert_no_owner_data(_text(response), where)
                return
            assert status in (302, 303), f"{where}: {status}"
            landing = urlsplit(response.headers["Location"]).path
            assert landing in SIGN_IN_PAGES, f"{where} redirected to {landing}"
            page = person.get(response.headers["Location"])
            assert page.status == 200 and page.h1 in ("Sign in", "Staff sign-in"), page
            _assert_no_owner_data(page.text, where)
        elif expected == "403":
            assert status == 403, f"{where}: expected 403, got {status}"
            text = _text(response)
            assert _says(text, "You do not have access to this page."), where
            _assert_no_owner_data(text, where)
        elif expected == "404":
            assert status == 404, f"{where}: expected 404, got {status}"
            text = _text(response)
            assert _says(text, "We could not find that page."), where
            _assert_no_owner_data(text, where)
            # The same answer as for an account that does not exist at all.
            missing = path
            for sample, absent in MISSING_ARGS.items():
                missing = missing.replace(sample, absent)
            other = _send(person, method, missing)
            assert other.status_code == 404
            assert _text(other).replace("NWB-0000", "NWB-1001") == text
            if visitor in OTHER_AGENCY:
                _assert_no_agency_data(text, where)
        elif expected == "scoped":
            # A form posted empty (a recall upload without its file) is refused as invalid.
            refused_as_invalid = method != "GET" and status == 422
            assert status not in (401, 403, 404) and (status < 400 or refused_as_invalid), \
                f"{where}: {status}"
            # An empty form posted to a page of one's own agency may be refused as invalid (422).
            assert status not in (401, 403, 404) and (
                status < 400 or (method == "POST" and status == 422)), f"{where}: {status}"
            text = _text(response)
            _assert_no_owner_data(text, where)
            _assert_no_agency_data(text, where)
        else:
            assert status not in (401, 403, 404), f"{where}: refused with {status}"
            if status in (301, 302, 303, 307, 308):
                landing = urlsplit(response.headers["Location"]).path
                assert landing not in SIGN_IN_PAGES, f"{where} sent an allowed visitor to sign in"
            if method == "GET":
                assert status == 200, f"{where}: expected 200, got {status}"
                if takes_account:
                    markers = next((SAMPLE_MARKERS[a] for a in arguments if a in SAMPLE_MARKERS),
                                   ["NWB-1001", "Northwind Bank"])
                    if response.mimetype == "text/csv":  # a report names lines, not creditors
                        markers = [m for m in markers if m != "Northwind Bank"]
                    assert all(m in _text(response) for m in markers), where


@pytest.mark.parametrize(
    ("rule", "endpoint", "method"),
    PUBLIC_RULES,
    ids=[f"{m} {r}" for r, _e, m in PUBLIC_RULES],
)
def test_public_route_answers_anonymous_visitors(rule, endpoint, method, person, demo):
    path = _fill(rule, _arguments(rule))
    response = _send(person, method, path)
    assert response.status_code < 500 or response.status_code == DESIGNED_5XX.get(rule), (
        f"{method} {path}: {response.status_code}")
    if method == "GET":
        _assert_no_owner_data(_text(response), f"{method} {path}")


# --- partner API routes: a key, not a person ----------------------------------------------------

PARTNER_RULES = [(r, m) for r, _e, methods, a in RULES if a == PARTNER for m in methods]
#: A body for each partner POST route, about the sample account.
PARTNER_BODIES = {
    "/api/v1/contact-decisions": {"account_ref": "NWB-1001", "channel": "letter"},
    "/api/v1/contact-decisions/bulk": [{"account_ref": "NWB-1001", "channel": "letter"}],
    "/api/v1/contact-attempts": {"account_ref": "NWB-1001", "channel": "letter",
                                 "outcome": "delivered"},
}
KEY_HOLDERS = ["no key", "unknown key", "revoked key", "other agency's key", "the agency's key"]


@pytest.fixture
def partner_keys(db, demo):
    from portal.api import service

    revoked_id, revoked = db.run(service.issue_key, "Demo Collections", "Demo dialer")
    db.run(service.revoke_key, revoked_id)
    _, other = db.run(service.issue_key, "Other Collections", "Other dialer")
    return {"unknown key": "not-a-key", "revoked key": revoked, "other agency's key": other,
            "the agency's key": "demo-dialer-key"}


def _partner_send(client, method: str, path: str, rule: str, key: str | None,
                  missing: bool = False):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = PARTNER_BODIES.get(rule) if method != "GET" else None
    if method != "GET" and body is None:
        pytest.fail(f"partner route {method} {rule}: add a sample body to PARTNER_BODIES")
    if missing and body is not None:
        body = json.loads(json.dumps(body).replace("NWB-1001", "NWB-0000"))
    return client.open(path, method=method, json=body, headers=headers)


@pytest.mark.parametrize("holder", KEY_HOLDERS)
@pytest.mark.parametrize(("rule", "method"), PARTNER_RULES,
                         ids=[f"{m} {r}" for r, m in PARTNER_RULES])
def test_partner_route(rule, method, holder, client, partner_keys):
    path = _fill(rule, _arguments(rule))
    response = _partner_send(client, method, path, rule, partner_keys.get(holder))
    where = f"{method} {path} with {holder}"
    assert response.status_code < 500, f"{where}: {response.status_code}"
    text = response.get_data(as_text=True)
    if holder in ("no key", "unknown key", "revoked key"):
        assert response.status_code == 401, f"{where}: {response.status_code}"
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] == ("key_revoked" if holder == "revoked key"
                                         else "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        _assert_no_owner_data(text, where)
    elif holder == "other agency's key":
        # Exactly the answer for an account that does not exist: existence is not revealed.
        other = _partner_send(client, method, path.replace("NWB-1001", "NWB-0000"), rule,
                              partner_keys[holder], missing=True)
        assert response.status_code == other.status_code, where
        assert text.replace("NWB-1001", "NWB-0000") == other.get_data(as_text=True), where
        _assert_no_owner_data(text, where)
        answer = response.json[0] if isinstance(response.json, list) else response.json
        assert answer["status"] == 404 and answer["code"] == "account_not_found", where
    else:
        assert response.status_code in (200, 201), f"{where}: {response.status_code} {text}"
        assert response.mimetype == "application/json"
        if method == "GET" and "account_ref" in rule:
            assert response.json["account_ref"] == "NWB-1001"


# --- providers' hooks: public, but only a provider's signature opens them ------------------------

#: The routes a provider calls (delivery reports, replies): open to no session of any kind, only
#: to the provider's signature (tests/test_sms.py checks the signed calls themselves).
PROVIDER_HOOKS = {
    "/hooks/sms/twilio/status": {"MessageSid": "SM" + "0" * 32, "MessageStatus": "failed"},
    "/hooks/sms/twilio/inbound": {"From": "+12135550147", "Body": "STOP"},
    "/hooks/sms/gateway/status": {"id": "gw-1", "status": "failed"},
    "/hooks/sms/gateway/inbound": {"from": "+12135550147", "text": "STOP"},
}
HOOK_VISITORS = ["anonymous", "owner", "admin", "other agency's agent"]


def test_every_provider_hook_is_listed():
    assert sorted(r for r, *_rest in RULES if r.startswith("/hooks/")) == sorted(PROVIDER_HOOKS)
    assert all(a == PUBLIC for r, _e, _m, a in RULES if r.startswith("/hooks/"))


@pytest.mark.parametrize("visitor", HOOK_VISITORS)
@pytest.mark.parametrize("rule", sorted(PROVIDER_HOOKS))
def test_a_provider_hook_refuses_every_visitor_without_the_providers_signature(
        rule, visitor, app, person, demo, staff_sign_in, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "configured-token")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_SECRET", "configured-secret")
    _become(visitor, person, staff_sign_in)
    body = dict(PROVIDER_HOOKS[rule], csrf_token=person.csrf_token())
    response = (person.client.post(rule, json=body) if "/gateway/" in rule
                else person.client.post(rule, data=body))
    assert response.status_code == 403, f"POST {rule} as {visitor}: {response.status_code}"
    _assert_no_owner_data(response.get_data(as_text=True), f"POST {rule} as {visitor}")


# --- a lender's own key: their remittances, nothing of the agency's ------------------------------

LENDER_RULES = [(r, m) for r, _e, methods, a in RULES if a == LENDER_KEY for m in methods]
#: A body for each lender POST route, about the statement's account.
LENDER_BODIES = {"/api/v1/direct-payments": {
    "account_ref": "NWB-1002", "amount": "1.00",
    "paid_on": datetime.now(UTC).date().isoformat()}}
LENDER_KEY_HOLDERS = ["no key", "unknown key", "revoked key", "the agency's key",
                      "other agency's lender key", "the lender's key"]


@pytest.fixture
def lender_keys(db, demo):
    from portal.api import service
    from portal.identity.models import StaffUser

    def user_id(email):
        return db.scalar(select(StaffUser.id).where(StaffUser.email == email))

    revoked_id, revoked = db.run(service.issue_lender_key, user_id("lender@northwind.test"))
    db.run(service.revoke_key, revoked_id)
    _, other = db.run(service.issue_lender_key, user_id("lender@birchwood.test"))
    _, own = db.run(service.issue_lender_key, user_id("lender@northwind.test"))
    return {"unknown key": "not-a-key", "revoked key": revoked, "the agency's key":
            "demo-dialer-key", "other agency's lender key": other, "the lender's key": own}


@pytest.mark.parametrize("holder", LENDER_KEY_HOLDERS)
@pytest.mark.parametrize(("rule", "method"), LENDER_RULES,
                         ids=[f"{m} {r}" for r, m in LENDER_RULES])
def test_lender_key_route(rule, method, holder, client, db, lender_keys, make_payment):
    payment = make_payment("NWB-1002", 5000, "succeeded")
    db.run(_sample_statement, payment.public_id)  # Northwind's statement holding NWB-1002
    key = lender_keys.get(holder)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = LENDER_BODIES.get(rule) if method != "GET" else None
    if method != "GET" and body is None:
        pytest.fail(f"lender route {method} {rule}: add a sample body to LENDER_BODIES")
    response = client.open(_fill(rule, _arguments(rule)), method=method, headers=headers,
                           json=body)
    where = f"{method} {rule} with {holder}"
    assert response.status_code < 500, where
    text = response.get_data(as_text=True)
    if holder in ("no key", "unknown key", "revoked key"):
        assert response.status_code == 401 and response.json["code"] in (
            "unauthorized", "key_revoked"), where
    elif holder == "the agency's key":
        assert response.status_code == 403 and response.json["code"] == "forbidden", where
    elif holder == "other agency's lender key":
        # Its own (none) listed; another creditor's account not found, as one that is not.
        assert response.status_code == (200 if method == "GET" else 404), where
        _assert_no_agency_data(text.replace("NWB-1002", ""), where)  # the ref it sent
    else:
        assert response.status_code in (200, 201) and "NWB-1002" in text, where
    _assert_no_owner_data(text, where)


@pytest.mark.parametrize(("rule", "method"), PARTNER_RULES,
                         ids=[f"{m} {r}" for r, m in PARTNER_RULES])
def test_a_lenders_key_opens_no_partner_route(rule, method, client, lender_keys):
    response = _partner_send(client, method, _fill(rule, _arguments(rule)), rule,
                             lender_keys["the lender's key"])
    assert response.status_code == 403, f"{method} {rule}: {response.status_code}"
    assert response.json["code"] == "forbidden"
    _assert_no_owner_data(response.get_data(as_text=True), f"{method} {rule}")
