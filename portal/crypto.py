"""Field encryption (AES-GCM with a key id, so keys can rotate) and keyed look-up hashes.

A field's ciphertext is bound to its column and to its row: the associated data names the column
(`purpose`) and the row's id, so a ciphertext copied into another row (or column) does not open
(`Tampered`). Fields written before that (format 1, bound to the column only) still read, and
`flask --app portal keys rotate` re-seals them in the bound form (format 2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import LargeBinary, event, func, select, type_coerce
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

#: Bound to its column only (evidence files, and fields written before rows were bound).
FORMAT_VERSION = 1
#: A field bound to its column and its row's id.
ROW_BOUND = 2
#: How a selected field arrives: the row's id (8 bytes, `int8send`) then the ciphertext.
ROW_ID_BYTES = 8


class Tampered(ValueError):
    """A field's ciphertext that does not open where it was read: moved from another row or
    column, or altered. Never shown, never replaced by a guess: the read fails."""


class UnboundField(RuntimeError):
    """A field written without the row it belongs to (a core INSERT/UPDATE, a COPY): a bug."""


def row_aad(purpose: str, row_id: int) -> bytes:
    return f"{purpose}\x00row\x00{int(row_id)}".encode()


class FieldCipher:
    """Encrypts one value bound to its column, so a ciphertext cannot be moved to another field."""

    def __init__(self, keys: str, legacy: bool = True):
        #: Whether fields sealed to their column only (format 1) still open.
        self.legacy = legacy
        self._keys: dict[int, AESGCM] = {}
        for part in keys.split(","):
            kid, _, material = part.strip().partition(":")
            raw = base64.b64decode(material)
            if len(raw) != 32:
                raise ValueError("field encryption keys must be 32 bytes (base64)")
            self._keys[int(kid)] = AESGCM(raw)
        if not self._keys or not all(0 < k < 256 for k in self._keys):
            raise ValueError("FIELD_ENCRYPTION_KEYS must be 'id:base64key,...' with ids 1-255")
        self.current = max(self._keys)

    def encrypt(self, plaintext: str, purpose: str) -> bytes:
        return self.encrypt_bytes(plaintext.encode(), purpose)

    def encrypt_bytes(self, data: bytes, purpose: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._keys[self.current].encrypt(nonce, data, purpose.encode())
        return bytes([FORMAT_VERSION, self.current]) + nonce + sealed

    def decrypt_bytes(self, blob: bytes, purpose: str) -> bytes:
        if len(blob) < 14 or blob[0] != FORMAT_VERSION or blob[1] not in self._keys:
            raise ValueError("unreadable encrypted file")
        return self._keys[blob[1]].decrypt(blob[2:14], blob[14:], purpose.encode())

    def decrypt(self, blob: bytes, purpose: str) -> str:
        if len(blob) < 14 or blob[0] != FORMAT_VERSION or blob[1] not in self._keys:
            raise ValueError("unreadable encrypted field")
        return self._keys[blob[1]].decrypt(blob[2:14], blob[14:], purpose.encode()).decode()

    def seal(self, plaintext: str, purpose: str, row_id: int) -> bytes:
        """A field bound to its column and row (format 2)."""
        nonce = os.urandom(12)
        sealed = self._keys[self.current].encrypt(nonce, plaintext.encode(),
                                                  row_aad(purpose, row_id))
        return bytes([ROW_BOUND, self.current]) + nonce + sealed

    def open(self, blob: bytes, purpose: str, row_id: int) -> str:
        """A field read from row `row_id`: format 2 must be bound to that row, format 1 (legacy)
        to the column. Raises Tampered otherwise."""
        if blob[:1] == bytes([FORMAT_VERSION]) and not self.legacy:
            raise Tampered(f"encrypted field {purpose} of row {row_id} is in the legacy format, "
                           "refused (FIELD_ENCRYPTION_LEGACY=0)")
        if len(blob) < 14 or blob[0] not in (FORMAT_VERSION, ROW_BOUND) \
                or blob[1] not in self._keys:
            raise Tampered(f"unreadable encrypted field ({purpose}, row {row_id})")
        aad = row_aad(purpose, row_id) if blob[0] == ROW_BOUND else purpose.encode()
        try:
            return self._keys[blob[1]].decrypt(blob[2:14], blob[14:], aad).decode()
        except InvalidTag:
            raise Tampered(f"encrypted field {purpose} of row {row_id} does not belong to it "
                           "(moved from another row or column, or altered)") from None

    def stale(self, blob: bytes) -> bool:
        """Written in the legacy format or with an older key: `keys rotate` re-seals it."""
        return blob[0] != ROW_BOUND or blob[1] != self.current

    @staticmethod
    def key_id(blob: bytes) -> int:
        return blob[1]


class LookupHasher:
    """HMAC of a normalised value: lets us find a row by a secret without storing it readably."""

    def __init__(self, key: str):
        self._key = key.encode()

    def digest(self, value: str, purpose: str) -> bytes:
        return hmac.new(self._key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()


def cipher() -> FieldCipher:
    return current_app.extensions["portal.cipher"]


def lookup_digest(value: str, purpose: str) -> bytes:
    return current_app.extensions["portal.hasher"].digest(value, purpose)


class RowValue(str):
    """A field's plaintext with the id of the row it belongs to (what it is sealed to)."""

    row_id: int

    def __new__(cls, value: str, row_id: int):
        made = super().__new__(cls, value)
        made.row_id = row_id
        return made


