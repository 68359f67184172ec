"""A borrower pays part of a balance by card in a real browser, on a 360 px phone screen, with
localstripe's stand-in for Stripe.js collecting the card and localstripe's own signed webhook
reaching the live server, where a job worker applies it; and a declined card, which must leave the
balance alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_sign_in_browser import assert_fits_phone, new_context

pytestmark = pytest.mark.browser

ACCOUNT = "LUM-1001"
#: A payment's own pages; the card page and the status page.
CARD_URL = re.compile(r"/payments/[^/]+/card$")
STATUS_URL = re.compile(r"/payments/[^/]+$")


@pytest.fixture(scope="module")
def signed_in(demo_signed_in):
    """DEMO-1001's signed-in browser state, shared with the other browser modules: the demo
    borrower may be sent only five codes an hour, and the sign-in tests ask for three."""
    return demo_signed_in


def watched_context(browser: Browser, state: dict) -> tuple[BrowserContext, list[str]]:
    """A signed-in phone-sized context that records console errors (chromium reports CSP
    violations there) and page crashes."""
    context = new_context(browser, storage_state=state)
    problems: list[str] = []
    context.on("console", lambda m: m.type == "error" and problems.append(
        f"console: {m.text} ({m.location.get('url')})"))
    context.on("weberror", lambda e: problems.append(f"page error: {e.error}"))
    return context, problems


def current_balance(page: Page, base_url: str) -> str:
    """The account page's current balance, as the borrower reads it."""
    page.goto(f"{base_url}/accounts/{ACCOUNT}")
    expect(page.locator("h1")).to_contain_text("Lumen Lending")
    total = page.get_by_role("table", name="Itemized balance").get_by_role(
        "row", name=re.compile("Current balance")).locator("td")
    expect(total).to_have_text(re.compile(r"^\$[\d,]+\.\d\d$"))
    return total.inner_text()


def facts(page: Page) -> dict[str, str]:
    """The page's `dl.facts` as {term: description}."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll("main dl.facts > div")].map(d => [
            d.querySelector("dt").innerText.trim(), d.querySelector("dd").innerText.trim()]))""")


def start_payment(page: Page, base_url: str, amount: str, screenshot=None) -> None:
    """From the accounts list: the Lumen Lending account, "Make a payment", another amount,
    continue; up to the card page."""
    page.goto(f"{base_url}/accounts/")
    expect(page.locator("h1")).to_have_text("Your accounts")
    page.get_by_role("link", name=f"See the details of {ACCOUNT}").click()
    expect(page).to_have_url(f"{base_url}/accounts/{ACCOUNT}")
    page.get_by_role("link", name="Make a payment").click()
    expect(page).to_have_url(f"{base_url}/accounts/{ACCOUNT}/pay")
    expect(page.locator("h1")).to_have_text("Make a payment")
    page.get_by_label("Another amount").check()
    page.get_by_label("Amount (USD)").fill(amount)
    assert_fits_phone(page)
    if screenshot:
        screenshot(page, "pay-360")
    page.get_by_role("button", name="Continue to card details").click()
    expect(page).to_have_url(CARD_URL)
    expect(page.locator("h1")).to_have_text(f"Pay ${amount}")


def fill_card(page: Page, number: str) -> None:
    """localstripe's card element: five plain inputs, named only by their placeholders."""
    card = page.locator("#card-element")
    card.get_by_placeholder("number", exact=True).fill(number)
    card.get_by_placeholder("exp_month", exact=True).fill("12")
    card.get_by_placeholder("exp_year", exact=True).fill("30")  # two digits: 2030
    card.get_by_placeholder("cvc", exact=True).fill("123")
    card.get_by_placeholder("postal_code", exact=True).fill("10001")


