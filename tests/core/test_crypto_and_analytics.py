import io

import pytest
from cryptography.fernet import Fernet

from apps.core import analytics, crypto


@pytest.fixture
def keys(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    return old, new


def test_round_trip_and_ciphertext_hides_the_value(keys):
    stored = crypto.encrypt("ya29.oauth-access-token")
    assert stored.startswith("enc1:") and "ya29" not in stored
    assert crypto.decrypt(stored) == "ya29.oauth-access-token"


def test_rotation_keeps_old_values_readable_and_rewrites_with_the_new_key(keys, settings):
    old, new = keys
    stored = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(stored) == "secret"
    rotated = crypto.rotate(stored)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "secret"
    with pytest.raises(ValueError):
        crypto.decrypt(stored)  # the old key is gone


def test_plain_legacy_values_pass_through(keys):
    assert crypto.decrypt("not encrypted yet") == "not encrypted yet"


def test_track_calls_every_sink_and_survives_a_broken_one(settings):
    got = []
    settings.ANALYTICS_SINKS = [
        "tests.core.test_crypto_and_analytics.broken_sink",
        "tests.core.test_crypto_and_analytics.collect",
    ]
    analytics._sinks.cache_clear()
    COLLECTED.clear()
    analytics.track("post.created", user_id=7, properties={"category": "memes"})
    got = list(COLLECTED)
    analytics._sinks.cache_clear()
    assert got and got[0]["name"] == "post.created" and got[0]["user_id"] == 7
    assert got[0]["properties"] == {"category": "memes"}


COLLECTED: list = []


def collect(event):
    COLLECTED.append(event)


def broken_sink(event):
    raise RuntimeError("warehouse down")


@pytest.fixture
def oauth_token(db):
    from allauth.socialaccount.models import SocialAccount, SocialToken

    from tests.factories import UserFactory

    account = SocialAccount.objects.create(user=UserFactory(), provider="github", uid="4242")
    return SocialToken.objects.create(account=account, token="gho_plain-access-token", token_secret="refresh-me")


def _raw_token(pk):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT token, token_secret FROM socialaccount_socialtoken WHERE id = %s", [pk])
        return cursor.fetchone()


def test_oauth_tokens_are_stored_encrypted_and_read_back_plain(keys, oauth_token):
    from allauth.socialaccount.models import SocialToken

    token, secret = _raw_token(oauth_token.pk)
    assert token.startswith("enc1:") and "gho_" not in token
    assert secret.startswith("enc1:") and "refresh" not in secret
    again = SocialToken.objects.get(pk=oauth_token.pk)
    assert (again.token, again.token_secret) == ("gho_plain-access-token", "refresh-me")


def test_the_switched_columns_leave_allauths_migrations_alone():
    from allauth.socialaccount.models import SocialToken

    field = SocialToken._meta.get_field("token")
    assert isinstance(field, crypto.EncryptedTextField)
    assert field.deconstruct()[1] == "django.db.models.TextField"
    assert (SocialToken, "token") in crypto.encrypted_fields()


def test_rotate_encrypted_fields_rewrites_every_value_under_the_new_key(keys, settings, oauth_token):
    from allauth.socialaccount.models import SocialToken
    from django.core.management import call_command
    from django.db import connection

    old, new = keys
    with connection.cursor() as cursor:  # one value from before encryption was turned on
        cursor.execute("UPDATE socialaccount_socialtoken SET token_secret = 'legacy' WHERE id = %s", [oauth_token.pk])
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encrypted_fields", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is dropped
    again = SocialToken.objects.get(pk=oauth_token.pk)
    assert (again.token, again.token_secret) == ("gho_plain-access-token", "legacy")
    assert all(value.startswith("enc1:") for value in _raw_token(oauth_token.pk))
