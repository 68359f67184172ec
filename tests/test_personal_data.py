"""Personal identifiers are encrypted at rest, masked on screen and never logged."""

from __future__ import annotations

import base64
import logging

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, text

from portal.accounts.models import Borrower, ContactPoint
from portal.crypto import FieldCipher, Tampered, UnboundField
from portal.extensions import db as database

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


def _dob(db, reference):
    from portal.accounts.models import Borrower

    return db.scalar(select(Borrower.date_of_birth).where(Borrower.reference == reference))


def test_a_ciphertext_copied_into_another_row_does_not_open(db, demo):
    """Alex's sealed date of birth pasted over María's, and Alex's email over María's: reading
    María's row fails as tampered; it never shows Alex's (issue 12)."""
    db.execute(text("UPDATE borrower SET date_of_birth = (SELECT date_of_birth FROM borrower"
                    " WHERE reference = 'DEMO-1001') WHERE reference = 'DEMO-1002'"))
    db.execute(text("UPDATE contact_point SET value = (SELECT value FROM contact_point"
                    " WHERE value_digest IS NOT NULL AND kind = 'email' AND borrower_id ="
                    " (SELECT id FROM borrower WHERE reference = 'DEMO-1001'))"
                    " WHERE kind = 'email' AND borrower_id ="
                    " (SELECT id FROM borrower WHERE reference = 'DEMO-1002')"))
    assert _dob(db, "DEMO-1001") == "1985-04-12"
    with pytest.raises(Tampered, match="borrower.date_of_birth of row"):
        _dob(db, "DEMO-1002")
    with pytest.raises(Tampered):
        db.scalars(select(ContactPoint.value).join(Borrower).where(
            Borrower.reference == "DEMO-1002", ContactPoint.kind == "email"))
    # Nor into another column of the same row.
    db.execute(text("UPDATE borrower SET national_id_last4 = date_of_birth"
                    " WHERE reference = 'DEMO-1001'"))
    with pytest.raises(Tampered):
        db.scalar(select(Borrower.national_id_last4).where(Borrower.reference == "DEMO-1001"))


def test_fields_are_written_bound_to_their_row_and_read_back(db, demo):
    def add():
        borrower = database.session.scalar(select(Borrower).where(Borrower.reference
                                                                  == "DEMO-1001"))
        point = ContactPoint(borrower=borrower, kind="email", label="work",
                             value="alex.work@example.com", value_digest=b"x" * 32,
                             country="US", time_zones=["America/New_York"])
        database.session.add(point)
        borrower.national_id_last4 = "9876"
        database.session.flush()
        return point.id

    point_id = db.run(add)
    stored = bytes(db.execute(text("SELECT value FROM contact_point WHERE id = :id"),
                              {"id": point_id}).scalar())
    assert stored[0] == 2  # bound to its row
    assert db.scalar(select(ContactPoint.value).where(ContactPoint.id == point_id)) \
        == "alex.work@example.com"
    assert db.scalar(select(Borrower.national_id_last4).where(
        Borrower.reference == "DEMO-1001")) == "9876"


def test_legacy_fields_still_read_and_rotation_binds_them(app, db, demo):
    """A field sealed before rows were bound (format 1) reads; `keys rotate` re-seals it bound
    to its row with the newest key; afterwards it cannot be moved either."""
    with app.app_context():
        current = app.config["FIELD_ENCRYPTION_KEYS"]
        legacy = FieldCipher(current).encrypt("1979-07-30", "borrower.date_of_birth")
    db.execute(text("UPDATE borrower SET date_of_birth = :blob WHERE reference = 'DEMO-1002'"),
               {"blob": legacy})
    assert _dob(db, "DEMO-1002") == "1979-07-30"

    newer = current + ",200:" + base64.b64encode(b"n" * 32).decode()
    original = app.extensions["portal.cipher"]
    app.extensions["portal.cipher"] = FieldCipher(newer)
    try:
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "borrower:" in result.output
        blobs = db.execute(text("SELECT date_of_birth, national_id_last4 FROM borrower")).all()
        assert {bytes(b)[:2] for row in blobs for b in row if b is not None} == {bytes([2, 200])}
        points = db.execute(text("SELECT value FROM contact_point")).scalars().all()
        assert {bytes(b)[:2] for b in points} == {bytes([2, 200])}
        assert _dob(db, "DEMO-1002") == "1979-07-30"
        assert _dob(db, "DEMO-1001") == "1985-04-12"
        again = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert "borrower: 0 rows" in again.output  # nothing stale is left
        db.execute(text("UPDATE borrower SET date_of_birth = (SELECT date_of_birth FROM borrower"
                        " WHERE reference = 'DEMO-1001') WHERE reference = 'DEMO-1002'"))
        with pytest.raises(Tampered):
            _dob(db, "DEMO-1002")
        # Once rotated, FIELD_ENCRYPTION_LEGACY=0: a legacy field pasted in from a backup (not
        # bound to any row) is refused too.
        app.extensions["portal.cipher"] = FieldCipher(newer, legacy=False)
        db.execute(text("UPDATE borrower SET date_of_birth = :blob"
                        " WHERE reference = 'DEMO-1002'"), {"blob": legacy})
        with pytest.raises(Tampered, match="legacy format"):
            _dob(db, "DEMO-1002")
    finally:
        app.extensions["portal.cipher"] = original


def test_a_field_written_without_its_row_is_refused(db, demo):
    from sqlalchemy import update
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="written without its row") as raised:
        db.execute(update(Borrower).where(Borrower.reference == "DEMO-1001")
                   .values(national_id_last4="1111"))
    assert isinstance(raised.value.orig, UnboundField)
