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
