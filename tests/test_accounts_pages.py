"""A signed-in borrower sees exactly what they owe and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from portal.accounts.validation import period_end


def test_accounts_list_shows_creditor_balance_status_and_next_step(person, demo):
    page = person.sign_in("DEMO-1001", "1985-04-12")

    cards = {card.select_one(".card__title").get_text(" ", strip=True): card
             for card in page.soup.select(".cards .card")}
    assert set(cards) == {"Northwind Bank · Credit card", "Lumen Lending · Online loan"}
    northwind = cards["Northwind Bank · Credit card"].get_text(" ", strip=True)
    assert "$2,480.19" in northwind and "Open" in northwind
    # Inside the validation period, the next step is the right to dispute.
    assert "you can dispute it until" in northwind
    lumen = cards["Lumen Lending · Online loan"].get_text(" ", strip=True)
    assert "$830.00" in lumen and "No payment arrangement is in place yet" in lumen


def test_account_page_itemizes_the_balance(person, demo):
    person.sign_in("DEMO-1001", "1985-04-12")

    page = person.get("/accounts/NWB-1001")

    rows = [" ".join(tr.get_text(" ").split()) for tr in page.soup.select(".itemization tr")]
    assert rows[1:] == [
        "+ Interest since then $195.19",
        "+ Fees since then $35.00",
        "− Payments and credits since then $0.00",
        "= Current balance $2,480.19",
    ]
    assert rows[0].startswith("Amount owed on") and rows[0].endswith("$2,250.00")


def test_payments_show_in_the_itemization_and_ledger(person, demo):
    person.sign_in("DEMO-1001", "1985-04-12")

    page = person.get("/accounts/LUM-1001")

    assert "− Payments and credits since then $70.00" in page.text
    ledger = [" ".join(tr.get_text(" ").split()) for tr in page.soup.select(".ledger tbody tr")]
    assert len(ledger) == 2
    assert ledger[1].endswith("Payment -$70.00")


def test_validation_period_end_date_is_shown(person, demo):
    person.sign_in("DEMO-1001", "1985-04-12")
    sent = (datetime.now(UTC) - timedelta(days=10)).date()
    end = period_end(sent)

    page = person.get("/accounts/NWB-1001")

    section = page.soup.find(id="validation-h").parent.get_text(" ", strip=True)
    assert f"until {end.strftime('%B')} {end.day}, {end.year}" in section


def test_history_shows_what_the_borrower_did(person, demo):
    person.sign_in("DEMO-1001", "1985-04-12")

    page = person.get("/accounts/NWB-1001")

    history = page.soup.select(".timeline li")
    texts = [" ".join(li.get_text(" ").split()) for li in history]
    assert any("You signed in" in t for t in texts)
    assert any("You asked for a sign-in code (email to a***@e***.com)" in t for t in texts)
    assert any("The creditor placed this account with us" in t for t in texts)


def test_other_currencies_and_locales(person, demo, make_person):
    wang = make_person()
    page = wang.sign_in("DEMO-2001", "1990-09-02")
    # Wang Fang prefers Simplified Chinese: amounts are formatted for that locale.
    assert "¥12,600.00" in page.text
    assert page.soup.html["lang"] == "zh-Hans"

    oliver = make_person()
    page = oliver.sign_in("DEMO-3001", "1978-01-23")
    assert "£1,150.00" in page.text
    # No validation notice in the UK: no US dispute clock is shown.
    assert "you can dispute it until" not in page.text


def test_language_switch_is_remembered(person, demo):
    page = person.sign_in("DEMO-1002", "1979-07-30")
    assert page.soup.html["lang"] == "es"

    page = person.submit(page, {"lang": "en", "next": "/accounts/"}, action="/language")

    assert page.soup.html["lang"] == "en"
    assert "$410.55" in page.text


def test_a_borrower_whose_language_is_spanish_reads_the_account_in_spanish(person, demo):
    """María López's saved language is es: once signed in, her pages are in Spanish, not English
    with Spanish numbers."""
    page = person.sign_in("DEMO-1002", "1979-07-30")
    assert page.soup.html["lang"] == "es"
    assert page.h1 == "Sus cuentas"

    page = person.get("/accounts/NWB-1002")

    headings = [" ".join(h.get_text(" ").split()) for h in page.soup.select("main h2")]
    assert "Lo que debe y por qué" in headings and "Qué pasa ahora" in headings
    assert "What you owe and why" not in headings
    rows = [" ".join(tr.get_text(" ").split()) for tr in page.soup.select(".itemization tr")]
    # US Latin-American Spanish (es_US) writes dollars as the US does, like the B-2 notice.
    assert rows[-1] == "= Saldo actual $410.55", rows


def _statements(app, fn) -> list[str]:
    """The SQL statements `fn` sends (a listener on the engine, as tests/test_case_view.py), but
    the savepoints the tests' rolled-back transaction wraps each request in."""
    from portal.extensions import db as database

    with app.app_context():
        engine = database.engine
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


#: What an account page reads, one statement each: the session and the borrower (the access
#: check), the account with its creditor and ledger, the history, the notice's agency, contact
#: preferences and contact points, then holds, attempts, payments, disputes and plans.
ACCOUNT_PAGE_STATEMENTS = 12


def test_the_account_page_costs_twelve_statements_however_long_its_history(app, person, demo,
                                                                            make_person):
    """Issue 18: the page's statements are counted, so a new one (a lazy load in a template, a
    query per row) fails here rather than slowing every borrower's page unseen."""
    person.sign_in("DEMO-1001", "1985-04-12")
    person.get("/accounts/NWB-1001")
    few = _statements(app, lambda: person.get("/accounts/NWB-1001"))
    assert len(few) == ACCOUNT_PAGE_STATEMENTS, "\n".join(s.split("\n")[0] for s in few)

    for _ in range(3):  # more events, sign-in codes and sessions on the account's history
        person.sign_out()
        person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get("/accounts/NWB-1001")
    assert len([li for li in page.soup.select(".timeline li") if "You signed in" in li.text]) >= 4
    many = _statements(app, lambda: person.get("/accounts/NWB-1001"))
    assert len(many) == len(few)

    # Another borrower's account is still a 404, from the same single read of the account.
    other = make_person()
    other.sign_in("DEMO-1002", "1979-07-30")
    assert other.client.get("/accounts/NWB-1001").status_code == 404
