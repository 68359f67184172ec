"""A text a borrower sends back: STOP and its kin opt the number out, START opts it back in,
HELP says who is writing. Each reply is one transaction; the answer is the one text to send back
(None: send nothing), in the borrower's language."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import phonenumbers
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.models import Borrower, ContactKind, ContactPoint
from portal.accounts.zones import normalise_phone
from portal.agency.models import Agency
from portal.cases.service import Actor
from portal.contact import service as contact
from portal.contact.derive import CONSENTED
from portal.contact.operations import preferences_changed
from portal.crypto import lookup_digest
from portal.extensions import db
from portal.messaging.sms import rules
from portal.operations import operation
from portal.web.i18n import LANGUAGES

log = logging.getLogger("portal.messaging")


@operation
def text_received(number: str, text: str, provider: str, config: Mapping) -> str | None:
    """Act on a keyword texted from `number`; the reply to send back, or None."""
    word = rules.keyword(text)
    if word is None:
        return None  # a conversation is for staff, not for a robot
    points = _points_of(number)
    borrowers = _borrowers_of(points)
    language = borrowers[0].preferred_language if borrowers else "en"
    with force_locale(LANGUAGES.get(language, "en")):
        if word == "help":
            return _help(borrowers, config)
        if not points:
            # Nobody of ours has this number: nothing to record, nothing said about anyone.
            log.info("sms %s keyword from a number not on file", word)
            return None
        changed = [b for b in borrowers
                   if _opt(b, {p.id for p in points if p.borrower_id == b.id}, word, provider)]
        if not changed:
            return None  # already so: at most one confirmation
        name = _agency_name(borrowers, config)
        if word == "stop":
            return _("You will get no more texts from %(agency)s at this number. Reply START "
                     "to get them again.", agency=name)
        return _("You will get texts from %(agency)s at this number again. Reply STOP to end "
                 "them.", agency=name)


def _points_of(number: str) -> list[ContactPoint]:
    try:
        e164 = normalise_phone(number)
    except (ValueError, phonenumbers.NumberParseException):
        return []
    digest = lookup_digest(e164, f"contact_point.{ContactKind.PHONE}")
    return list(db.session.scalars(
        select(ContactPoint).where(ContactPoint.kind == ContactKind.PHONE,
                                   ContactPoint.value_digest == digest)
        .order_by(ContactPoint.id)))


def _borrowers_of(points: list[ContactPoint]) -> list[Borrower]:
    seen: dict[int, Borrower] = {}
    for point in points:
        seen.setdefault(point.borrower_id, point.borrower)
    return list(seen.values())


def _opt(borrower: Borrower, point_ids: set[int], word: str, provider: str) -> bool:
    """Opt these numbers of the borrower's out (stop) or back in (start), through the
    preferences path the portal's own page uses; True when that changed anything."""
    said = {k: v for k, v in contact.preferences_of(borrower.id).items()
            if k not in (CONSENTED, "language")}
    before = set(said.get("opted_out_points", []))
    after = before | point_ids if word == "stop" else before - point_ids
    if after == before:
        return False
    preferences_changed(borrower, {**said, "opted_out_points": sorted(after)}, None,
                        Actor("borrower", str(borrower.id), f"sms:{provider}"))
    return True


def _agency(borrowers: list[Borrower]) -> Agency | None:
    for borrower in borrowers:
        for account in borrower.accounts:
            if account.creditor.agency_id:
                return db.session.get(Agency, account.creditor.agency_id)
    return None


def _agency_name(borrowers: list[Borrower], config: Mapping) -> str:
    agency = _agency(borrowers)
    return agency.name if agency else (config.get("SMS_HELP_NAME") or _("the agency"))


def _help(borrowers: list[Borrower], config: Mapping) -> str:
    agency = _agency(borrowers)
    name = agency.name if agency else (config.get("SMS_HELP_NAME") or _("the agency"))
    phone = getattr(agency, "phone", None) or config.get("SMS_HELP_PHONE")
    website = getattr(agency, "website", None) or config.get("SMS_HELP_WEBSITE")
    reach = " ".join(filter(None, [phone, website]))
    text = _("This is %(agency)s, a debt collector.", agency=name)
    if reach:
        text += " " + _("Contact us: %(reach)s.", reach=reach)
    return text + " " + _("Reply STOP to end texts.")
