"""A message's words as they leave: the text, its HTML twin for email, and the opt-out that
12 CFR 1006.6(e) requires in every electronic communication about a debt.

Runs inside the borrower's locale (notify forces it), so the opt-out line is in their language.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from portal.contact.rulebook import Purpose
from portal.messaging import layout
from portal.messaging.messages import Words

#: The preferences page, where a borrower opts out of a channel or an address.
PREFERENCES_PATH = "/contact-preferences"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    #: The HTML alternative (email only).
    html: str | None
    #: The opt-out link (List-Unsubscribe for email), when the message needs one.
    unsubscribe: str | None


def needs_opt_out(purpose: Purpose) -> bool:
    """Every message about a debt carries the opt-out; a sign-in code the borrower asked for just
    now is no communication about one."""
    return purpose != Purpose.ACCESS


def render(words: Words, purpose: Purpose, channel: str, public_url: str,
           kind: str = "") -> Rendered:
    """Text (and HTML for email) with the opt-out line; escaped, the same words in both. A
    laid-out notice's HTML has its headings, itemization table and tick boxes as HTML, never
    the text's marks."""
    unsubscribe = f"{public_url}{PREFERENCES_PATH}" if needs_opt_out(purpose) else None
    opt_out = None
    if unsubscribe and channel == "email":
        opt_out = _("To unsubscribe from these emails, or to choose how and when we contact "
                    "you, go to %(url)s.", url=unsubscribe)
    elif unsubscribe and channel == "sms":
        opt_out = _("Reply STOP to opt out.")
    text = words.body + (f"\n\n{opt_out}" if opt_out else "")
    html = None
    if channel == "email":
        linked = None
        if opt_out:  # the address, escaped, made a link inside the escaped sentence
            link = Markup('<a href="{0}">{0}</a>').format(unsubscribe)
            linked = Markup(escape(opt_out).replace(escape(unsubscribe), link))
        html = render_template("messaging/email.html", subject=words.subject,
                               lang=str(get_locale() or "en").replace("_", "-"),
                               blocks=_blocks(words.body, kind), opt_out=linked)
    return Rendered(words.subject, text, html, unsubscribe if channel == "email" else None)


def _blocks(body: str, kind: str) -> list[layout.Block]:
    """The body's blocks for the HTML part: a laid-out notice's as marked, else paragraphs."""
    if kind in layout.LAID_OUT:
        return layout.blocks(body)
    return [layout.Block("text", p) for p in body.split("\n\n") if p.strip()]
