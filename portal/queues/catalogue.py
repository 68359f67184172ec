"""The queues, as people see them: each one's title, columns, sorts and filters, and who may
open it (the permission is from the one roles table). The queries are in service.py."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.disputes.rules import OPEN
from portal.identity.roles import (
    ANSWER_CORRECTIONS,
    VIEW_CASES,
    VIEW_IMPORTS,
    WORK_DISPUTES,
    WORK_PLANS,
)
from portal.intake.console import RUNNING


@dataclass(frozen=True)
class Column:
    title: object
    #: The sort key this column's heading sorts by, if it sorts.
    sort: str | None = None
    numeric: bool = False


@dataclass(frozen=True)
class Filter:
    name: str
    title: object
    #: creditor (one of the agency's), choice (one of `choices`) or text (an exact value).
    kind: str
    choices: tuple[tuple[str, object], ...] = ()

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _label in self.choices)


@dataclass(frozen=True)
class Queue:
    name: str
    title: object
    intro: object
    permission: str
    #: The view that shows it (url_for's endpoint).
    endpoint: str
    columns: tuple[Column, ...]
    #: What the page is sorted by when nobody says (`-` first: newest first).
    default_sort: str
    filters: tuple[Filter, ...]

    @property
    def sorts(self) -> tuple[str, ...]:
        return tuple(c.sort for c in self.columns if c.sort)

    def label(self, name: str, value: str) -> object:
        """A stored value as one of this queue's filters names it (the value itself if none)."""
        found = next((f for f in self.filters if f.name == name), None)
        return dict(found.choices).get(value, value) if found else value


CREDITOR = Filter("creditor", _l("Creditor"), "creditor")
ACCOUNT = Column(_l("Account"), "account")
CREDITOR_COLUMN = Column(_l("Creditor"), "creditor")
DISPUTE_STATES = (("received", _l("Received")), ("under_review", _l("Under review")),
                  ("verification_sent", _l("Verification sent")))
assert {state for state, _label in DISPUTE_STATES} == {str(s) for s in OPEN}
CHANNELS = (("call", _l("Phone calls")), ("sms", _l("Text messages")), ("email", _l("Emails")),
            ("letter", _l("Letters")), ("visit", _l("Visits")),
            ("third_party", _l("Contact with others")))
IMPORT_STATES = (("validating", _l("Checking")), ("ready", _l("Waiting for the worker")),
                 ("importing", _l("Importing")))
assert {state for state, _label in IMPORT_STATES} == {str(s) for s in RUNNING}

