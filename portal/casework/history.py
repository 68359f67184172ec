"""The case history in words: one sentence for each kind of case event, as people say it. Pure.

Every EventKind has a sentence here (a test checks it), so a kind added later is told in words
or the build says so. Sentences are English msgids marked with `N_`, translated where shown;
their parameters come from the event's data (amounts as Money, rules and channels as codes the
page names).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.cases.kinds import EventKind as K
from portal.contact.rulebook import N_
from portal.money import Money

SENTENCES: dict[str, str] = {
    K.ACCOUNT_PLACED: N_("The account was placed with the agency."),
    K.ACCOUNT_RECALLED: N_("The creditor recalled the account: collection stopped."),
    K.EDELIVERY_CONSENTED: N_("The borrower agreed to get notices by email."),
    K.EDELIVERY_WITHDRAWN: N_("The borrower withdrew consent to notices by email."),
    K.CONTACT_POINT_CONFIRMED: N_("Staff recorded that the borrower confirmed a contact point."),
    K.MESSAGE_STOPPED: N_("A queued message was stopped by the contact rules before it went."),
    K.LEDGER_POSTED: N_("%(amount)s was posted to the ledger (%(entry)s)."),
    K.VALIDATION_NOTICE_SENT: N_("The validation notice was sent."),
    K.FIRST_LETTER_SENT: N_("The first letter was sent."),
    K.SIGN_IN_CODE_SENT: N_("The borrower asked for a sign-in code."),
    K.SIGNED_IN: N_("The borrower signed in."),
    K.SIGNED_OUT: N_("The borrower signed out."),
    K.SESSION_EXPIRED: N_("The borrower's session ended after a while without activity."),
    K.STAFF_VIEWED: N_("Staff opened the case (personal data masked)."),
    K.PREFERENCES_CHANGED: N_("The borrower's contact preferences changed."),
    K.CEASE_REQUESTED: N_("The borrower asked that communication stop."),
    K.CEASE_WITHDRAWN: N_("The borrower withdrew the request to stop communication."),
    K.ATTORNEY_REPORTED: N_("The borrower said an attorney represents them."),
    K.ATTORNEY_ENDED: N_("The attorney's representation ended."),
    K.BANKRUPTCY_REPORTED: N_("The borrower said they filed for bankruptcy."),
    K.BANKRUPTCY_ENDED: N_("The bankruptcy case ended or the stay was lifted."),
    K.BREATHING_SPACE_REPORTED: N_("A breathing space was reported."),
    K.BREATHING_SPACE_ENDED: N_("The breathing space ended."),
    K.CONSENT_GIVEN: N_("The borrower consented to contact outside the usual hours "
                        "(%(channel)s)."),
    K.CONSENT_WITHDRAWN: N_("The borrower withdrew a consent to contact."),
    K.DECEASED_REPORTED: N_("The borrower's death was recorded."),
    K.CAPACITY_DOUBTED: N_("A doubt about the borrower's mental capacity was recorded."),
    K.CAPACITY_ESTABLISHED: N_("The borrower's mental capacity was established."),
    K.INSOLVENCY_REPORTED: N_("An insolvency was recorded."),
    K.INSOLVENCY_ENDED: N_("The insolvency ended."),
    K.CRISIS_TREATMENT_ENDED: N_("Notice was recorded that crisis treatment ended."),
    K.ATTEMPT_RECORDED: N_("We contacted the borrower (%(channel)s): %(outcome)s."),
    K.CONTACT_POINT_UNDELIVERABLE: N_("Not delivered (%(channel)s): the address or number is "
                                      "marked undeliverable."),
    K.HOLD_STARTED: N_("Contact paused: %(rule)s."),
    K.HOLD_ENDED: N_("Pause ended: %(rule)s."),
    K.PAYMENT_SUBMITTED: N_("The borrower submitted a card payment."),
    K.PAYMENT_SUCCEEDED: N_("A card payment of %(amount)s succeeded."),
    K.PAYMENT_FAILED: N_("A card payment failed."),
    K.PAYMENT_REFUNDED: N_("A card payment was refunded (%(amount)s)."),
    K.PAYMENT_REFUND_ISSUED: N_("Staff refunded %(amount)s of a card payment, with a reason."),
    K.PAYMENT_CANCELED: N_("A card payment ended without a charge."),
    K.PAYMENT_CHARGED_BACK: N_("The borrower's bank charged a payment back."),
    K.ACCOUNT_PAID: N_("The account was paid in full."),
    K.ACCOUNT_REOPENED: N_("The account owes again and was reopened."),
    K.DISPUTE_OPENED: N_("The borrower disputed the debt."),
    K.DISPUTE_REVIEW_STARTED: N_("Staff began reviewing the dispute."),
    K.DISPUTE_DOCUMENTS_REQUESTED: N_("Documents were requested from the creditor."),
    K.DISPUTE_VERIFICATION_SENT: N_("Verification of the debt was sent to the borrower."),
    K.DISPUTE_ORIGINAL_CREDITOR_SENT: N_("The original creditor's name and address were sent."),
    K.DISPUTE_RESOLVED: N_("The dispute was decided."),
    K.DISPUTE_WITHDRAWN: N_("The borrower withdrew the dispute."),
    K.ACCOUNT_CLOSED: N_("The account was closed."),
    K.PLAN_PROPOSED: N_("The borrower proposed a payment plan."),
    K.PLAN_REVIEW_REQUESTED: N_("The borrower asked a person to review a plan decision."),
    K.PLAN_DECIDED: N_("Staff decided a plan proposal."),
    K.PLAN_ACCEPTED: N_("The borrower accepted a payment plan."),
    K.INSTALLMENT_PAID: N_("A plan installment was paid."),
    K.INSTALLMENT_FAILED: N_("A plan installment's charge failed."),
    K.PLAN_BROKEN: N_("The payment plan was broken (an installment stayed unpaid)."),
    K.PLAN_COMPLETED: N_("The payment plan was completed."),
    K.PLAN_CHANGED: N_("The borrower changed the payment plan."),
    K.PERSONAL_DATA_VIEWED: N_("Staff revealed the borrower's personal data."),
    K.NOTE_ADDED: N_("A note was added."),
    K.BALANCE_ADJUSTED: N_("The balance was adjusted by %(amount)s."),
    K.CONTACT_PAUSED: N_("A supervisor paused contact until %(until)s."),
    K.CONTACT_PAUSE_LIFTED: N_("The supervisor's pause was lifted."),
    K.STAFF_MESSAGE_SENT: N_("Staff sent the borrower a message (%(channel)s)."),
    K.LENDER_VIEWED: N_("The creditor's user opened the account in the lender's portal."),
    K.DIRECT_PAYMENT_REPORTED: N_("The creditor reported a payment made to them directly."),
    K.HELPER_GRANTED: N_("The borrower gave someone access to help them."),
    K.HELPER_SIGNED_IN: N_("Someone helping the borrower signed in."),
    K.HELPER_REVOKED: N_("The borrower took back a helper's access."),
    K.CORRECTION_REQUESTED: N_("The borrower asked for a correction of their data (answer due "
                               "%(until)s)."),
    K.CORRECTION_ANSWERED: N_("Staff answered the borrower's correction request (%(outcome)s)."),
    K.DATA_DOWNLOADED: N_("The borrower downloaded their data."),
}
#: For a kind recorded before this table knew it (an old record): said plainly, not hidden.
UNKNOWN = N_("Something was recorded (%(kind)s).")
#: Who did it, by the event's actor type; staff are named by the page.
ACTORS = {"borrower": N_("The borrower"), "system": N_("The portal"),
          "partner": N_("A partner system"), "staff": N_("Staff"),
          "helper": N_("Someone helping the borrower")}
#: A lender's user (recorded as the agency's own users are, with its own kind of event).
LENDER = N_("The creditor")


def actor_words(kind: str, actor_type: str) -> str:
    """Who did it, in words (a msgid): a lender's view is the creditor's, not the agency's."""
    if kind == K.LENDER_VIEWED:
        return LENDER
    return ACTORS.get(actor_type, actor_type)


