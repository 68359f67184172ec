"""Issue 14's "Done when", walked through once in a real browser with axe on every page: a
supervisor (run_imports; agents only preview) uploads a placement file with one bad row and is
told the row and field, fixes it and imports it (the real job worker places it); the new
borrower finds the sign-in reference in their first letter and the code at /dev/messages (demo
mode's post and email), signs in and reads the account and its validation notice; the account
is recalled in the console; and the dialer API answers "no" with the recall's rule at once. Its
people and accounts are its own, so other modules' are untouched."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.placements.tasks import QUEUE
from tests.browser.conftest import JobWorker
from tests.browser.test_disputes_browser import staff_sign_in
from tests.browser.test_sign_in_browser import (
    assert_accessible,
    axe_violations,
    new_context,
    sign_in,
)
from tests.test_console_imports import HEADER

pytestmark = pytest.mark.browser

SUPERVISOR = "supervisor@demo.test"
QUINN = ("NW-88001,Quinn,Harper,1987-06-15,4321,77 Lark St,,Albany,NY,12210,US,"
         "+1 518 555 0177,quinn.harper@example.com,en,USD,1500.00,20.00,0,2026-02-01,,,")
RILEY = ("NW-88002,Riley,Stone,1979-11-30,8765,5 Birch Rd,,Rochester,NY,14604,US,"
         "+1 585 555 0166,riley.stone@example.com,en,USD,640.00,0,12.50,2026-02-01,,,")
#: Riley's row with an amount the file's currency cannot have (three decimals for USD).
RILEY_BAD = RILEY.replace("640.00", "640.005")
KEY = "demo-dialer-key"


def _preview(page, base_url: str, *rows: str) -> None:
    body = ("\n".join((HEADER, *rows)) + "\n").encode()
    page.goto(f"{base_url}/staff/imports")
    page.get_by_label("Creditor").select_option(label="Northwind Bank")
    page.get_by_label("Placement file (CSV)").set_input_files(
        {"name": "northwind-march.csv", "mimeType": "text/csv", "buffer": body})
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("h1")).to_have_text("Preview of northwind-march.csv")


def _decision(page, base_url: str, account_ref: str) -> dict:
    """The dialer's question, by the demo key: may we write to this borrower now?"""
    answer = page.request.post(f"{base_url}/api/v1/contact-decisions",
                               headers={"Authorization": f"Bearer {KEY}"},
                               data={"account_ref": account_ref, "channel": "letter"})
    assert answer.status == 200, answer.text()
    return answer.json()


def _letter(context, base_url: str, last_four: str) -> tuple[str, str]:
    """The newest first letter about the account ending `last_four`, as captured at
    /dev/messages (the post, in demo mode): its account reference and the sign-in reference it
    gives the borrower."""
    messages = context.new_page()
    try:
        messages.goto(f"{base_url}/dev/messages")
        letter = messages.locator("article.message").filter(
            has_text=f"account number ****{last_four}").first
        body = letter.locator(".message__body").inner_text()
    finally:
        messages.close()
    account = re.search(r"Reference: (NWB-[A-Z0-9]+)\.", body)
    sign_in = re.search(r"sign in with the reference (P-[A-Z0-9]+) and your date of birth", body)
    assert account and sign_in, body
    return account.group(1), sign_in.group(1)