QUEUES: dict[str, Queue] = {q.name: q for q in (
    Queue("plans", _l("Plans to review"),
          _l("Proposals the creditor's policy could not decide, waiting for a person; the longest "
             "waiting first."),
          WORK_PLANS, "staff_queues.plans",
          (Column(_l("Plan")), ACCOUNT, CREDITOR_COLUMN, Column(_l("Kind"), "kind"),
           Column(_l("Total"), "total", numeric=True),
           Column(_l("Days waiting"), "created", numeric=True)),
          "created",
          (CREDITOR, Filter("kind", _l("Kind"), "choice", (
              ("installments", _l("Installments")), ("settlement", _l("Settlement")))))),
    Queue("hardship", _l("Hardship requests"),
          _l("Borrowers who told us they are in hardship and asked for a pause or a smaller "
             "plan, waiting for a person; the longest waiting first."),
          WORK_PLANS, "staff_queues.hardship",
          (Column(_l("Plan")), ACCOUNT, CREDITOR_COLUMN, Column(_l("What happened"), "reason"),
           Column(_l("Pause (days)"), numeric=True),
           Column(_l("Days waiting"), "created", numeric=True)),
          "created",
          (CREDITOR, Filter("reason", _l("What happened"), "choice", (
              ("job_loss", _l("Lost job or income")), ("illness", _l("Illness or disability")),
              ("bereavement", _l("Bereavement")), ("other", _l("Something else")))))),
    Queue("disputes", _l("Disputes"),
          _l("Open disputes, oldest first. Inside the validation period, collection stays "
             "stopped until verification is sent."),
          WORK_DISPUTES, "staff_queues.disputes",
          (Column(_l("Dispute")), ACCOUNT, CREDITOR_COLUMN, Column(_l("Status"), "status"),
           Column(_l("Validation period"), "validation"),
           Column(_l("Days open"), "opened", numeric=True)),
          "opened",
          (CREDITOR, Filter("status", _l("Status"), "choice", DISPUTE_STATES),
           Filter("validation", _l("Validation period"), "choice",
                  (("inside", _l("Inside")), ("outside", _l("Outside")))))),
    Queue("violations", _l("Contact the rules would have blocked"),
          _l("Contacts reported by partners' systems or recorded by agents that the contact "
             "rules did not allow, for compliance review; newest first."),
          VIEW_CASES, "staff_queues.violations",
          (Column(_l("When"), "at"), ACCOUNT, CREDITOR_COLUMN, Column(_l("Channel"), "channel"),
           Column(_l("Rules")), Column(_l("Reported by"), "by")),
          "-at",
          (CREDITOR, Filter("channel", _l("Channel"), "choice", CHANNELS),
           Filter("who", _l("Reported by"), "choice",
                  (("partner", _l("A partner's system")), ("agent", _l("An agent")))),
           Filter("by", _l("Partner or agent"), "text"), Filter("rule", _l("Rule"), "text"))),
    Queue("holds", _l("Holds ending this week"),
          _l("Pauses on contact that end by themselves this week (Monday to Sunday in your time "
             "zone), soonest first; contact may resume when they end."),
          VIEW_CASES, "staff_queues.holds",
          (Column(_l("Ends"), "until"), ACCOUNT, CREDITOR_COLUMN, Column(_l("Rule"), "rule"),
           Column(_l("Channels"))),
          "until",
          (CREDITOR, Filter("rule", _l("Rule"), "text"))),
    Queue("chargebacks", _l("Chargebacks"),
          _l("Card payments the borrower's bank took back; newest first."),
          VIEW_CASES, "staff_queues.chargebacks",
          (Column(_l("Last change"), "when"), ACCOUNT, CREDITOR_COLUMN,
           Column(_l("Paid"), numeric=True),
           Column(_l("Taken back"), "amount", numeric=True), Column(_l("Bank's case"))),
          "-when",
          (CREDITOR,)),
    Queue("bounced", _l("Bounced messages"),
          _l("Messages to borrowers that failed for good, and whether their address or number "
             "is now marked undeliverable; newest first."),
          VIEW_CASES, "staff_queues.bounced",
          (Column(_l("Written"), "written"), Column(_l("Failed")), ACCOUNT, CREDITOR_COLUMN,
           Column(_l("Channel"), "channel"), Column(_l("Why")),
           Column(_l("Undeliverable"), "undeliverable")),
          "-written",
          (CREDITOR, Filter("channel", _l("Channel"), "choice", CHANNELS[1:4]),
           Filter("undeliverable", _l("Undeliverable"), "choice",
                  (("yes", _l("Marked undeliverable")), ("no", _l("Not marked")))))),
    Queue("imports", _l("Imports waiting"),
          _l("Placement files being checked, waiting for the worker or still importing; oldest "
             "first."),
          VIEW_IMPORTS, "staff_queues.imports",
          (Column(_l("Import")), Column(_l("File")), CREDITOR_COLUMN,
           Column(_l("State"), "state"), Column(_l("Rows done"), numeric=True),
           Column(_l("Started"), "created")),
          "created",
          (CREDITOR, Filter("state", _l("State"), "choice", IMPORT_STATES))),
    Queue("corrections", _l("Correction requests"),
          _l("Borrowers' requests to correct their data, soonest due first: UK GDPR one month "
             "(art. 12(3)), the CCPA 45 days, elsewhere in the US our policy of 45 days. PIPL "
             "sets no number of days: we answer Chinese borrowers within the 30 days that the "
             "national standard GB/T 35273-2020 (8.7) recommends."),
          ANSWER_CORRECTIONS, "staff_queues.corrections",
          (Column(_l("Due"), "due"), ACCOUNT, CREDITOR_COLUMN, Column(_l("Law"), "law"),
           Column(_l("Asked"), "created"), Column(_l("What the borrower asks, and the answer"))),
          "due",
          (CREDITOR, Filter("law", _l("Law"), "choice", (
              ("uk-gdpr", _l("UK GDPR")), ("ccpa", _l("CCPA")),
              ("pipl", _l("PIPL (30 days: GB/T 35273-2020)")),
              ("policy", _l("Agency policy")))))),
)}
