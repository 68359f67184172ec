"""WCAG 2.2 AA on every page: each GET route of the URL map (so a page added later is checked
without anyone listing it), opened by the visitors who may open it — signed out, a borrower, an
agent, a supervisor and an admin — on a 360 x 640 phone, and the main forms sent in error.

On each page: axe-core (every WCAG 2.0-2.2 A/AA rule, any impact) finds nothing; no sideways
scrolling at 360 px (1.4.10); every control at least 24 x 24 px or spaced as 2.5.8 allows (links
inside a sentence excepted); text at 200 % (1.4.4) clips nothing in the main content and needs no
sideways scrolling on a 1280 px screen.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from portal.web.access import BORROWER, PUBLIC
from tests import conftest as base
from tests.browser.conftest import serve_demo
from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import AXE, describe, new_context, sign_in
from tests.conftest import ROOT
from tests.fixtures.factories import dispute_maker, import_maker, payment_maker, plan_maker
from tests.test_access import (
    DESIGNED_5XX,
    OWNER,
    RULES,
    SAMPLE_ARGS,
    STAFF_USERS,
    _arguments,
    _expected,
    _fill,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
#: The axe tags of WCAG 2.2 level A and AA (2.0, 2.1 and 2.2 success criteria).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
VISITORS = ["anonymous", "owner", "agent", "supervisor", "admin"]
OWNER_EMAIL = "alex@example.com"

#: Controls smaller than 24 x 24 px, unless a link inside a sentence (2.5.8's inline exception)
#: or spaced so that a 24 px circle on each touches no other control (its spacing exception).
SMALL_TARGETS = """() => {
  const controls = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]')];
  const visible = controls.filter(e => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'
      && !e.closest('.visually-hidden, .skip-link');
  });
  const inSentence = e => {
    if (e.tagName !== 'A' || getComputedStyle(e).display !== 'inline') return false;
    const block = e.parentElement.closest('p, li, td, th, dd, dt, span, div, label, small');
    return block && block.textContent.trim().length > e.textContent.trim().length;
  };
  const boxes = visible.map(e => [e, e.getBoundingClientRect()]);
  const centre = r => [r.left + r.width / 2, r.top + r.height / 2];
  const spaced = (e, r) => boxes.every(([o, q]) => {
    if (o === e || o.contains(e) || e.contains(o)) return true;
    const [x, y] = centre(r);
    const dx = Math.max(q.left - x, 0, x - q.right), dy = Math.max(q.top - y, 0, y - q.bottom);
    return Math.hypot(dx, dy) >= 12;
  });
  return boxes.filter(([e, r]) => (r.width < 23.5 || r.height < 23.5) && !inSentence(e)
                      && !spaced(e, r))
    .map(([e, r]) => `${e.outerHTML.slice(0, 90)}: ${r.width.toFixed(1)} x ${r.height.toFixed(1)}`);
}"""
#: The innermost elements that reach past the right edge of the screen.
PAST_THE_EDGE = """() => [...document.querySelectorAll('body *')].filter(e =>
  e.getBoundingClientRect().right > innerWidth + 0.5
  && ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth + 0.5)
  && !e.closest('.table-scroll, .visually-hidden')).map(e => e.outerHTML.slice(0, 120))"""
#: Elements of the main content whose overflow is cut off (text lost when it grows).
CLIPPED = """() => [...document.querySelectorAll('main *')].filter(e => {
  const s = getComputedStyle(e);
  const cuts = v => v === 'hidden' || v === 'clip';
  if (e.closest('.visually-hidden') || e.getClientRects().length === 0) return false;
  return (cuts(s.overflowX) && e.scrollWidth > e.clientWidth + 1)
      || (cuts(s.overflowY) && e.scrollHeight > e.clientHeight + 1);
}).map(e => e.outerHTML.slice(0, 90))"""


def _axe(page: Page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async tags => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    return result["violations"]


def check_page(page: Page) -> list[str]:
    """Everything wrong with the page open in `page` (a phone-sized context), as sentences."""
    problems = []
    violations = _axe(page)
    if violations:
        problems.append(f"axe: {describe(violations)}")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    if width > page.evaluate("innerWidth"):
        problems.append(f"{width} px wide at 360 px: it scrolls sideways, past the edge: "
                        f"{page.evaluate(PAST_THE_EDGE)}")
    small = page.evaluate(SMALL_TARGETS)
    if small:
        problems.append(f"targets under 24 x 24 px: {small}")
    page.set_viewport_size(DESKTOP)
    try:
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > DESKTOP["width"]:
            problems.append(f"text at 200 %: {width} px wide at {DESKTOP['width']} px")
        clipped = page.evaluate(CLIPPED)
        if clipped:
            problems.append(f"text at 200 % is clipped in: {clipped}")
    finally:
        page.evaluate("document.documentElement.style.fontSize = ''")
        page.set_viewport_size(PHONE)
    return problems


def _samples(live) -> None:
    """SAMPLE_ARGS's rows (tests/test_access.py) on NWB-1001, so each page about one is real."""
    from portal.extensions import db
    from tests.test_access import _sample_colleague

    database = base.TestDatabase(live.app, db, None)  # commits for real: its own database
    payment_maker(database)("NWB-1001", 5000, "succeeded",
                            public_id=uuid.UUID(SAMPLE_ARGS["payment_id"]))
    dispute_maker(database)("NWB-1001", dispute_id=900001, file_id=900001)
    plan_maker(database)("NWB-1001", plan_id=900001)
    import_maker(database)("NWB-1001", import_id=900002)
    database.run(_sample_colleague)


