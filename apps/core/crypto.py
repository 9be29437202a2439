"""Secrets at rest (OAuth tokens, stored API credentials): Fernet with key rotation.

FIELD_ENCRYPTION_KEYS is a comma-separated list of Fernet keys, newest first. New values are
encrypted with the first key; any listed key decrypts, so rotating is: put the new key first, run
`manage.py rotate_encrypted_fields` (every EncryptedTextField column, rewritten with the new key),
then drop the old key.

Our own models declare `EncryptedTextField`; another app's text columns (allauth's OAuth tokens) are
switched to it in place by `encrypt_at_rest()`, keeping their migrations as they are.
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


class _EncryptedInPlace(EncryptedTextField):
    """EncryptedTextField put onto another app's TextField: its migrations still see a TextField
    (the column type is the same), so `makemigrations` has nothing to write for that app."""

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs


def encrypt_at_rest(model, *field_names: str) -> None:
    """Store these TextField columns of `model` encrypted from now on (called from an AppConfig's
    ready(), before any query). Values written before stay readable; `rotate_encrypted_fields`
    encrypts them."""
    for name in field_names:
        field = model._meta.get_field(name)
        if isinstance(field, EncryptedTextField):
            continue
        if type(field) is not models.TextField:
            raise TypeError(
                f"{model.__name__}.{name} is a {type(field).__name__}: only TextField columns fit ciphertext"
            )
        field.__class__ = _EncryptedInPlace


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    from django.apps import apps

    return [
        (model, field.attname)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]
