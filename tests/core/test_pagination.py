"""Keyset pagination: limits, both directions, ties, and malformed cursors."""

import pytest
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.core.pagination import KeysetPagination, decode_cursor, encode_cursor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
rf = APIRequestFactory()


def page(query: str, ordering=("-date_joined", "-id")):
    paginator = KeysetPagination()
    rows = paginator.paginate_queryset(User.objects.all(), Request(rf.get("/x" + query)), ordering=ordering)
    return rows, paginator.get_meta()["pagination"]


@pytest.fixture
def users():
    now = timezone.now()
    # 25 users, several sharing a join time, so the unique tie-breaker matters.
    made = []
    for i in range(25):
        made.append(UserFactory(date_joined=now - timezone.timedelta(minutes=i // 3)))
    return made


def test_default_limit_and_walk_forward_and_back(users):
    expected = sorted(users, key=lambda u: (u.date_joined, u.id), reverse=True)
    rows, meta = page("")
    assert meta["limit"] == 20 and meta["prev_cursor"] is None
    assert [u.id for u in rows] == [u.id for u in expected[:20]]
    rows2, meta2 = page(f"?cursor={meta['next_cursor']}")
    assert [u.id for u in rows2] == [u.id for u in expected[20:]]
    assert meta2["next_cursor"] is None
    back, meta3 = page(f"?cursor={meta2['prev_cursor']}")
    assert [u.id for u in back] == [u.id for u in expected[:20]]
    assert meta3["prev_cursor"] is None


def test_small_pages_cover_everything_once(users):
    seen, cursor = [], ""
    while True:
        rows, meta = page(f"?limit=4{'&cursor=' + cursor if cursor else ''}")
        seen.extend(u.id for u in rows)
        if not meta["next_cursor"]:
            break
        cursor = meta["next_cursor"]
    assert sorted(seen) == sorted(u.id for u in users)
    assert len(seen) == len(set(seen))


def test_ascending_ordering(users):
    rows, meta = page("?limit=5", ordering=("id",))
    rows2, _ = page(f"?limit=5&cursor={meta['next_cursor']}", ordering=("id",))
    ids = sorted(u.id for u in users)
    assert [u.id for u in rows + rows2] == ids[:10]


def test_limit_is_clamped_not_an_error(users):
    _, meta = page("?limit=1000")
    assert meta["limit"] == 100


@pytest.mark.parametrize("limit", ["0", "-3", "abc", "1.5"])
def test_bad_limit_is_400(limit):
    with pytest.raises(ValidationFailed):
        page(f"?limit={limit}")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "bm90IGpzb24",  # "not json"
        encode_cursor([1], "n"),  # wrong arity
        encode_cursor(["not a date", 1], "n"),
        encode_cursor([{"t": "garbage"}, 1], "n"),
        encode_cursor([{"t": "2026-01-01T00:00:00+00:00"}, "x"], "n"),
        encode_cursor([{"t": "2026-01-01T00:00:00+00:00"}, 1], "sideways"),
        "A" * 5000,
    ],
)
def test_malformed_cursor_is_400(users, cursor):
    with pytest.raises(ValidationFailed) as info:
        page(f"?cursor={cursor}")
    assert info.value.code == "validation_error"
    assert info.value.details == {"cursor": ["Malformed cursor."]}


def test_cursor_round_trip():
    now = timezone.now()
    values, direction = decode_cursor(encode_cursor([now, 7], "p"), 2)
    assert values == [now, 7] and direction == "p"


def test_out_of_range_cursor_value_is_an_empty_page_not_an_error(users):
    rows, meta = page(f"?cursor={encode_cursor([{'t': '2026-01-01T00:00:00+00:00'}, 10**30], 'n')}")
    assert isinstance(rows, list)
