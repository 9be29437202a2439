"""Two refreshes with the same token at once: exactly one wins; the other is a replay and ends
the family (row lock on the session, no lost update)."""

import threading

import pytest
from django.db import connection

from apps.accounts.authentication import TokenRejected
from apps.accounts.models import AuthSession
from apps.accounts.tokens import issue_token_pair, rotate_refresh_token
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_with_same_token():
    user = UserFactory()
    raw = issue_token_pair(user)["refresh"]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def worker():
        try:
            barrier.wait()
            rotate_refresh_token(raw)
            results.append("ok")
        except TokenRejected:
            results.append("rejected")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "rejected"]
    session = AuthSession.objects.get(user=user)
    assert session.revoked_reason == "reuse" and session.generation == 1
