"""Which language and time zone a page is shown in, and the template filters that use them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import dates
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import has_request_context, request, session
from flask_babel import get_locale, get_timezone, get_translations
from flask_login import current_user
from jinja2 import pass_context

from portal.money import Money, minor_digits

#: Language code offered to people -> Babel locale used for text, numbers and dates.
LANGUAGES = {"en": "en", "es": "es_US", "zh": "zh_Hans_CN"}
#: Each language named in itself, for the switcher.
LANGUAGE_NAMES = {"en": "English", "es": "Español", "zh": "简体中文"}


def language_code() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user and getattr(current_user, "is_borrower", False):
        preferred = current_user.preferred_language
        if preferred in LANGUAGES:
            return preferred
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def select_locale() -> str:
    if not has_request_context():  # a job or a command: the default language
        return LANGUAGES["en"]
    return LANGUAGES[language_code()]


def select_timezone() -> str | None:
    """Show a borrower's times in their own zone (their mailing address's first zone), a staff
    user's in theirs (or their agency's)."""
    if current_user and getattr(current_user, "is_borrower", False):
        address = current_user.mailing_address
        if address and address.time_zones:
            return address.time_zones[0]
    if current_user and getattr(current_user, "is_staff", False):
        return current_user.shown_time_zone
    return None


def money(value: Money) -> str:
    return value.format(str(get_locale()))


def amounts(currency: str) -> Callable[[int], str]:
    """Many amounts of one currency in minor units, written as the page's locale writes numbers
    ("1,234.56", "1.234,56"), the currency named once beside them (a column's heading, an axis):
    Babel reads the locale's separators once, where `money` asks it again for every amount."""
    locale = get_locale()
    group, point = get_group_symbol(locale), get_decimal_symbol(locale)
    digits = minor_digits(currency)

    def written(minor: int) -> str:
        plain = f"{Decimal(minor).scaleb(-digits):,.{digits}f}"
        return plain.replace(",", "\0").replace(".", point).replace("\0", group)

    return written


def long_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # in the page's zone, named: "... 7:12:00 PM EST"
        return _long_datetime(value, str(get_locale()), get_timezone())
    return _long_date(value, str(get_locale()))


@lru_cache(maxsize=4096)
def _long_date(value: date, locale: str) -> str:
    """A day written long in a locale, remembered: Babel parses the pattern on every call, and
    an account page writes the same few days many times (bench/web.py)."""
    return dates.format_date(value, "long", locale=locale)


@lru_cache(maxsize=4096)
def _long_datetime(value: datetime, locale: str, zone) -> str:
    """A moment written long in a locale and a time zone, remembered: what Flask-Babel's
    `format_datetime(value, "long")` writes, without Babel reading the locale's pattern and
    day periods again each time (7 calls an account page, 0.25 ms each; bench/page_time.py)."""
    return dates.format_datetime(value, "long", tzinfo=zone, locale=locale)


def _translations(context):
    """The page's translations, looked up once per render (`register_filters` puts them in the
    template's context); a macro imported without the context asks Flask-Babel, as it would."""
    found = context.get("babel_translations")
    return found if found is not None else get_translations()


@pass_context
def _gettext(context, message: str) -> str:
    return _translations(context).ugettext(message)


@pass_context
def _ngettext(context, singular: str, plural: str, n: int) -> str:
    return _translations(context).ungettext(singular, plural, n)


@pass_context
def _pgettext(context, where: str, message: str) -> str:
    return _translations(context).upgettext(where, message)


@pass_context
def _npgettext(context, where: str, singular: str, plural: str, n: int) -> str:
    return _translations(context).unpgettext(where, singular, plural, n)


def register_filters(app) -> None:
    """The template filters, and `_()` in templates reading the translations once per render:
    Flask-Babel's own callables look them up again for every string (some 70 an account page,
    each through four context lookups; bench/page_time.py). Called after `babel.init_app`."""
    app.context_processor(lambda: {"babel_translations": get_translations()})
    app.jinja_env.install_gettext_callables(
        gettext=_gettext, ngettext=_ngettext, newstyle=True, pgettext=_pgettext,
        npgettext=_npgettext)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.jinja_env.globals["language_code"] = language_code
