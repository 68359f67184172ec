"""Every user-facing string is in the committed English catalog (run `make translations`), and
every other catalog translates all of it: a reader never meets English halfway through a page."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portal.web.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "portal" / "translations"
#: The language the messages are written in: its catalog's empty msgstr means "as written".
SOURCE = "en"
#: Markup a translation must keep, tag for tag.
MARKUP = re.compile(r"</?[a-zA-Z][^>]*>")
#: Placeholders a translation must keep, every one (Babel's own check allows dropping some).
PLACEHOLDER = re.compile(r"%\(\w+\)[a-z]|%[sd]|\{\w*\}")


def _ids(path: Path) -> set:
    with path.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def _locales() -> list[str]:
    return sorted(p.parent.parent.name for p in CATALOGS.glob("*/LC_MESSAGES/messages.po"))


def _catalog(locale: str):
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


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


def test_there_are_catalogs_besides_the_source_language():
    assert [locale for locale in _locales() if locale != SOURCE]


def test_every_catalog_is_loaded_for_a_language_the_portal_offers():
    """Flask-Babel looks for the folder named for the Babel locale of LANGUAGES: a catalog in
    any other folder would never be shown."""
    assert set(_locales()) <= set(LANGUAGES.values())


@pytest.mark.parametrize("locale", _locales())
def test_every_catalog_has_every_message_and_none_fuzzy(locale):
    template = _ids(CATALOGS / "messages.pot")
    catalog = _catalog(locale)
    ids = {m.id for m in catalog if m.id}
    assert sorted(map(str, template - ids)) == [], f"{locale} lacks these messages"
    assert sorted(map(str, ids - template)) == [], f"{locale} has stale messages"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], f"{locale} has fuzzy messages"


@pytest.mark.parametrize("locale", [locale for locale in _locales() if locale != SOURCE])
def test_every_message_is_translated_keeping_placeholders_and_markup(locale):
    catalog = _catalog(locale)
    untranslated, broken = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if len(strings) < catalog.num_plurals or not all(s and s.strip() for s in strings):
            untranslated.append(message.id)
            continue
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        if any(Counter(MARKUP.findall(s)) != Counter(MARKUP.findall(source)) for s in strings):
            broken.append((message.id, "markup"))
        if any(set(PLACEHOLDER.findall(s)) != set(PLACEHOLDER.findall(source)) for s in strings):
            broken.append((message.id, "placeholders"))
    broken += [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert untranslated == [], f"{locale} leaves these messages untranslated"
    assert broken == [], f"{locale} changes placeholders or markup"
