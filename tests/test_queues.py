"""The staff queues (issue 15): each lists what belongs in it and nothing else, sorts, filters
and pages as asked, shows another agency nothing, and answers a bad query string with a 400."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from portal.accounts.models import Account, Creditor
from portal.casework.actions import PAUSE_KEY
from portal.contact.models import ContactAttempt, ContactHold
from portal.disputes.models import Dispute
from portal.identity.models import StaffUser
from portal.messaging.models import OutgoingMessage
from portal.payments.models import Payment
from portal.placements.models import PlacementImport
from portal.plans.models import PaymentPlan
from portal.queues.paging import PAGE_SIZE
from portal.queues.week import this_week
from tests.fixtures.factories import import_maker, payment_maker

AGENT = "agent@demo.test"
SUPERVISOR = "supervisor@demo.test"
HARBOR_AGENT = "agent@harbor.test"
HARDSHIP = {"kind": "hardship", "months": "", "hardship_reason": "job_loss",
            "pause_days": "30", "monthly": "25.00"}
PATHS = {
    "plans": "/staff/plans", "hardship": "/staff/queues/hardship", "disputes": "/staff/disputes",
    "violations": "/staff/queues/contact-violations", "holds": "/staff/queues/holds-ending",
    "chargebacks": "/staff/queues/chargebacks", "bounced": "/staff/queues/bounced-messages",
    "imports": "/staff/queues/imports-waiting", "corrections": "/staff/queues/corrections",
}
NOW = datetime.now(UTC)


def _account(reference: str) -> Account:
    from portal.extensions import db

    return db.session.scalar(select(Account).where(Account.reference == reference))


def _staff(email: str) -> StaffUser:
    from portal.extensions import db

    return db.session.scalar(select(StaffUser).where(StaffUser.email == email))


def _attempt(reference: str, reported_by: str, at: datetime, violation: bool = True,
             channel: str = "call") -> ContactAttempt:
    return ContactAttempt(account_id=_account(reference).id, channel=channel, at=at,
                          outcome="no_answer", direction="outbound", reported_by=reported_by,
                          violation=violation,
                          violated_rules=["us.inconvenient-hours"] if violation else [],
                          recorded_at=at)


def _message(reference: str, status: str) -> OutgoingMessage:
    account = _account(reference)
    return OutgoingMessage(channel="email", destination="someone@example.com", subject="About",
                           text="Hello", language="en", kind="statement",
                           borrower_id=account.borrower_id, account_id=account.id,
                           status=status, next_try_at=NOW, created_at=NOW,
                           error="550 mailbox unavailable" if status == "failed" else None)


def _pause(reference: str, until: date) -> None:
    from portal.casework import actions

    actions.pause_contact(_staff(SUPERVISOR), reference, until, "Borrower in hospital", None)


def _local_today(email: str) -> date:
    from zoneinfo import ZoneInfo

    return NOW.astimezone(ZoneInfo(_staff(email).shown_time_zone)).date()


@pytest.fixture
def seeded(db, demo, make_dispute, make_plan):
    """In Demo Collections, for each queue one item that belongs (its marker: the link the row
    has) and one that does not; in Harbor Recovery, items of its own. Returns both."""
    from portal.extensions import db as database

    belongs, absent = {}, {}
    # Disputes: one open; one resolved.
    belongs["disputes"] = make_dispute("NWB-1001").number
    closed = make_dispute("LUM-1001").number
    db.execute(update(Dispute).where(Dispute.id == int(closed[2:])).values(status="resolved"))
    absent["disputes"] = closed
    # Plans: a proposal referred to a person; an approved one (the borrower's turn).
    referred = make_plan("LUM-1001").number
    db.execute(update(PaymentPlan).where(PaymentPlan.id == int(referred[2:]))
               .values(status="referred"))
    belongs["plans"] = referred
    absent["plans"] = make_plan("NWB-1002").number
    # Hardship: a request waiting for a person; it is not in the plans queue either.
    belongs["hardship"] = make_plan("NWB-1001", **HARDSHIP).number
    absent["hardship"] = referred
    # Violations: a partner's and an agent's blocked contacts; an allowed contact.
    agent_id = db.run(lambda: _staff(AGENT).id)
    db.run(lambda: database.session.add_all([
        _attempt("NWB-1001", "key:demo-dialer", NOW - timedelta(hours=3)),
        _attempt("LUM-1001", str(agent_id), NOW - timedelta(hours=1)),
        _attempt("NWB-1002", "key:demo-dialer", NOW - timedelta(hours=2), violation=False)]))
    belongs["violations"] = "NWB-1001"
    absent["violations"] = "NWB-1002"
    # Holds: a pause ending tonight; one ending after this week; one lifted.
    today = db.run(_local_today, SUPERVISOR)
    db.run(_pause, "NWB-1001", today)
    db.run(_pause, "NWB-1002", today + timedelta(days=10))
    belongs["holds"], absent["holds"] = "NWB-1001", "NWB-1002"
    # Chargebacks: a payment charged back; a payment that was not.
    payments = payment_maker(db)
    payments("NWB-1001", 5000, "succeeded")
    payments("NWB-1002", 4000, "succeeded")
    db.execute(update(Payment).where(Payment.account_id == db.run(
        lambda: _account("NWB-1001").id)).values(charged_back_minor=5000,
                                                 chargeback_id="dp_queue_test"))
    belongs["chargebacks"], absent["chargebacks"] = "NWB-1001", "NWB-1002"
    # Bounced: a message that failed for good; one delivered.
    db.run(lambda: database.session.add_all([_message("NWB-1001", "failed"),
                                             _message("NWB-1002", "delivered")]))
    belongs["bounced"], absent["bounced"] = "NWB-1001", "NWB-1002"
    # Imports: one waiting for the worker; one done.
    imports = import_maker(db)
    waiting, done = imports("NWB-1001"), imports("NWB-1002")
    db.execute(update(PlacementImport).where(PlacementImport.id == waiting)
               .values(state="ready"))
    belongs["imports"], absent["imports"] = f"#{waiting}", f"#{done}"
    # Corrections: one waiting; one answered.
    db.run(lambda: database.session.add_all([_correction("NWB-1001", answered=False),
                                             _correction("NWB-1002", answered=True)]))
    belongs["corrections"], absent["corrections"] = "NWB-1001", "NWB-1002"
    # Harbor Recovery's own: a dispute, a hardship request, a blocked contact.
    theirs = {"disputes": make_dispute("BRC-4001").number,
              "hardship": make_plan("BRC-4001", **HARDSHIP).number}
    db.run(lambda: database.session.add(
        _attempt("BRC-4001", "key:harbor-dialer", NOW - timedelta(hours=1))))
    theirs["violations"] = "BRC-4001"
    return belongs, absent, theirs


def _correction(reference: str, answered: bool):
    from portal.rights.models import CorrectionRequest

    account = _account(reference)
    return CorrectionRequest(borrower_id=account.borrower_id, account_id=account.id,
                             details="Please fix my name.", law="policy",
                             due_on=NOW.date() + timedelta(days=45), created_at=NOW,
                             answered_at=NOW if answered else None,
                             outcome="corrected" if answered else None)


def _rows(page) -> list[str]:
    """The text of every link in the queue's table rows, in order."""
    return [a.get_text() for a in page.soup.select("#queue-table tbody a")]


