"""Field encryption (AES-GCM with a key id, so keys can rotate) and keyed look-up hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

FORMAT_VERSION = 1


class FieldCipher:
    """Encrypts one value bound to its column, so a ciphertext cannot be moved to another field."""

    def __init__(self, keys: str):
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


class Encrypted(TypeDecorator):
    """A text column stored as AES-GCM ciphertext; `purpose` is the associated data."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return cipher().encrypt(str(value), self.purpose)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return cipher().decrypt(bytes(value), self.purpose)
