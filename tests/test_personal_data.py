"""Personal identifiers are encrypted at rest, masked on screen and never logged."""

from __future__ import annotations

import base64
import logging

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text

from portal.crypto import FieldCipher

KEY1 = "1:" + base64.b64encode(b"a" * 32).decode()
KEY2 = "2:" + base64.b64encode(b"b" * 32).decode()


@pytest.mark.parametrize(
    ("table", "column", "plaintext"),
    [
        ("borrower", "date_of_birth", "1985-04-12"),
        ("borrower", "national_id_last4", "4321"),
        ("contact_point", "value", "alex@example.com"),
        ("contact_point", "value", "+12135550147"),
        ("account", "original_account_number", "4000123412341234"),
    ],
)
def test_no_plaintext_in_stored_bytes(db, demo, table, column, plaintext):
    stored = [bytes(row[0]) for row in db.execute(text(f"SELECT {column} FROM {table}"))
              if row[0] is not None]
    assert stored, "nothing stored"
    assert not any(plaintext.encode() in blob for blob in stored)
    # Nor anywhere else in the table's text form (its other, non-binary columns: ciphertext shown
    # as hex would contain a four-digit plaintext by chance about once in a hundred runs).
    columns = db.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
        " AND data_type <> 'bytea'"), {"t": table}).scalars().all()
    listing = ", ".join(f'"{c}"::text' for c in columns)
    dump = db.execute(text(f"SELECT string_agg(concat_ws('|', {listing}), '') FROM {table}"))
    assert plaintext not in dump.scalar()


def test_ciphertext_is_bound_to_its_field():
    cipher = FieldCipher(KEY1)
    sealed = cipher.encrypt("1985-04-12", "borrower.date_of_birth")
    assert cipher.decrypt(sealed, "borrower.date_of_birth") == "1985-04-12"
    with pytest.raises(InvalidTag):
        cipher.decrypt(sealed, "account.original_account_number")


def test_keys_rotate_old_data_still_reads():
    old = FieldCipher(KEY1).encrypt("4321", "borrower.national_id_last4")
    rotated = FieldCipher(f"{KEY1},{KEY2}")
    assert rotated.decrypt(old, "borrower.national_id_last4") == "4321"
    fresh = rotated.encrypt("4321", "borrower.national_id_last4")
    assert FieldCipher.key_id(fresh) == 2 and FieldCipher.key_id(old) == 1


def test_masked_on_the_borrowers_pages(person, demo):
    page = person.sign_in("DEMO-1001", "1985-04-12")
    detail = person.get("/accounts/NWB-1001")

    assert "••••1234" in detail.text
    assert "4000123412341234" not in detail.html
    assert "1985-04-12" not in page.html + detail.html


def test_sign_in_secrets_never_reach_the_logs(person, demo, caplog):
    caplog.set_level(logging.DEBUG)
    person.sign_in("DEMO-1001", "1985-04-12")
    code_page = person.get("/dev/messages")
    code = code_page.soup.select_one(".message__body").get_text()

    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("1985-04-12", "alex@example.com", "2135550147", code.split()[4].rstrip(".")):
        assert secret not in logged
