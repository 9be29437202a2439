"""Which requests run in a request transaction (ATOMIC_REQUESTS): every one that carries a
credential or may write, not an anonymous read (apps.core.db_router.reads_anonymously), which has
no RLS context to carry and paid two round trips (BEGIN, COMMIT) for it."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.core import rls
from apps.forum import selectors
from tests.factories import UserFactory


@pytest.fixture
def seen_in_view(monkeypatch) -> list[tuple[bool, str]]:
    """(in a transaction?, the RLS user) as the categories view's selector saw them."""
    seen: list[tuple[bool, str]] = []
    real = selectors.category_list

    def recording(*, viewer):
        seen.append((connection.in_atomic_block, rls.current()[0] if connection.in_atomic_block else ""))
        return real(viewer=viewer)

    monkeypatch.setattr(selectors, "category_list", recording)
    return seen


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_read_runs_outside_a_transaction_and_a_signed_in_one_inside_with_its_user(
    api_client, make_client, seen_in_view
):
    assert api_client.get("/api/categories").status_code == 200
    user = UserFactory()
    assert make_client(user).get("/api/categories").status_code == 200
    assert seen_in_view == [(False, ""), (True, str(user.pk))]


@pytest.mark.django_db
def test_an_anonymous_read_that_fails_leaves_the_enclosing_transaction_usable(api_client):
    """Inside a test's transaction: the 404's error handler must not mark the test's transaction
    for rollback (the read has none of its own)."""
    r = api_client.get("/api/posts/987654321")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert UserFactory().pk  # the test's transaction still takes queries
