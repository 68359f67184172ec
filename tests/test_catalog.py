"""Every user-facing string is in the committed catalogs (run `make translations`), and every
catalog of another language translates each of them, none fuzzy, placeholders and markup kept."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portal.web.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "portal" / "translations"
#: Every catalog present, by its folder's locale; English is the source language (empty = msgid).
PRESENT = sorted(p.parent.parent.name for p in CATALOGS.glob("*/LC_MESSAGES/messages.po"))
TRANSLATED = [locale for locale in PRESENT if locale != "en"]
#: What a translation must carry over unchanged: %(name)s, %s, {name}, tags, entities.
KEPT = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}|<[^>]+>|&\w+;")


def _messages(path: Path, locale: str | None = None) -> list:
    with path.open("rb") as f:
        return [m for m in read_po(f, locale=locale) if m.id]


def _plurals(locale: str) -> int:
    with _po(locale).open("rb") as f:
        return read_po(f, locale=locale).num_plurals


def _ids(path: Path) -> set:
    return {m.id for m in _messages(path)}


def _po(locale: str) -> Path:
    return CATALOGS / locale / "LC_MESSAGES" / "messages.po"


def _forms(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def test_catalog_is_up_to_date(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "N_", "--no-location", "--omit-header",
         "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    committed = _ids(CATALOGS / "messages.pot")
    current = _ids(fresh)
    assert current - committed == set(), "strings missing from the catalog: run make translations"
    assert committed - current == set(), "stale strings in the catalog: run make translations"
    assert _ids(CATALOGS / "en" / "LC_MESSAGES" / "messages.po") == current


def test_the_catalogs_include_another_language_than_english():
    assert TRANSLATED, "no translated catalog found: the tests below would check nothing"


@pytest.mark.parametrize("locale", PRESENT)
def test_each_catalog_is_reached_by_an_offered_language(locale):
    """gettext finds a catalog by the locale or its fallbacks (es_US finds es)."""
    reached = {Path(gettext.find("messages", CATALOGS, [offered])).parent.parent.name
               for offered in LANGUAGES.values() if gettext.find("messages", CATALOGS, [offered])}
    assert locale in reached, f"no language of i18n.LANGUAGES reaches the {locale} catalog"


@pytest.mark.parametrize("locale", PRESENT)
def test_each_catalog_has_every_message_of_the_template(locale):
    template = _ids(CATALOGS / "messages.pot")
    catalog = _ids(_po(locale))
    assert sorted(template - catalog, key=str)[:10] == [], f"{locale} lacks messages"
    assert sorted(catalog - template, key=str)[:10] == [], f"{locale} has stale messages"


@pytest.mark.parametrize("locale", PRESENT)
def test_no_message_is_fuzzy(locale):
    fuzzy = [m.id for m in _messages(_po(locale)) if m.fuzzy]
    assert fuzzy[:10] == [], f"{locale} has {len(fuzzy)} fuzzy messages"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_in_every_plural_form(locale):
    plurals = _plurals(locale)
    untranslated = [m.id for m in _messages(_po(locale), locale)
                    if not all(form.strip() for form in _forms(m.string))
                    or (m.pluralizable and len(m.string) != plurals)]
    assert untranslated[:10] == [], f"{locale} leaves {len(untranslated)} messages untranslated"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_placeholders_and_markup(locale):
    changed = []
    # Read with the locale: without it Babel pads a one-form (zh) plural with an empty second form.
    for m in _messages(_po(locale), locale):
        wanted = sorted(KEPT.findall(_forms(m.id)[-1]))
        for form in _forms(m.string):
            if sorted(KEPT.findall(form)) != wanted:
                changed.append((m.id, form))
    assert changed[:5] == [], f"{locale}: placeholders or markup changed in {len(changed)}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_babels_own_checks_pass(locale):
    with _po(locale).open("rb") as f:
        catalog = read_po(f, locale=locale)
    broken = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert broken[:5] == [], f"{locale}: {len(broken)} messages fail Babel's checks"