def _signed_in(make_person, staff_sign_in, email):
    staff = make_person()
    staff_sign_in(staff, email)
    return staff


@pytest.mark.parametrize("queue", sorted(PATHS))
def test_a_queue_lists_what_belongs_and_not_what_does_not(queue, seeded, make_person,
                                                          staff_sign_in):
    belongs, absent, theirs = seeded
    page = _signed_in(make_person, staff_sign_in, AGENT).get(PATHS[queue])
    assert page.status == 200
    links = _rows(page)
    assert belongs[queue] in links, (queue, links)
    assert absent[queue] not in links, (queue, links)
    if queue in theirs:
        assert theirs[queue] not in links and "Birchwood" not in page.text
    # Each row is one click from its case.
    if queue != "imports":
        row = next(a for a in page.soup.select("#queue-table tbody a")
                   if a.get_text() in ("NWB-1001", "LUM-1001"))
        assert row["href"] == f"/staff/accounts/{row.get_text()}"


@pytest.mark.parametrize("queue", sorted(PATHS))
def test_the_other_agency_sees_none_of_it(queue, seeded, make_person, staff_sign_in):
    belongs, _absent, theirs = seeded
    page = _signed_in(make_person, staff_sign_in, HARBOR_AGENT).get(PATHS[queue])
    assert page.status == 200
    links = _rows(page)
    assert not [m for m in ("NWB-1001", "NWB-1002", "LUM-1001", belongs[queue]) if m in links]
    assert "Northwind" not in page.text and "Lumen" not in page.text
    if queue in theirs:
        assert theirs[queue] in links


