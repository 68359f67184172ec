"""The borrower's own pages: their accounts, and one account in full."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.accounts import service
from portal.accounts.rights import rights_for
from portal.cases.service import history
from portal.contact import service as contact
from portal.disputes.service import disputes_of
from portal.extensions import db
from portal.identity.helpers import HelperGrant
from portal.money import Money
from portal.notices import wording
from portal.notices.service import sent_notice
from portal.payments.checkout import payments_of
from portal.plans.service import plans_of
from portal.web.access import borrower_required
from portal.web.i18n import long_date, money

bp = Blueprint("accounts", __name__, url_prefix="/accounts")

#: What a borrower reads for each event of their history; staff-internal events are not listed.
EVENT_TEXT = {
    "account.placed": _l("The creditor placed this account with us"),
    "ledger.posted": _l("%(what)s of %(amount)s posted to your balance"),
    "validation_notice.sent": _l("We sent you the validation notice on %(sent_on)s"),
    "first_letter.sent": _l("We sent you our first letter about this account on %(sent_on)s"),
    "borrower.sign_in_code_sent": _l("You asked for a sign-in code (%(channel)s to %(to)s)"),
    "borrower.signed_in": _l("You signed in"),
    "borrower.signed_out": _l("You signed out"),
    "borrower.session_expired": _l("You were signed out after 15 minutes without activity"),
    "preferences.changed": _l("You changed your contact preferences"),
    "contact.cease_requested": _l("You asked us to stop contacting you"),
    "contact.cease_withdrawn": _l("You said we may contact you again"),
    "contact.attorney_reported": _l("You told us an attorney represents you"),
    "contact.bankruptcy_reported": _l("You told us you filed for bankruptcy"),
    "contact.breathing_space_reported": _l("You told us you are in breathing space"),
    "contact.consent_given": _l("You agreed to contact at times outside the usual hours"),
    "contact.consent_withdrawn": _l("You withdrew an agreement to contact outside the usual "
                                    "hours"),
    "contact.hold_started": _l("Contact paused"),
    "contact.hold_ended": _l("A pause on contact ended"),
    "payment.submitted": _l("You submitted a card payment of %(amount)s"),
    "payment.succeeded": _l("Your card payment of %(amount)s went through (receipt %(receipt)s)"),
    "payment.failed": _l("A card payment of %(amount)s did not go through"),
    "payment.refunded": _l("%(amount)s of a card payment was refunded to your card"),
    "payment.charged_back": _l("Your bank reversed a card payment of %(amount)s"),
    "account.paid_in_full": _l("This account was paid in full"),
    "account.reopened": _l("This account has a balance again"),
    "account.closed": _l("This account was closed"),
    "dispute.opened": _l("You disputed this debt (dispute %(dispute)s)"),
    "dispute.review_started": _l("We started reviewing your dispute %(dispute)s"),
    "dispute.documents_requested": _l("We asked the creditor for documents about dispute "
                                      "%(dispute)s"),
    "dispute.verification_sent": _l("We sent you verification for dispute %(dispute)s"),
    "dispute.original_creditor_sent": _l("We sent you the original creditor's name and address "
                                         "for dispute %(dispute)s"),
    "dispute.resolved": _l("Your dispute %(dispute)s was resolved"),
    "dispute.withdrawn": _l("You withdrew dispute %(dispute)s"),
    "plan.proposed": _l("You proposed plan %(plan)s"),
    "plan.review_requested": _l("You asked a person to review plan %(plan)s"),
    "plan.decided": _l("We decided on plan %(plan)s"),
    "plan.accepted": _l("You accepted plan %(plan)s"),
    "plan.installment_paid": _l("An installment of plan %(plan)s was paid"),
    "plan.installment_failed": _l("An installment of plan %(plan)s could not be charged"),
    "plan.broken": _l("Plan %(plan)s ended after a missed payment"),
    "plan.completed": _l("Plan %(plan)s is complete"),
    "plan.changed": _l("You changed plan %(plan)s"),
    "helper.granted": _l("You gave someone access to help you"),
    "helper.signed_in": _l("Someone you gave access to signed in"),
    "helper.revoked": _l("You took back someone's access"),
    "rights.correction_requested": _l("You asked us to correct your data"),
    "rights.correction_answered": _l("We answered your request for a correction"),
}
#: What a helper did, as the borrower reads it (the helper named before it).
HELPER_TEXT = {
    "plan.proposed": _l("%(helper)s, helping you, proposed plan %(plan)s"),
    "dispute.opened": _l("%(helper)s, helping you, disputed this debt (dispute %(dispute)s)"),
    "payment.submitted": _l("%(helper)s, helping you, submitted a card payment of %(amount)s"),
    "helper.signed_in": _l("%(helper)s signed in to help you"),
}
#: Anything else a helper did: their name, then what was done.
HELPER_DID = _l("%(helper)s, helping you: %(what)s")

#: How ledger entries read to a borrower, by kind.
ENTRY_TEXT = {
    "itemization": _l("Balance on the itemization date"),
    "interest": _l("Interest"),
    "fee": _l("Fees"),
    "payment": _l("Payment"),
    "credit": _l("Credit"),
    "reversal": _l("Correction"),
    "adjustment": _l("Adjustment by the creditor"),
}


def describe(event) -> str:
    """The borrower's sentence for one event, with amounts and dates in their own format; what
    a helper did names them."""
    if event.actor_type != "helper":
        return _sentence(event, str(EVENT_TEXT[event.kind]))
    grant = db.session.get(HelperGrant, int(event.actor_id))
    helper = grant.name if grant is not None else "?"
    if event.kind in HELPER_TEXT:
        return _sentence(event, str(HELPER_TEXT[event.kind]), helper=helper)
    return str(HELPER_DID) % {"helper": helper,
                              "what": _sentence(event, str(EVENT_TEXT[event.kind]))}


def _sentence(event, text: str, **more) -> str:
    if "%(" not in text:
        return text
    data = dict(event.data) | more
    if event.kind.startswith("payment."):
        minor = data.get("refunded_minor") or data.get("charged_back_minor") or data["amount_minor"]
        data["amount"] = money(Money(minor, data["currency"]))
    if event.kind == "ledger.posted":
        data["what"] = ENTRY_TEXT[data["kind"]]
        data["amount"] = money(Money(abs(data["amount_minor"]), data["currency"]))
    if "sent_on" in data:
        data["sent_on"] = long_date(date.fromisoformat(data["sent_on"]))
    return text % data


def _today():
    return datetime.now(UTC).date()


@bp.get("/")
@borrower_required
def index():
    views = service.accounts_of(current_user, _today())
    return render_template("accounts/index.html", views=views)


@bp.get("/<reference>")
@borrower_required
def detail(reference: str):
    view = service.account_of(current_user, reference, _today())
    events = [e for e in history(current_user.id, view.account.id) if e.kind in EVENT_TEXT]
    notice = sent_notice(view.account)
    return render_template(
        "accounts/detail.html", view=view, events=events, describe=describe,
        entry_text=ENTRY_TEXT,
        holds=contact.live_holds(current_user.id, view.account.id),
        attempts=contact.attempts_of(view.account.id),
        payments=payments_of(current_user.id, view.account.id),
        disputes=disputes_of(current_user.id, view.account.id), today=_today(),
        plans=plans_of(current_user.id, view.account.id),
        notice=notice, notice_sections=wording.sections(notice) if notice else (),
        rights=rights_for(contact.jurisdiction_of(view.account.borrower)[0]),
    )
