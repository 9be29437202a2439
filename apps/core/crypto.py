"""Secrets at rest (OAuth tokens, stored API credentials): Fernet with key rotation.

FIELD_ENCRYPTION_KEYS is a comma-separated list of Fernet keys, newest first. New values are
encrypted with the first key; any listed key decrypts, so rotating is: put the new key first, run
`manage.py rotate_encrypted_fields`, then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "enc1:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        # Development default derived from SECRET_KEY; production sets FIELD_ENCRYPTION_KEYS.
        derived = base64.urlsafe_b64encode(hashlib.sha256(("fields:" + settings.SECRET_KEY).encode()).digest())
        return MultiFernet([Fernet(derived)])
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(PREFIX):
        return value  # written before encryption was turned on
    try:
        return fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: no configured key matches") from exc


def rotate(value: str) -> str:
    """Re-encrypt with the newest key."""
    if not value.startswith(PREFIX):
        return encrypt(value)
    return PREFIX + fernet().rotate(value[len(PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads give plain text back. Not searchable or indexable."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