def test_import_a_fixed_file_the_borrower_reads_the_notice_a_recall_stops_contact(
        browser, live_app, tmp_path, screenshot):
    base_url = live_app.url
    # Our CSP rightly refuses the injected axe script: these contexts alone bypass it.
    staff = new_context(browser, bypass_csp=True)
    page = staff.new_page()
    found: dict[str, list[dict]] = {}
    worker = JobWorker(live_app.app, [QUEUE])
    worker.start()
    try:
        staff_sign_in(page, base_url, live_app.app, SUPERVISOR)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
        found["imports"] = axe_violations(page)

        _preview(page, base_url, QUINN, RILEY_BAD)
        problems = page.get_by_role("alert")
        expect(problems).to_contain_text("Row 3, principal: more decimals than USD has")
        expect(problems).to_contain_text("Nothing was imported.")
        expect(problems).not_to_contain_text("Row 2")
        expect(page.get_by_role("button", name=re.compile("^Confirm and import"))) \
            .to_have_count(0)
        found["preview: one bad row"] = axe_violations(page)

        _preview(page, base_url, QUINN, RILEY)
        expect(page.get_by_role("status").filter(has_text="Every row can be read")).to_be_visible()
        found["preview: fixed"] = axe_violations(page)
        page.get_by_role("button", name="Confirm and import 2 rows").click()
        expect(page.locator("h1")).to_have_text(re.compile(r"^Import \d+$"))
        progress = page.locator("#import-progress")
        expect(progress.locator("h2")).to_have_text("State: Done", timeout=30_000)
        expect(progress).to_contain_text("2 of 2 rows placed")
        references = page.locator("ul.references li").all_inner_texts()
        assert len(references) == 2 and all(r.startswith("NWB-") for r in references)
        screenshot(page, "walkthrough-import-done")
        found["import done"] = axe_violations(page)
    finally:
        worker.stop()

    borrower = new_context(browser, bypass_csp=True)
    mine = borrower.new_page()
    try:
        # The first letter tells the new borrower where and with what to sign in.
        account_ref, sign_in_ref = _letter(borrower, base_url, "8001")
        assert account_ref in references
        sign_in(mine, base_url, sign_in_ref, "1987-06-15", "quinn.harper@example.com")
        found["new borrower's accounts"] = axe_violations(mine)
        card = mine.locator(".card").filter(has_text=account_ref)
        expect(card).to_contain_text("$1,520.00")
        mine.get_by_role("link", name=f"See the details of {account_ref}").click()
        expect(mine.locator("h1")).to_contain_text("Northwind Bank")
        notice = mine.locator("section.notice")
        expect(notice.get_by_role("heading", name="Your validation notice")).to_be_visible()
        expect(notice).to_contain_text("Demo Collections is a debt collector.")
        expect(notice).to_contain_text("account number ****8001")
        expect(notice.locator("tr.notice__total")).to_contain_text("$1,520.00")
        expect(notice).to_contain_text("Call or write to us by")
        screenshot(mine, "walkthrough-new-borrower-notice")
        found["new borrower's account with its notice"] = axe_violations(mine)

        # Before the recall, a letter may go (the notice's period limits, it does not block).
        before = _decision(page, base_url, account_ref)
        assert before["allowed"] is True, before

        recall_file = tmp_path / "recall.csv"
        recall_file.write_text("creditor_account_id\nNW-88001\n")
        page.goto(f"{base_url}/staff/recalls")
        found["recalls"] = axe_violations(page)
        page.get_by_label("Creditor").select_option("NWB")
        page.get_by_label("Recall file (CSV)").set_input_files(str(recall_file))
        page.get_by_role("button", name="Check the file").click()
        expect(page.locator("main")).to_contain_text("1 account will be recalled")
        expect(page.locator("main")).to_contain_text(account_ref)
        found["recall preview"] = axe_violations(page)
        page.get_by_role("button", name="Recall 1 account").click()
        expect(page.locator("main")).to_contain_text("1 account(s) recalled for Northwind Bank")
        found["after the recall"] = axe_violations(page)

        after = _decision(page, base_url, account_ref)
        assert after["allowed"] is False, after
        blocks = [r for r in after["reasons"] if r["effect"] == "block"]
        assert [r["rule"] for r in blocks] == ["creditor.recalled"], after

        mine.reload()
        expect(mine.locator("main")).to_contain_text(
            "This account has been returned to Northwind Bank.")
        found["borrower's recalled account"] = axe_violations(mine)
    finally:
        borrower.close()
        staff.close()
    assert_accessible(found)
