"""The rulebook of COMPLIANCE.md as data: each rule's id, source and plain-language texts. Pure.

Texts are English source strings, marked with `N_` for the message catalog and translated where
they are shown. A compliance officer corrects a citation or a figure here and nowhere else, and
decides here, rule by rule and with its source, which of the portal's own messages a rule stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


def N_(text: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    return text


class Purpose(StrEnum):
    """Why the portal itself writes to a borrower: a rule may stop one purpose and not another."""

    #: A sign-in code, asked for just now, to the address or number the borrower picked.
    ACCESS = "access"
    #: The answer to the borrower's own step: the receipt of their payment, the acknowledgement
    #: of their dispute, the verification they asked for by disputing.
    REQUESTED = "requested"
    #: The agency's own step to collect: a plan reminder, a failed installment, a broken plan.
    COLLECTION = "collection"
    #: A cease's first exception: the collector's further efforts are being terminated.
    EFFORTS_ENDING = "efforts_ending"
    #: A cease's second and third: the collector or creditor may (or intends to) invoke a
    #: specified remedy it ordinarily invokes.
    REMEDY = "remedy"
    #: A notice the law requires the collector to send.
    REQUIRED_NOTICE = "required_notice"


#: The notices 12 CFR 1006.6(c)(2) lets through a cease: about the debt, so every other rule
#: stops them as it stops collection.
CEASE_NOTICES = frozenset({Purpose.EFFORTS_ENDING, Purpose.REMEDY, Purpose.REQUIRED_NOTICE})
#: What a partner system (a dialer, a letter house) may say its communication is for.
PARTNER_PURPOSES = (Purpose.COLLECTION, *sorted(CEASE_NOTICES))
#: The channels a cease's notices may use (COMPLIANCE.md, additions after the 2026-12 review).
WRITTEN = frozenset({"letter", "email"})

EVERY = frozenset(Purpose)
NOT_ACCESS = frozenset({Purpose.REQUESTED, Purpose.COLLECTION}) | CEASE_NOTICES
#: Collection, and the notices about the debt (they answer no step of the borrower's).
COLLECTION_ONLY = frozenset({Purpose.COLLECTION}) | CEASE_NOTICES

# Why a message the borrower asked for may go through a rule that stops collection.
CONSENT = ("The borrower's own request, made to us directly, is their consent to the message "
           "that answers it: 15 USC 1692c(a); 12 CFR 1006.6(b)(4)(i).")
NO_DEBT_INFORMATION = ("A sign-in code, asked for just now at the address or number the "
                       "borrower picked, conveys no information about a debt: not a "
                       "communication under 12 CFR 1006.2(d).")
ANSWERS_THE_BORROWER = ("It stops collection; answering the borrower's own step (their sign-in, "
                        "their payment, their dispute) is not collection.")
PAUSED_UNTIL_VERIFIED = ("12 CFR 1006.38(d)(2) pauses collection until verification is sent; "
                         "answering the borrower's own step (sign-in, payment, the dispute "
                         "itself) is not collection.")
STAY = ("11 USC 362(a)(6) stops acts to collect; a receipt of a payment the borrower chose to "
        "make (11 USC 524(f)), the answer to their dispute or a sign-in code is none.")
MA_INITIATED = ("940 CMR 7.04(1)(f) limits the telephone communications a creditor initiates; a "
                "sign-in code by text is one the borrower asked for just now.")
RECOVERY_SUSPENDED = ("FCA CONC 7.14.1R suspends recovery; answering the borrower's own step "
                      "is not recovery.")
RESPITE = ("Debt Respite Scheme Regulations 2020: no payment requests or enforcement; a receipt, "
           "the answer to a dispute or a sign-in code is neither.")
CEASE_EXCEPTIONS = ("12 CFR 1006.6(c)(2): after a cease the collector may still write to say "
                    "its efforts end, that it or the creditor may or will invoke a specified "
                    "remedy, or to give a notice the law requires; by letter or email.")
NOT_THE_CONSUMER = ("12 CFR 1006.6(a)(4): the estate's representative is the consumer now; "
                    "nothing goes to the deceased borrower's own addresses.")
INSOLVENCY = ("Insolvency Act 1986; FCA CONC 7: recovery stops and the insolvency practitioner "
              "or official receiver is dealt with; answering the borrower's own step is not "
              "recovery.")
RECALLED = ("The creditor took the account back: the agency stops collecting it at once. "
            "Telling the borrower that its efforts end (and that their plan is cancelled), "
            "answering their own step and notices the law requires are not collection.")
REASONABLE = ("FCA CONC 7.9: a message that answers the borrower's own step, when they take "
              "it, is reasonable contact.")


@dataclass(frozen=True)
class RuleInfo:
    id: str
    citation: str
    borrower_text: str
    agent_text: str
    #: Agency policy (can be switched off per agency), as opposed to law.
    policy: bool = False
    #: Which of the portal's own messages the rule stops while it blocks; every rule stops
    #: collection.
    stops: frozenset[Purpose] = EVERY
    #: Why the purposes it does not stop may go, with the source.
    lets_through: str = ""
    #: Purposes it lets through on these channels only ({purpose: channels}); elsewhere stopped.
    only_by: dict[Purpose, frozenset[str]] = field(default_factory=dict)

    def stops_on(self, purpose: Purpose, channel: str | None) -> bool:
        """Does it stop a communication of this purpose on this channel (None: any channel, so
        stopped wherever it would be somewhere) while it blocks?"""
        allowed_on = self.only_by.get(purpose)
        return purpose in self.stops or (allowed_on is not None and channel not in allowed_on)


_RULES = [
    # United States -------------------------------------------------------------------------
    RuleInfo("us.inconvenient-hours", "12 CFR 1006.6(b)(1)(i)",
             N_("We do not contact you before 8 am or after 9 pm where you are."),
             N_("Outside 08:00-21:00 in at least one of the borrower's time zones."),
             stops=COLLECTION_ONLY, lets_through=CONSENT),
    RuleInfo("us.inconvenient-time-named", "12 CFR 1006.6(b)(1)(i)",
             N_("You told us this time does not suit you."),
             N_("The borrower named this time as inconvenient."),
             stops=COLLECTION_ONLY, lets_through=CONSENT),
    RuleInfo("us.attorney-represented", "12 CFR 1006.6(b)(2)",
             N_("You told us a lawyer represents you, so we contact them instead."),
             N_("Borrower is represented by an attorney: contact the attorney, not the borrower."),
             stops=COLLECTION_ONLY, lets_through=CONSENT),
    RuleInfo("us.workplace-prohibited", "12 CFR 1006.6(b)(3)",
             N_("You told us your employer does not allow these contacts at work."),
             N_("No contact at the borrower's workplace (work phone or work email)."),
             stops=NOT_ACCESS, lets_through=NO_DEBT_INFORMATION),
    RuleInfo("us.cease-communication", "12 CFR 1006.6(c)",
             N_("You asked us to stop contacting you about this debt."),
             N_("Cease request: all communication stops except a notice that efforts end, "
                "a specific remedy, or a legally required notice (by letter or email)."),
             stops=frozenset({Purpose.REQUESTED, Purpose.COLLECTION}),
             lets_through=NO_DEBT_INFORMATION + " " + CEASE_EXCEPTIONS,
             only_by=dict.fromkeys(CEASE_NOTICES, WRITTEN)),
    RuleInfo("us.workplace-email", "12 CFR 1006.22(f)(3) and comment 22(f)(3)-1",
             N_("We do not email you at an address your employer gave you."),
             N_("Employer-provided email address: no email unless the borrower used it with "
                "us or consented to it."),
             stops=NOT_ACCESS, lets_through=NO_DEBT_INFORMATION),
    RuleInfo("us.channel-opt-out", "12 CFR 1006.6(e), 1006.14(h)",
             N_("You asked us not to use this way of contacting you."),
             N_("Borrower opted out of this channel or this address/number."),
             stops=NOT_ACCESS, lets_through=NO_DEBT_INFORMATION),
    RuleInfo("us.call-frequency", "12 CFR 1006.14(b)(2)(i)(A), (b)(3)",
             N_("We have already called you the most times allowed this week."),
             N_("Seven call attempts in seven consecutive days on this debt (calls not "
                "connected and calls made with the borrower's consent excepted).")),
    RuleInfo("us.call-after-conversation", "12 CFR 1006.14(b)(2)(i)(B)",
             N_("We spoke with you recently, so we will not call again for a week."),
             N_("A telephone conversation took place in the last seven days (whoever "
                "called).")),
    RuleInfo("us.dispute-pending-verification", "12 CFR 1006.38(c), (d)(2)",
             N_("You disputed this debt. We have paused collection until we send you proof."),
             N_("Dispute received in the validation period: all collection stops until "
                "verification (and the original creditor's name and address, if asked for) "
                "is sent."),
             stops=COLLECTION_ONLY,
             lets_through=PAUSED_UNTIL_VERIFIED),
    RuleInfo("us.validation-period", "12 CFR 1006.34(b)(5), 1006.38(b)",
             N_("You can still dispute this debt; nothing we send may get in the way of that."),
             N_("Validation period: no communication may overshadow the right to dispute.")),
    RuleInfo("us.bankruptcy-stay", "11 USC 362(a)(6)",
             N_("You told us you filed for bankruptcy, so collection has stopped."),
             N_("Bankruptcy filing known: automatic stay, every act to collect stops."),
             stops=COLLECTION_ONLY,
             lets_through=STAY),
    RuleInfo("us.deceased", "12 CFR 1006.6(a)(4)",
             N_("We only contact the representative of the estate."),
             N_("Borrower deceased: contact only the estate's representative."),
             lets_through=NOT_THE_CONSUMER),
    RuleInfo("us.identity-theft", "FCRA 615(f), 605B",
             N_("You reported identity theft. Collection is paused while we review it."),
             N_("Identity theft reported: collection stops pending review; creditor informed."),
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    RuleInfo("us.time-barred", "12 CFR 1006.26(b)",
             N_("This debt is too old to sue on."),
             N_("Time-barred debt: no threat or mention of a lawsuit; give the state's "
                "disclosure where required.")),
    RuleInfo("us-ma.call-frequency",
             "209 CMR 18.16(1)(d) (debt collectors); 940 CMR 7.04(1)(f) (creditors); "
             "Armata v. Target, 480 Mass. 14",
             N_("Massachusetts law limits how often we may call or text you."),
             N_("Massachusetts: at most 2 telephone communications in 7 days to a personal "
                "number, 2 in 30 days to any other number (unanswered calls count)."),
             stops=NOT_ACCESS,
             lets_through=MA_INITIATED),
    RuleInfo("us-ma.visit-frequency",
             "209 CMR 18.17(6)-(7) (debt collectors); 940 CMR 7.04(1) (creditors)",
             N_("Massachusetts law limits visits to your home and does not allow visits to "
                "your workplace."),
             N_("Massachusetts: at most one household visit in 30 days per debt (visits where "
                "no one was contacted excepted); no workplace visits (we record no request "
                "for one).")),
    # United Kingdom ------------------------------------------------------------------------
    RuleInfo("uk.dispute", "FCA CONC 7.14.1R (suspension); 7.14.3R (investigation)",
             N_("You disputed this debt. We have paused recovery while we check it."),
             N_("Debt disputed on possibly valid grounds: recovery suspended until resolved "
                "with evidence."),
             stops=COLLECTION_ONLY,
             lets_through=RECOVERY_SUSPENDED),
    RuleInfo("uk.breathing-space", "Debt Respite Scheme Regulations 2020",
             N_("You are in breathing space. We will not ask you for payment until it ends."),
             N_("Standard breathing space: no payment requests or enforcement; interest and "
                "fees frozen for 60 days."),
             stops=COLLECTION_ONLY,
             lets_through=RESPITE),
    RuleInfo("uk.mental-health-crisis", "Debt Respite Scheme Regulations 2020",
             N_("You are in mental health crisis breathing space. We will not contact you "
                "to collect."),
             N_("Mental health crisis breathing space: lasts for the crisis treatment plus "
                "30 days; no fixed end until notice that treatment ended."),
             stops=COLLECTION_ONLY,
             lets_through=RESPITE),
    RuleInfo("uk.mental-capacity", "FCA CONC 7.10.2R",
             N_("We have paused collection while we make sure this is right for you."),
             N_("Doubt about mental capacity: pursuit suspended until capacity established."),
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    RuleInfo("uk.insolvency", "Insolvency Act 1986; FCA CONC 7",
             N_("You told us about a bankruptcy, debt relief order or IVA. We deal with the "
                "insolvency practitioner or official receiver, not with you."),
             N_("Insolvency (bankruptcy, DRO or IVA): recovery stops; deal with the insolvency "
                "practitioner or official receiver."),
             stops=COLLECTION_ONLY, lets_through=INSOLVENCY),
    RuleInfo("uk.contact-reasonable",
             "FCA CONC 7.9 (7.9.4R: the borrower's reasonable requests)",
             N_("We only contact you at reasonable times and in the ways you asked."),
             N_("Unreasonable time, or against the borrower's reasonable request."),
             stops=COLLECTION_ONLY,
             lets_through=REASONABLE),
    RuleInfo("uk.contact-request", "FCA CONC 7.9.4R",
             N_("You asked us not to use this way of contacting you."),
             N_("The borrower's reasonable request about how they are contacted (an opt-out "
                "of this channel or address/number): law, not policy."),
             stops=NOT_ACCESS, lets_through=NO_DEBT_INFORMATION),
    RuleInfo("uk.debt-advice-hold", "industry practice (policy)",
             N_("You told us you are getting debt advice, so we have paused contact."),
             N_("Borrower seeking debt advice: contact paused 30 days."), policy=True,
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    # China ---------------------------------------------------------------------------------
    RuleInfo("cn.quiet-hours", "GB/T 45251-2025; CBA consumer-loan collection guideline 2026",
             N_("We do not contact you between 10 pm and 8 am."),
             N_("No collection 22:00-08:00 local time, any channel, without agreement."),
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    RuleInfo("cn.effective-calls-per-day", "GB/T 45251-2025",
             N_("We have already spoken with you the most times allowed today."),
             N_("Three answered collection calls today (agency and lender together).")),
    RuleInfo("cn.unanswered-attempts-per-day", "CBA consumer-loan collection guideline 2026",
             N_("We have already tried this number the most times allowed today."),
             N_("Six unanswered dial attempts to this number today.")),
    RuleInfo("cn.third-party", "GB/T 45251-2025; Credit Card Business Rules art. 68",
             N_("We do not discuss your debt with other people."),
             N_("Emergency contacts only when the debtor cannot be reached, has died or lacks "
                "capacity; never reveal the debt.")),
    RuleInfo("cn.private-channels", "CBA consumer-loan collection guideline 2026",
             N_("We do not visit you or use private channels without your agreement."),
             N_("No visits, private phones or social apps without the debtor's consent.")),
    RuleInfo("cn.contact-request", "GB/T 45251-2025",
             N_("You asked us not to use this way of contacting you."),
             N_("The debtor asked that collection stop, or opted out of this channel or "
                "address/number: law, not policy."),
             stops=NOT_ACCESS, lets_through=NO_DEBT_INFORMATION),
    RuleInfo("cn.attorney-represented", "GB/T 45251-2025",
             N_("You told us a lawyer represents you, so we contact them instead."),
             N_("The debtor has appointed a lawyer: contact the lawyer, not the debtor."),
             stops=NOT_ACCESS, lets_through=NO_DEBT_INFORMATION),
    # Agency policy -------------------------------------------------------------------------
    RuleInfo("policy.plan-in-good-standing", "agency policy",
             N_("Your payment plan is on track, so we are not calling or texting you about it."),
             N_("Accepted plan in good standing: collection calls/texts paused; plan "
                "reminders allowed."), policy=True,
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    RuleInfo("policy.hardship-review", "agency policy",
             N_("We are reviewing your hardship request and have paused contact meanwhile."),
             N_("Hardship request awaiting decision: collection contact paused."), policy=True,
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    RuleInfo("policy.paid-in-full", "agency policy",
             N_("This account is paid. We will not contact you to collect it."),
             N_("Paid in full or settlement fulfilled: all collection contact stops."),
             policy=True,
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    RuleInfo("policy.account-closed", "agency policy",
             N_("This account is closed. We will not contact you to collect it."),
             N_("Account closed (e.g. dispute upheld, recalled): all collection contact stops."),
             policy=True,
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    # Not switchable: the creditor's instruction, which the agency may not override.
    RuleInfo("creditor.recalled",
             "agency policy; the creditor's recall instruction under its placement agreement",
             N_("Your creditor has taken this account back. We no longer collect it and will not "
                "contact you to collect it."),
             N_("Recalled by the creditor: all collection contact stops at once; only the notice "
                "that our efforts end (plans cancelled) and answers to the borrower's own steps "
                "may go."),
             stops=frozenset({Purpose.COLLECTION, Purpose.REMEDY}),
             lets_through=RECALLED),
    RuleInfo("policy.dispute-outside-validation", "agency policy",
             N_("You disputed this debt. We have paused collection while we review it."),
             N_("Dispute received after the validation period: paused while reviewed."),
             policy=True,
             stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    RuleInfo("policy.supervisor-pause", "agency policy",
             N_("We have paused contact with you about this account for a while."),
             N_("A supervisor paused collection contact on this account until the date shown "
                "(agency policy, lifted by a supervisor or when the date passes)."),
             policy=True, stops=COLLECTION_ONLY, lets_through=ANSWERS_THE_BORROWER),
    RuleInfo("policy.channel-opt-out", "agency policy",
             N_("You asked us not to use this way of contacting you."),
             N_("Borrower opted out of this channel or this address/number."), policy=True,
             stops=NOT_ACCESS, lets_through=NO_DEBT_INFORMATION),
]

RULES: dict[str, RuleInfo] = {rule.id: rule for rule in _RULES}
#: The rules an agency may switch off; every other rule is law.
POLICY_RULES: frozenset[str] = frozenset(rule.id for rule in _RULES if rule.policy)


def law_in_policy(policy: dict) -> list[str]:
    """The ids a stored policy map names that are not agency policy (law, or unknown): the
    engine ignores them, and whoever shows the map reports them."""
    return sorted(rule_id for rule_id in policy if rule_id not in POLICY_RULES)
