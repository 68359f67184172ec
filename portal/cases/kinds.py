"""Every way an account's case record can change: the one documented list of case-event kinds.

A reader who wants to know what can happen to an account reads this file. Later capabilities
(payments, plans, disputes, contact) add their kinds here, never ad hoc strings elsewhere.
"""

from enum import StrEnum


class EventKind(StrEnum):
    #: The account was placed with the agency (placement import or demo seed).
    ACCOUNT_PLACED = "account.placed"
    #: A ledger entry was posted (itemization, interest, fee, payment, credit, reversal).
    LEDGER_POSTED = "ledger.posted"
    #: The validation notice (Regulation F 1006.34) was sent.
    VALIDATION_NOTICE_SENT = "validation_notice.sent"
    #: A UK or China account's first letter was sent (data: the letter's kind, `sent_on`, the
    #: channels); the page rebuilds it from this event's time.
    FIRST_LETTER_SENT = "first_letter.sent"
    #: The borrower consented to receive notices by email (E-SIGN, 12 CFR 1006.42(b)); the
    #: data names the consent row and the email's contact point, never the address.
    EDELIVERY_CONSENTED = "notices.edelivery_consented"
    #: That consent was withdrawn: notices go by post only.
    EDELIVERY_WITHDRAWN = "notices.edelivery_withdrawn"
    #: A borrower asked for a one-time sign-in code (destination masked in the data).
    SIGN_IN_CODE_SENT = "borrower.sign_in_code_sent"
    #: A borrower finished signing in.
    SIGNED_IN = "borrower.signed_in"
    #: A borrower signed out.
    SIGNED_OUT = "borrower.signed_out"
    #: A borrower's session ended after 15 minutes without activity.
    SESSION_EXPIRED = "borrower.session_expired"
    #: A staff member opened a view that shows this borrower's personal data.
    STAFF_VIEWED = "staff.viewed_personal_data"
    #: The borrower changed how and when they may be contacted (data: the whole new state).
    PREFERENCES_CHANGED = "preferences.changed"
    #: The borrower asked that communication stop (Regulation F 1006.6(c)).
    CEASE_REQUESTED = "contact.cease_requested"
    #: The borrower withdrew a cease request.
    CEASE_WITHDRAWN = "contact.cease_withdrawn"
    #: The borrower told us an attorney represents them (data: statement, the id of the
    #: encrypted contact_statement row holding the name and contact).
    ATTORNEY_REPORTED = "contact.attorney_reported"
    #: The representation ended (the attorney did not respond, consented, or withdrew).
    ATTORNEY_ENDED = "contact.attorney_ended"
    #: The borrower told us they filed for bankruptcy (data: statement; the case number is in it).
    BANKRUPTCY_REPORTED = "contact.bankruptcy_reported"
    #: The bankruptcy case was dismissed or closed, or the stay lifted.
    BANKRUPTCY_ENDED = "contact.bankruptcy_ended"
    #: UK breathing space started (data: start date, statement: the row holding its kind
    #: standard|mental_health and reference, encrypted).
    BREATHING_SPACE_REPORTED = "contact.breathing_space_reported"
    #: UK breathing space ended early or (mental health) by notice.
    BREATHING_SPACE_ENDED = "contact.breathing_space_ended"
    #: The borrower gave direct prior consent to contact on one channel outside the usual hours
    #: (data: consent id, channel, window, days, source; what they said is kept encrypted apart).
    CONSENT_GIVEN = "contact.consent_given"
    #: The borrower withdrew a consent (data: consent id): it ends at once.
    CONSENT_WITHDRAWN = "contact.consent_withdrawn"
    #: Staff recorded that the borrower has died (US: contact only the estate's representative).
    DECEASED_REPORTED = "contact.deceased_reported"
    #: Staff recorded a doubt about the borrower's mental capacity (UK: pursuit suspended).
    CAPACITY_DOUBTED = "contact.capacity_doubted"
    #: Staff recorded that the borrower's capacity is established: the suspension ends.
    CAPACITY_ESTABLISHED = "contact.capacity_established"
    #: Staff recorded a UK insolvency (data: kind bankruptcy|dro|iva).
    INSOLVENCY_REPORTED = "contact.insolvency_reported"
    #: The insolvency ended (data: how discharged|revoked|failed).
    INSOLVENCY_ENDED = "contact.insolvency_ended"
    #: Staff recorded notice that mental health crisis treatment ended (data: ended_on): the
    #: crisis breathing space ends 30 days later.
    CRISIS_TREATMENT_ENDED = "contact.crisis_treatment_ended"
    #: A contact attempt was reported by a partner system (data: channel, outcome, violation).
    ATTEMPT_RECORDED = "contact.attempt_recorded"
    #: A message to a contact point failed for good: a bounce, an invalid number, or out of tries
    #: (data: point, channel, message, code). Staff see the point marked undeliverable.
    CONTACT_POINT_UNDELIVERABLE = "contact.point_undeliverable"
    #: The borrower confirmed a contact point marked undeliverable (data: point, kind,
    #: marked_at): the mark is cleared, messages may go to it again.
    CONTACT_POINT_CONFIRMED = "contact.point_confirmed"
    #: A queued message was never handed over: a hold, cease or opt-out recorded after it was
    #: queued stops it, or its contact point became undeliverable (data: message, kind, channel,
    #: rule: the rule, or "undeliverable"). Its contact attempt says cancelled or failed.
    MESSAGE_STOPPED = "message.stopped"
    #: A contact hold came into force (data: rule, channels, until, key).
    HOLD_STARTED = "contact.hold_started"
    #: A contact hold ended (data: rule, key).
    HOLD_ENDED = "contact.hold_ended"
    #: The borrower submitted a card payment; Stripe's webhook decides its outcome.
    PAYMENT_SUBMITTED = "payment.submitted"
    #: Stripe confirmed a card payment (data: payment, amount, allocation); posted to the ledger.
    PAYMENT_SUCCEEDED = "payment.succeeded"
    #: A card payment failed (data: payment, reason); nothing was posted.
    PAYMENT_FAILED = "payment.failed"
    #: A card payment was refunded in part or in full (a reversing ledger entry).
    PAYMENT_REFUNDED = "payment.refunded"
    #: A staff member refunded a card payment at Stripe (data: payment, receipt, the
    #: `staff_refund` row holding their reason, sealed; amount; Stripe's refund id). The
    #: reversal itself is the `payment.refunded` beside it, as a webhook would record it.
    PAYMENT_REFUND_ISSUED = "payment.refund_issued"
    #: A payment ended without a charge (abandoned, the balance changed, the bank's check left
    #: unfinished); nothing was posted.
    PAYMENT_CANCELED = "payment.canceled"
    #: The cardholder's bank charged a payment back (a reversing entry; staff are told).
    PAYMENT_CHARGED_BACK = "payment.charged_back"
    #: The balance reached zero: the account is paid and collection contact stops.
    ACCOUNT_PAID = "account.paid_in_full"
    #: A paid account owes again (a refund or chargeback reversed a payment).
    ACCOUNT_REOPENED = "account.reopened"
    #: The borrower disputed the debt or part of it (data: dispute, reasons, holds started).
    DISPUTE_OPENED = "dispute.opened"
    #: Staff began reviewing a dispute.
    DISPUTE_REVIEW_STARTED = "dispute.review_started"
    #: Staff asked the creditor for documents (an outbox message to the lender).
    DISPUTE_DOCUMENTS_REQUESTED = "dispute.documents_requested"
    #: Verification (proof of the debt) was sent to the borrower: the dispute hold is lifted.
    DISPUTE_VERIFICATION_SENT = "dispute.verification_sent"
    #: The original creditor's name and address were sent to the borrower who asked
    #: (data: dispute, delivery): with verification sent, the dispute hold is lifted.
    DISPUTE_ORIGINAL_CREDITOR_SENT = "dispute.original_creditor_sent"
    #: The dispute was decided (data: outcome upheld|not_upheld, action, noted; the note is on
    #: the dispute).
    DISPUTE_RESOLVED = "dispute.resolved"
    #: The borrower withdrew the dispute: the holds it started are lifted.
    DISPUTE_WITHDRAWN = "dispute.withdrawn"
    #: The account was closed (an upheld dispute): collection ends.
    ACCOUNT_CLOSED = "account.closed"
    #: The creditor took the account back (a recall file; data: creditor, from: the status it
    #: had, file: the file's SHA-256). Collection contact stops at once (`creditor.recalled`).
    ACCOUNT_RECALLED = "account.recalled"
    #: The borrower proposed a plan and the rules decided it (data: plan, figures, decision);
    #: a hardship request starts the `policy.hardship-review` hold.
    PLAN_PROPOSED = "plan.proposed"
    #: The borrower asked a person to review an automatic decision.
    PLAN_REVIEW_REQUESTED = "plan.review_requested"
    #: Staff decided a referred proposal (approve, counter, decline; with the reason).
    PLAN_DECIDED = "plan.decided"
    #: The borrower accepted a plan (data: schedule, autopay, consent): the
    #: `policy.plan-in-good-standing` hold starts.
    PLAN_ACCEPTED = "plan.accepted"
    #: An installment was paid (by autopay or by hand).
    INSTALLMENT_PAID = "plan.installment_paid"
    #: An installment's charge failed (a retry is scheduled within the grace period).
    INSTALLMENT_FAILED = "plan.installment_failed"
    #: An installment stayed unpaid past the grace period: the plan's hold ends.
    PLAN_BROKEN = "plan.broken"
    #: Every installment paid; a settlement settles the account.
    PLAN_COMPLETED = "plan.completed"
    #: The borrower cancelled autopay or the plan, or changed its payment day.
    PLAN_CHANGED = "plan.changed"

    #: A staff member revealed the borrower's masked personal data on the case page (data:
    #: which fields, the role).
    PERSONAL_DATA_VIEWED = "personal_data.viewed"
    #: Staff wrote a note on the case (data: note id; the words are kept encrypted apart, with
    #: what the note is about: a note, a conversation, an adjustment, a message).
    NOTE_ADDED = "case.note_added"
    #: Staff adjusted the balance with a reason (data: entry, amount, direction, note id); the
    #: ledger entry has its own `ledger.posted`.
    BALANCE_ADJUSTED = "ledger.adjusted"
    #: A supervisor paused contact on the account until a date (agency policy; data: until and
    #: the `hold_starts` that start `policy.supervisor-pause`).
    CONTACT_PAUSED = "contact.supervisor_paused"
    #: The supervisor's pause was lifted before its end (data: `hold_ends`).
    CONTACT_PAUSE_LIFTED = "contact.supervisor_pause_lifted"
    #: Staff wrote to the borrower from the case through notify (data: channel, note id).
    STAFF_MESSAGE_SENT = "message.staff_sent"
    #: A lender user opened the account in the lender's portal, which names the borrower (data:
    #: view, the staff user's role); contact details and evidence are never shown there.
    LENDER_VIEWED = "lender.viewed_account"
    #: The lender reported a payment the borrower made to them directly (data: direct payment,
    #: amount, currency, paid on); its ledger entry has its own `ledger.posted`.
    DIRECT_PAYMENT_REPORTED = "payment.direct_reported"

    #: The borrower gave someone access (data: grant id, kind, access, account or all, until;
    #: the helper's name and email are kept encrypted in `helper_grant`).
    HELPER_GRANTED = "helper.granted"
    #: A helper signed in to help the borrower (data: grant id).
    HELPER_SIGNED_IN = "helper.signed_in"
    #: The borrower took the access back (data: grant id).
    HELPER_REVOKED = "helper.revoked"
    #: The borrower asked for a correction of what we hold (data: request id, law, due date;
    #: their words are kept encrypted in `correction_request`).
    CORRECTION_REQUESTED = "rights.correction_requested"
    #: Staff answered a correction request (data: request id, outcome).
    CORRECTION_ANSWERED = "rights.correction_answered"
    #: The borrower downloaded everything we hold about them (data: format).
    DATA_DOWNLOADED = "rights.data_downloaded"


#: A helper acting on a grant: the actor id is the grant's.
ACTOR_TYPES = ("borrower", "staff", "system", "partner", "helper")