@pytest.fixture(scope="module")
def wcag_app(server_url, worker, stripe_emulator):
    """A served demo app of this module's own, holding the samples every page needs."""
    with serve_demo(server_url, f"portal_wcag_{worker}", stripe_emulator.url) as live:
        _samples(live)
        yield live


def _pages_for(visitor: str) -> list[str]:
    """The GET paths `visitor` may open, filled with the samples."""
    paths = []
    for rule, _endpoint, methods, access in RULES:
        if "GET" not in methods or rule.startswith(("/api/", "/hooks/")):
            continue
        arguments = _arguments(rule)
        if access == PUBLIC:
            allowed = visitor == "anonymous"
        elif access == BORROWER or (access or "").startswith("staff:"):
            allowed = visitor != "anonymous" and _expected(access, visitor, bool(arguments)) == \
                "allowed"
        else:
            allowed = False
        if allowed:
            paths.append(_fill(rule, arguments))
    return paths


def _become(page: Page, live, visitor: str) -> None:
    if visitor == "owner":
        sign_in(page, live.url, *OWNER, OWNER_EMAIL)
    elif visitor != "anonymous":
        staff_sign_in(page, live.url, live.app, STAFF_USERS[visitor])


def test_every_visitor_is_offered_pages():
    """The crawl below reaches each kind of page: a change to the URL map cannot empty it."""
    assert "/sign-in" in _pages_for("anonymous")
    assert "/accounts/NWB-1001/pay" in _pages_for("owner")
    assert "/staff/disputes/D-900001" in _pages_for("agent")
    assert "/staff/admin/people" in _pages_for("admin")


