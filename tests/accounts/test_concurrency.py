"""Two refreshes with the same token at once (two tabs): both keep the session, through the refresh
grace window; without the window exactly one wins and the other is a replay that ends the family
(row lock on the session, no lost update)."""

import threading

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.authentication import TokenRejected
from apps.accounts.models import AuthSession
from apps.accounts.tokens import issue_token_pair, rotate_refresh_token
from tests.factories import UserFactory


def _race(raw: str) -> list:
    barrier = threading.Barrier(2)
    results: list = []

    def worker():
        try:
            barrier.wait()
            results.append(rotate_refresh_token(raw).tokens)
        except TokenRejected as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_tabs_refreshing_together_both_stay_signed_in():
    user = UserFactory()
    results = _race(issue_token_pair(user)["refresh"])
    assert all(isinstance(r, dict) for r in results), results
    # Both got the same (current) generation of the family.
    assert RefreshToken(results[0]["refresh"])["jti"] == RefreshToken(results[1]["refresh"])["jti"]
    session = AuthSession.objects.get(user=user)
    assert session.revoked_at is None and session.generation == 1
    assert session.current_jti == RefreshToken(results[0]["refresh"])["jti"]
    rotate_refresh_token(results[1]["refresh"])  # and either tab's token rotates on


@pytest.mark.django_db(transaction=True)
@override_settings(AUTH_REFRESH_GRACE_SECONDS=0)
def test_without_grace_window_the_second_refresh_is_a_replay():
    user = UserFactory()
    results = _race(issue_token_pair(user)["refresh"])
    assert sorted(type(r).__name__ for r in results) == ["FamilyRevoked", "dict"]
    session = AuthSession.objects.get(user=user)
    assert session.revoked_reason == "reuse" and session.generation == 1