def opened(selected: bytes, purpose: str) -> RowValue:
    """A field as `Encrypted` selects it (the row's id, then the ciphertext), opened."""
    row_id = int.from_bytes(selected[:ROW_ID_BYTES], "big", signed=True)
    return RowValue(cipher().open(selected[ROW_ID_BYTES:], purpose, row_id), row_id)


class _Selected(TypeDecorator):
    """An encrypted field as selected (its row's id, then the ciphertext): opened when read."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_result_value(self, value, dialect):
        return None if value is None else opened(bytes(value), self.purpose)


class Encrypted(TypeDecorator):
    """A text column stored as AES-GCM ciphertext bound to its column (`purpose`) and its row's
    `id`: every SELECT of it reads the row's id with it, and a flush gives each new or changed
    value its row (`_bind_rows`)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def column_expression(self, column):
        table = getattr(column, "table", None)
        if table is None or "id" not in table.c:
            raise UnboundField(f"{self.purpose} selected without its row's id")
        return type_coerce(func.int8send(table.c.id).op("||")(column), _Selected(self.purpose))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, RowValue):
            raise UnboundField(f"{self.purpose} written without its row (use the ORM)")
        return cipher().seal(str(value), self.purpose, value.row_id)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return opened(bytes(value), self.purpose)


_FIELDS: dict = {}


def encrypted_fields(mapper) -> list[tuple[str, str]]:
    """(attribute, purpose) of each Encrypted column of a mapped class."""
    found = _FIELDS.get(mapper)
    if found is None:
        found = _FIELDS[mapper] = [
            (prop.key, prop.columns[0].type.purpose) for prop in mapper.column_attrs
            if len(prop.columns) == 1 and isinstance(prop.columns[0].type, Encrypted)]
    return found


@event.listens_for(Session, "before_flush")
def _bind_rows(session, _context, _instances):
    """Before a flush: give new rows with encrypted fields their id (from the table's sequence),
    and each field value the id of the row it is written to."""
    waiting: dict = {}
    for obj in list(session.new) + list(session.dirty):
        state = sa_inspect(obj)
        fields = encrypted_fields(state.mapper)
        if fields:
            waiting.setdefault(state.mapper.local_table, []).append((obj, fields))
    for table, rows in waiting.items():
        new = [obj for obj, _fields in rows if obj.id is None]
        if new:
            ids = session.scalars(select(func.nextval(func.pg_get_serial_sequence(
                table.name, "id"))).select_from(func.generate_series(1, len(new)))).all()
            for obj, row_id in zip(new, ids, strict=True):
                obj.id = row_id
        for obj, fields in rows:
            for key, _purpose in fields:
                value = obj.__dict__.get(key)
                if value is not None and not (isinstance(value, RowValue)
                                              and value.row_id == obj.id):
                    setattr(obj, key, RowValue(str(value), obj.id))