@pytest.mark.parametrize("visitor", VISITORS)
def test_every_page_meets_wcag_22_aa(browser, wcag_app, visitor):
    context = new_context(browser, bypass_csp=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    found: dict[str, list[str]] = {}
    checked = []
    try:
        _become(page, wcag_app, visitor)
        for path in _pages_for(visitor):
            # Asked first with the page's cookies: a file would start a download, not a page.
            response = page.request.get(f"{wcag_app.url}{path}")
            assert response.status < 500 or response.status == DESIGNED_5XX.get(path), path
            if "text/html" not in response.headers.get("content-type", ""):
                continue  # a PDF, a CSV, JSON or a metric: no page to read
            page.goto(f"{wcag_app.url}{path}")
            if not page.locator("main").count():
                continue  # a fragment (htmx swaps it into a page checked here)
            checked.append(path)
            problems = check_page(page)
            if problems:
                found[path] = problems
    finally:
        context.close()
    assert len(checked) >= 3, checked
    assert not found, "\n\n".join(f"{path}:\n" + "\n".join(p) for path, p in found.items())


#: The forms sent in error, by whom: (visitor, page, what to fill in before sending).
FORMS_IN_ERROR = [
    ("anonymous", "/sign-in", {}),
    ("anonymous", "/staff/sign-in", {"Email": "nobody@demo.test"}),
    ("owner", "/accounts/NWB-1001/pay", {"Another amount": True, "Amount (USD)": "lots"}),
    ("owner", "/accounts/NWB-1001/dispute", {}),
    ("owner", "/accounts/NWB-1001/plan", {}),
    # The console's commission terms form (the statements page's first form with fields).
    ("admin", "/staff/statements/NWB", {"Rates, one a line": "25 percent"}),
]


@pytest.mark.parametrize("visitor", sorted({v for v, _p, _f in FORMS_IN_ERROR}))
def test_forms_in_error_meet_wcag_22_aa(browser, wcag_app, visitor):
    """Each main form sent empty or wrong (the browser's own checks off, as without them): the
    errors are shown, each tied to its field (aria-invalid, aria-describedby naming the message)
    and marked in words, and the page passes every check."""
    context = new_context(browser, bypass_csp=True)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    found: dict[str, list[str]] = {}
    try:
        _become(page, wcag_app, visitor)
        for who, path, fill in FORMS_IN_ERROR:
            if who != visitor:
                continue
            page.goto(f"{wcag_app.url}{path}")
            form = page.locator("main form[method=post]").filter(
                has=page.locator("input:not([type=hidden]), select, textarea")).first
            form.evaluate("f => f.noValidate = true")
            for label, value in fill.items():
                field = form.get_by_label(label, exact=True)
                field.check() if value is True else field.fill(value)
            form.locator("button[type=submit], button:not([type])").last.click()
            page.wait_for_load_state()
            # A field's own message, or (for what no one field holds: "a monthly amount or a
            # number of months") one for the form, announced as an alert.
            expect(page.locator("main .error, main [aria-invalid=true], main [role=alert]")
                   .first).to_be_attached()
            problems = _unexplained(page) + check_page(page)
            if problems:
                found[f"{path} in error"] = problems
    finally:
        context.close()
    assert not found, "\n\n".join(f"{path}:\n" + "\n".join(p) for path, p in found.items())


def _unexplained(page: Page) -> list[str]:
    """Errors not tied to their fields: an invalid field no message describes, or a message
    (`.error`) no field or group names in its aria-describedby; and a message said by colour
    alone (an error is marked in words, "Error:", besides its colour)."""
    return page.evaluate("""() => {
      const described = el => (el.getAttribute('aria-describedby') || '').split(/\\s+/)
        .map(id => document.getElementById(id)).filter(Boolean);
      const problems = [];
      for (const field of document.querySelectorAll('[aria-invalid=true]')) {
        if (!described(field).some(e => e.textContent.trim()))
          problems.push(`${field.outerHTML.slice(0, 90)}: no message tied to it`);
      }
      const tied = new Set([...document.querySelectorAll('[aria-describedby]')]
        .flatMap(described));
      for (const message of document.querySelectorAll('main .error')) {
        if (!tied.has(message)) problems.push(`"${message.textContent.trim()}": tied to no field`);
        if (!message.querySelector('.error__prefix'))
          problems.push(`"${message.textContent.trim()}": said by its colour alone`);
      }
      return problems;
    }""")


# --- keyboard only ------------------------------------------------------------------------------

#: Whether the focused element shows it (an outline or a ring), and what it is.
FOCUS = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
    || s.boxShadow !== 'none';
  return {ring, body: e === document.body, what: `${e.outerHTML.slice(0, 90)} (outline `
    + `${s.outlineStyle} ${s.outlineWidth}, shadow ${s.boxShadow}, :focus ${e.matches(':focus')})`};
}"""


def tab_to(page: Page, target, most: int = 80) -> None:
    """Press Tab until `target` (a locator) has the focus, each stop's focus visible."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        if not focus["body"]:
            assert focus["ring"], f"focus not visible on {focus['what']}"
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{target} never reached with Tab")


def test_keyboard_only_sign_in_pay_plan_and_dispute(browser, wcag_app):
    """Tab and Enter (Space to tick a box, an arrow to choose a radio button, letters to type),
    no mouse: sign in, pay up to the
    card form, propose a plan and dispute a debt, the focus visible at every stop."""
    from tests.browser.test_sign_in_browser import latest_code

    context = new_context(browser)
    page = context.new_page()
    base = wcag_app.url
    try:
        page.goto(f"{base}/sign-in")
        tab_to(page, page.get_by_label("Reference number"))
        page.keyboard.type(OWNER[0])
        year, month, day = OWNER[1].split("-")
        for part, value in (("Day", day), ("Month", month), ("Year", year)):
            tab_to(page, page.get_by_role("group", name="Date of birth").get_by_label(part))
            page.keyboard.type(value)
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("Get your sign-in code")
        # The first way (a text message) has the focus with Tab; an arrow key picks email.
        tab_to(page, page.get_by_role("radio").first)
        page.keyboard.press("ArrowDown")
        expect(page.get_by_label(re.compile(r"^Email to "))).to_be_checked()
        tab_to(page, page.get_by_role("button", name="Send code"))
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("Enter your code")
        tab_to(page, page.get_by_label("Six-digit code"))
        code = latest_code(context, base, OWNER_EMAIL)  # read in another tab: come back
        page.bring_to_front()
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("Your accounts")

        # Pay, up to the card form.
        tab_to(page, page.get_by_role("link", name="See the details of LUM-1001"))
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/accounts/LUM-1001")
        tab_to(page, page.get_by_role("link", name="Make a payment"))
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("Make a payment")
        tab_to(page, page.get_by_role("button", name="Continue to card details"))
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_contain_text("Pay $")
        expect(page.get_by_role("group", name="Card details")).to_be_visible()

        # A plan: the schedule, swapped in as the borrower types, is announced (aria-live).
        page.goto(f"{base}/accounts/LUM-1001")
        tab_to(page, page.get_by_role("link", name="Set up a plan"))
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("Set up a plan")
        tab_to(page, page.get_by_label("Or: number of months"))
        page.keyboard.type("12")
        preview = page.locator("#plan-preview")
        expect(preview).to_have_attribute("aria-live", "polite")
        expect(preview.locator("table")).to_be_visible()
        focused = page.evaluate("document.activeElement.id")
        assert focused == "months", f"the swap took the focus away from the field: {focused}"
        tab_to(page, page.get_by_role("button", name="Send my proposal"))
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_contain_text("Your plan P-")

        # A dispute.
        page.goto(f"{base}/accounts/LUM-1001")
        tab_to(page, page.get_by_role("link", name="Dispute this debt", exact=True))
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("Dispute this debt")
        tab_to(page, page.get_by_label("I already paid it"))
        page.keyboard.press("Space")
        tab_to(page, page.get_by_role("button", name="Send my dispute"))
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_contain_text("Your dispute D-")
    finally:
        context.close()