def test_the_index_counts_each_queue(seeded, make_person, staff_sign_in):
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    index = staff.get("/staff/queues")
    assert index.h1 == "Queues"
    shown = {}
    for row in index.soup.select("tbody tr"):
        link = row.select_one("a")
        shown[link["href"]] = int(row.select("td")[-1].get_text().replace(",", ""))
    assert sorted(shown) == sorted(PATHS.values())
    for path, n in shown.items():
        total = staff.get(path).soup.select_one("#queue-table-heading .small").get_text()
        assert total.strip("()").split()[0] == str(n), path
        assert n >= 1, path  # each holds at least the seeded item
    # The other agency's index counts its own only: its one blocked contact, no chargebacks.
    theirs = _signed_in(make_person, staff_sign_in, HARBOR_AGENT).get("/staff/queues")
    counted = {row.select_one("a")["href"]: row.select("td")[-1].get_text()
               for row in theirs.soup.select("tbody tr")}
    assert counted[PATHS["violations"]] == "1" and counted[PATHS["chargebacks"]] == "0"


def test_sorting_by_a_column_and_back(seeded, make_person, staff_sign_in):
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    path = PATHS["violations"]
    newest_first = [r for r in _rows(staff.get(path)) if r in ("NWB-1001", "LUM-1001")]
    assert newest_first == ["LUM-1001", "NWB-1001"]
    oldest_first = [r for r in _rows(staff.get(f"{path}?sort=at")) if r in newest_first]
    assert oldest_first == ["NWB-1001", "LUM-1001"]
    page = staff.get(f"{path}?sort=account")
    heading = page.soup.select_one('#queue-table th[aria-sort="ascending"] a')
    assert heading.get_text().startswith("Account")
    assert "sort=-account" in heading["href"]  # the same heading reverses it
    accounts = [r for r in _rows(page) if "-" in r]
    assert accounts == sorted(accounts)


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("who=partner", ["NWB-1001"], ["LUM-1001"]),
    ("who=agent", ["LUM-1001"], ["NWB-1001"]),
    ("by=key:demo-dialer", ["NWB-1001"], ["LUM-1001"]),
    ("channel=sms", [], ["NWB-1001", "LUM-1001"]),
    ("rule=us.inconvenient-hours", ["NWB-1001", "LUM-1001"], []),
])
def test_filtering_the_blocked_contacts(query, shown, hidden, seeded, make_person,
                                        staff_sign_in):
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    links = _rows(staff.get(f"{PATHS['violations']}?{query}"))
    assert all(s in links for s in shown) and not any(h in links for h in hidden), links


def test_filtering_by_creditor_and_by_the_validation_flag(seeded, db, make_person,
                                                         staff_sign_in):
    belongs, _absent, _theirs = seeded
    lumen = db.scalar(select(Creditor.id).where(Creditor.code == "LUM"))
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    links = _rows(staff.get(f"{PATHS['violations']}?creditor={lumen}"))
    assert "LUM-1001" in links and "NWB-1001" not in links
    inside = db.scalar(select(Dispute.within_validation).where(
        Dispute.id == int(belongs["disputes"][2:])))
    flag = "inside" if inside else "outside"
    other = "outside" if inside else "inside"
    assert belongs["disputes"] in _rows(staff.get(f"/staff/disputes?validation={flag}"))
    assert belongs["disputes"] not in _rows(staff.get(f"/staff/disputes?validation={other}"))
    # The summary by partner and agent names the dialer, and links to its filter.
    page = staff.get(PATHS["violations"])
    summary = {a.get_text(): a["href"] for a in page.soup.select("main table")[0].select("a")}
    assert "Demo dialer" in summary and "by=key:demo-dialer" in summary["Demo dialer"]
    assert "Sam Agent" in summary and "Harvey Agent" not in summary