#: A contact the borrower made (an inbound call): not ours, but a conversation the rules count.
INBOUND = N_("The borrower contacted us (%(channel)s): %(outcome)s.")
#: An attempt the rules would have blocked, said after its sentence.
FLAGGED = N_("Flagged for compliance review: %(rules)s.")


@dataclass(frozen=True)
class Said:
    """One event in words: a sentence (msgid), its parameters, and any flag after it."""

    sentence: str
    params: dict = field(default_factory=dict)
    flag: str | None = None
    flag_params: dict = field(default_factory=dict)


def describe(kind: str, data: dict) -> Said:
    """The sentence for an event, with what its data gives; personal data is never in the data."""
    sentence = SENTENCES.get(kind)
    if sentence is None:
        return Said(UNKNOWN, {"kind": kind})
    params: dict = {}
    if "refunded_minor" in data and data.get("currency"):
        params["amount"] = Money(int(data["refunded_minor"]), data["currency"])
    elif "amount_minor" in data and data.get("currency"):
        params["amount"] = Money(int(data["amount_minor"]), data["currency"])
    elif "amount" in data and isinstance(data["amount"], int) and data.get("currency"):
        params["amount"] = Money(data["amount"], data["currency"])
    for key in ("rule", "channel", "outcome", "until"):
        if data.get(key) is not None:
            params[key] = data[key]
    if kind == K.LEDGER_POSTED:
        params["entry"] = data.get("kind", "")
    if kind == K.ATTEMPT_RECORDED and data.get("direction") == "inbound":
        sentence = INBOUND
    needed = _placeholders(sentence)
    if not needed <= set(params):  # an older event without the field: the plain kind instead
        return Said(UNKNOWN, {"kind": kind})
    if kind == K.ATTEMPT_RECORDED and data.get("violation"):
        return Said(sentence, params, FLAGGED, {"rules": ", ".join(data.get("rules", []))})
    return Said(sentence, params)


def _placeholders(sentence: str) -> set[str]:
    names, rest = set(), sentence
    while "%(" in rest:
        start = rest.index("%(") + 2
        end = rest.index(")", start)
        names.add(rest[start:end])
        rest = rest[end:]
    return names