# --- screenshots of the main journeys, in each language -----------------------------------------

#: Where the screenshots go (git-ignored): README, "Accessibility", shows two of them.
SHOTS = ROOT / "screenshots"
LANGUAGES = {"en": "en", "es": "es", "zh": "zh-Hans"}
JOURNEYS = {
    "account": "/accounts/NWB-1001",
    "pay": "/accounts/NWB-1001/pay",
    "plan": "/accounts/NWB-1001/plan",
    "dispute": "/accounts/NWB-1001/dispute",
}


def choose_language(page: Page, code: str) -> None:
    """The language switch every page has (its footer form), as a borrower uses it."""
    page.locator(".language-form select").select_option(code)
    page.locator(".language-form button").click()
    expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[code])


def test_screenshots_of_the_main_journeys_in_three_languages(browser, wcag_app):
    """Sign-in, the account page, pay, plan and dispute on a 360 px phone, in English, Spanish
    and Simplified Chinese, saved as screenshots/<journey>-<language>.png."""
    SHOTS.mkdir(exist_ok=True)
    saved = []

    def shoot(page: Page, name: str) -> None:
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, caret="initial")
        saved.append(path)

    anonymous = new_context(browser)
    try:
        page = anonymous.new_page()
        page.goto(f"{wcag_app.url}/sign-in")
        for code in LANGUAGES:
            choose_language(page, code)
            shoot(page, f"sign-in-{code}")
    finally:
        anonymous.close()
    context = new_context(browser)
    try:
        page = context.new_page()
        _become(page, wcag_app, "owner")
        for code in LANGUAGES:
            choose_language(page, code)
            for journey, path in JOURNEYS.items():
                page.goto(f"{wcag_app.url}{path}")
                expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[code])
                shoot(page, f"{journey}-{code}")
    finally:
        context.close()
    assert len(saved) == 15 and all(p.stat().st_size > 10_000 for p in saved), saved


# --- the borrower's pages in Spanish and in Simplified Chinese ----------------------------------

#: The borrowers who read each language (demo data), their sign-in details and their account.
READERS = {
    "es": ("DEMO-1002", "1979-07-30", "maria@example.com", "NWB-1002"),  # María López
    "zh": ("DEMO-2001", "1990-09-02", "wangfang@example.com", "JRF-2001"),  # 王芳
}
#: What each browser says it reads (its Accept-Language), signed out.
BROWSER_LOCALES = {"es": "es-US", "zh": "zh-CN"}
#: The signed-out pages a borrower (or their helper) meets first.
SIGNED_OUT = ["/sign-in", "/helper/sign-in"]
ACCOUNT_ARGUMENTS = {"reference", "account_ref", "account_reference"}
CJK = re.compile(r"[\u3400-\u9fff]")


def _borrower_pages(account: str) -> list[str]:
    """The borrower's own GET pages that need nothing but their account (accounts, an account,
    pay, plan, dispute, contact preferences, helpers, your data), filled with `account`."""
    paths = []
    for rule, _endpoint, methods, access in RULES:
        arguments = _arguments(rule)
        if access == BORROWER and "GET" in methods and set(arguments) <= ACCOUNT_ARGUMENTS:
            path = rule
            for name in arguments:
                path = path.replace(f"<{name}>", account)
            paths.append(path)
    return paths