def test_paging_shows_page_n_of_m_with_next_and_previous(db, demo, make_person, staff_sign_in):
    from portal.extensions import db as database

    db.run(lambda: database.session.add_all([
        _attempt("NWB-1002", "key:demo-dialer", NOW - timedelta(minutes=n))
        for n in range(PAGE_SIZE + 5)]))
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    path = PATHS["violations"]
    first = staff.get(f"{path}?sort=at")
    total = int(first.soup.select_one("#queue-table-heading .small").get_text().strip("()")
                .split()[0])
    pages = -(-total // PAGE_SIZE)
    assert pages >= 2 and f"Page 1 of {pages}" in first.text
    assert len(first.soup.select("#queue-table tbody tr")) == PAGE_SIZE
    following = first.soup.select_one('#queue-table a[rel="next"]')["href"]
    assert "page=2" in following and "sort=at" in following
    assert first.soup.select_one('#queue-table a[rel="prev"]') is None
    last = staff.get(f"{path}?sort=at&page={pages}")
    assert f"Page {pages} of {pages}" in last.text
    assert len(last.soup.select("#queue-table tbody tr")) == total - (pages - 1) * PAGE_SIZE
    assert last.soup.select_one('#queue-table a[rel="next"]') is None
    before = staff.get(last.soup.select_one('#queue-table a[rel="prev"]')["href"])
    assert f"Page {pages - 1} of {pages}" in before.text
    # A page past the last shows the last.
    assert f"Page {pages} of {pages}" in staff.get(f"{path}?page={pages + 7}").text


@pytest.mark.parametrize("query", [
    "sort=bogus", "sort=-", "sort=at;DROP TABLE dispute", "page=-1", "page=0", "page=abc",
    "page=1.5", "page=99999999999999999999", "creditor=abc", "creditor=-3", "who=robot",
    "channel=pigeon", "by=" + "x" * 61,
])
def test_a_bad_query_string_is_a_clear_400(query, demo, make_person, staff_sign_in):
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    response = staff.client.get(f"{PATHS['violations']}?{query}")
    assert response.status_code == 400, query
    assert "does not offer" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", sorted(PATHS.values()))
def test_every_queue_refuses_bad_pages_and_sorts(path, demo, make_person, staff_sign_in):
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    for query in ("page=abc", "sort=nope", "page=-1"):
        assert staff.client.get(f"{path}?{query}").status_code == 400, (path, query)
    assert staff.client.get(f"{path}?creditor=999999").status_code == 200  # none of ours: empty


def test_htmx_swaps_the_table_alone(seeded, make_person, staff_sign_in):
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    response = staff.client.get(f"{PATHS['disputes']}?sort=-opened",
                                headers={"HX-Request": "true", "HX-Target": "queue-table"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<section id="queue-table"')
    assert "<html" not in body and "HX-Target" in response.headers["Vary"]
    assert seeded[0]["disputes"] in body
    whole = staff.client.get(f"{PATHS['disputes']}?sort=-opened",
                             headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in whole.get_data(as_text=True)


def test_holds_ending_this_week_are_judged_in_the_staff_members_zone(seeded, db, make_person,
                                                                     staff_sign_in):
    """A hold ending just inside the week on the staff member's clock is listed; one ending
    just after it is not (the same instants, judged in UTC, could fall the other way)."""
    from portal.extensions import db as database

    # Fourteen hours ahead of UTC: its week starts and ends on other instants than UTC's.
    zone = "Pacific/Kiritimati"
    db.execute(update(StaffUser).where(StaffUser.email == AGENT).values(time_zone=zone))
    start, end = this_week(NOW, zone)
    assert (start, end) != this_week(NOW, "UTC")
    hold = db.scalar(select(ContactHold).where(
        ContactHold.account_id == db.run(lambda: _account("NWB-1001").id),
        ContactHold.key == PAUSE_KEY, ContactHold.ended_at.is_(None)))
    staff = _signed_in(make_person, staff_sign_in, AGENT)
    for until, listed in ((end, True), (end + timedelta(seconds=1), False),
                          (start, True), (start - timedelta(seconds=1), False)):
        db.run(lambda u=until: database.session.execute(
            update(ContactHold).where(ContactHold.id == hold.id).values(until=u)))
        assert ("NWB-1001" in _rows(staff.get(PATHS["holds"]))) is listed, until