def test_a_declined_card_shows_why_and_posts_nothing(browser, live_server, stripe_webhook,
                                                     signed_in, screenshot):
    context, problems = watched_context(browser, signed_in)
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda r: r.method == "POST" and "/submit" in r.url and posts.append(r.url))
    try:
        # First in this module, so $830.00; the payment test below starts from $830.00 too,
        # which it could not if this refused card had posted anything.
        before = current_balance(page, live_server)
        assert before == "$830.00"
        start_payment(page, live_server, "50.00")
        pay = page.get_by_role("button", name="Pay $50.00")
        expect(pay).to_be_enabled()
        fill_card(page, "4000000000000002")
        pay.click()

        error = page.locator("#card-error")
        expect(error).to_have_text(re.compile(r"declined", re.IGNORECASE))
        expect(pay).to_be_enabled()  # the borrower can correct the card and try again
        expect(page).to_have_url(CARD_URL)
        assert posts == [], "the form posted although the card was refused"
        assert_fits_phone(page)
        screenshot(page, "card-declined-360")

        assert current_balance(page, live_server) == before
    finally:
        context.close()
    # localstripe answers the refused confirmation with an HTTP error, which chromium logs.
    unexpected = [p for p in problems if not re.search(
        r"Failed to load resource: the server responded with a status of 402", p)]
    assert unexpected == [], "\n".join(unexpected)


def applied_events(app) -> list[tuple[str, float]]:
    """The live app's Stripe events the worker applied: type, and seconds from kept to applied."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.payments.models import StripeEvent

    with app.app_context():
        rows = db.session.execute(select(StripeEvent.type, StripeEvent.received_at,
                                         StripeEvent.applied_at, StripeEvent.status)).all()
        db.session.rollback()
    return [(kind, (applied - received).total_seconds()) for kind, received, applied, status
            in rows if status == "applied"]


def test_pay_50_dollars_by_card_and_read_the_receipt(browser, live_app, live_server,
                                                     stripe_webhook, signed_in, screenshot):
    context, problems = watched_context(browser, signed_in)
    page = context.new_page()
    try:
        assert current_balance(page, live_server) == "$830.00"
        start_payment(page, live_server, "50.00", screenshot)
        assert facts(page)["Account"] == f"Lumen Lending · {ACCOUNT}"
        assert facts(page)["Fee"] == "None"

        pay = page.get_by_role("button", name="Pay $50.00")
        expect(pay).to_be_enabled()  # Stripe.js loaded and mounted the card element
        fill_card(page, "4242424242424242")
        assert_fits_phone(page)
        screenshot(page, "card-360")

        # The status page asks again (htmx) until localstripe's webhook has reached us and the
        # job worker has applied it.
        polls: list[str] = []
        page.on("request", lambda r: r.headers.get("hx-request") == "true"
                and STATUS_URL.search(r.url) and polls.append(r.url))
        with page.expect_response(lambda r: STATUS_URL.search(r.url) is not None
                                  and r.request.headers.get("hx-request") is None) as first:
            pay.click()
        expect(page).to_have_url(STATUS_URL)
        first_view = first.value.text()
        page.evaluate("window.stayed = true")  # a full page load would forget this
        if "We are confirming your payment" in first_view:
            screenshot(page, "status-checking-360")
        heading = page.locator("h1")
        expect(heading).to_have_text("Thank you: your payment went through", timeout=20_000)
        if "We are confirming your payment" in first_view:
            assert polls, "the status page never asked again"
            assert page.evaluate("window.stayed") is True, "the status page reloaded itself"
        status = facts(page)
        assert status["Amount paid"] == "$50.00"
        assert status["Account"] == f"Lumen Lending · {ACCOUNT}"
        assert status["Balance now"] == "$780.00"
        assert re.fullmatch(r"R-[0-9A-F]{8}-[0-9A-F]{8}", status["Receipt number"]), status
        assert_fits_phone(page)
        screenshot(page, "status-360")

        page.get_by_role("link", name="See your receipt").click()
        expect(page).to_have_url(re.compile(r"/payments/[^/]+/receipt$"))
        expect(page.locator("h1")).to_have_text("Payment receipt")
        receipt = facts(page)
        assert receipt["Receipt number"] == status["Receipt number"]
        assert receipt["Amount paid"] == "$50.00"
        assert receipt["Account"] == ACCOUNT
        assert receipt["Creditor"] == "Lumen Lending"
        assert receipt["Balance after this payment"] == "$780.00"
        assert receipt["Card processor reference"].startswith("ch_"), receipt
        assert_fits_phone(page)
        screenshot(page, "receipt-360")

        assert current_balance(page, live_server) == "$780.00"
    finally:
        context.close()
    assert problems == [], "\n".join(problems)
    # The success was applied by the job worker, moments after the endpoint kept it.
    applied = dict(applied_events(live_app.app))
    assert "payment_intent.succeeded" in applied, applied
    assert applied["payment_intent.succeeded"] < 10, applied