def _in_language(page: Page, code: str) -> list[str]:
    """What says the page is not in language `code`: its `lang` attribute, the language switch,
    and (for Chinese, which no English page could pass for) its main content's words. Its
    heading may be the creditor's own words ("Jade River Consumer Finance · Online loan")."""
    problems = []
    lang = page.locator("html").get_attribute("lang")
    if lang != LANGUAGES[code]:
        problems.append(f'<html lang="{lang}">, not "{LANGUAGES[code]}"')
    chosen = page.locator(".language-form select").input_value()
    if chosen != code:
        problems.append(f"the language switch shows {chosen!r}, not {code!r}")
    words = page.locator("main").inner_text()
    if code == "zh" and not CJK.search(words):
        problems.append(f"nothing in Chinese: {words[:120]!r}")
    return problems


def _sign_in_anywhere(page: Page, live, reference: str, born: str, email: str,
                      visit) -> None:
    """Sign in through the pages by their fields, not their words (in any language), checking
    each page of the way with `visit`."""
    from portal.identity.rules import mask_email
    from tests.browser.test_sign_in_browser import latest_code

    year, month, day = born.split("-")
    page.locator("#reference").fill(reference)
    for field, value in (("#dob_day", day), ("#dob_month", month), ("#dob_year", year)):
        page.locator(field).fill(value)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live.url}/sign-in/send-code")
    visit(page)
    page.locator(".radio label").filter(has_text=mask_email(email)).click()
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live.url}/sign-in/code")
    visit(page)
    page.locator("#code").fill(latest_code(page.context, live.url, email))
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live.url}/accounts/")


@pytest.mark.parametrize("code", sorted(READERS))
def test_borrower_pages_meet_wcag_22_aa_in_spanish_and_chinese(browser, wcag_app, code):
    """María López (Spanish) and 王芳 (Simplified Chinese), each in a browser that reads her
    language: the sign-in pages signed out, then every page of her own that needs only her
    account, and her dispute and plan forms in error, each checked as above (axe, 360 px, 24 px
    targets, text at 200 %, errors tied to fields) and shown in her language (`lang`, the
    switch, Chinese words)."""
    reference, born, email, account = READERS[code]
    context = new_context(browser, bypass_csp=True, locale=BROWSER_LOCALES[code])
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.set_viewport_size(PHONE)
    found: dict[str, list[str]] = {}
    checked = []

    def visit(page: Page) -> None:
        path = page.url.removeprefix(wcag_app.url)
        checked.append(path)
        problems = _in_language(page, code) + check_page(page)
        if problems:
            found[path] = problems

    try:
        for path in SIGNED_OUT:
            page.goto(f"{wcag_app.url}{path}")
            visit(page)
        page.goto(f"{wcag_app.url}/sign-in")
        _sign_in_anywhere(page, wcag_app, reference, born, email, visit)
        for path in _borrower_pages(account):
            response = page.request.get(f"{wcag_app.url}{path}")
            assert response.status < 500, path
            if "text/html" not in response.headers.get("content-type", ""):
                continue  # the data download (PDF, JSON)
            page.goto(f"{wcag_app.url}{path}")
            if page.locator("main").count():
                visit(page)
        # Her dispute and plan forms sent empty: the errors in her language, tied to fields.
        for path in (f"/accounts/{account}/dispute", f"/accounts/{account}/plan"):
            page.goto(f"{wcag_app.url}{path}")
            form = page.locator("main form[method=post]").filter(
                has=page.locator("input:not([type=hidden]), select, textarea")).first
            form.evaluate("f => f.noValidate = true")
            form.locator("button[type=submit], button:not([type])").last.click()
            page.wait_for_load_state()
            expect(page.locator("main .error, main [aria-invalid=true], main [role=alert]")
                   .first).to_be_attached()
            checked.append(f"{path} in error")
            problems = _in_language(page, code) + _unexplained(page) + check_page(page)
            if problems:
                found[f"{path} in error"] = problems
    finally:
        context.close()
    must = {"/sign-in", "/sign-in/code", "/accounts/", f"/accounts/{account}",
            f"/accounts/{account}/pay", f"/accounts/{account}/plan",
            f"/accounts/{account}/dispute", "/contact-preferences/", "/your-data/",
            f"/accounts/{account}/dispute in error", f"/accounts/{account}/plan in error"}
    assert must <= set(checked), sorted(must - set(checked))
    assert not found, "\n\n".join(f"{path}:\n" + "\n".join(p) for path, p in found.items())
