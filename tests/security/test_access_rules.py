"""One access rule (apps.core.access) on every path that carries content: each test is a leak that
the per-app copies of "may this viewer read this category?" let through, tried as an attacker
would, through the public API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.accounts.models import Role
from apps.forum.models import Category, ReadAccess
from apps.gamification.models import PointTransaction
from tests.factories import UserFactory
from tests.search.factories import CategoryFactory, CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A staff-only parent with a public-looking child, and a holder-only category."""
    staff = CategoryFactory(slug="staff-room", read_access=ReadAccess.MODERATOR)
    nested = CategoryFactory(slug="staff-annex", parent=staff)  # public itself; its parent is not
    holders = CategoryFactory(slug="holders-lounge", read_min_tier="holder")
    public = CategoryFactory(slug="town-square")
    return {"staff": staff, "nested": nested, "holders": holders, "public": public}


def error(response) -> dict:
    """The error envelope without its per-request id: two answers that must not differ."""
    body = response.json()["error"]
    body.pop("request_id", None)
    return body


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["data"]}


def test_search_obeys_the_parent_category(api_client, make_client, world):
    public = PostFactory(title="Quokka sightings", category=world["public"], tag_slugs=["quokka"])
    nested = PostFactory(title="Quokka strategy memo", category=world["nested"], tag_slugs=["quokka"])
    CommentFactory(post=nested, body="quokka comment in the annex")
    member = make_client(UserFactory())
    moderator = make_client(UserFactory(role=Role.MODERATOR))

    assert ids(api_client.get("/api/search", {"q": "quokka"})) == {public.id}
    assert ids(member.get("/api/search", {"q": "quokka"})) == {public.id}
    assert ids(moderator.get("/api/search", {"q": "quokka"})) == {public.id, nested.id}
    assert ids(member.get("/api/search", {"q": "quokka", "type": "comment"})) == set()
    assert ids(moderator.get("/api/search", {"q": "quokka", "type": "comment"})) != set()

    titles = api_client.get("/api/search/suggest", {"q": "quokka"}).json()["data"]["titles"]
    assert {t["id"] for t in titles} == {public.id}

    trending = member.get("/api/trending").json()["data"]["topics"]
    assert [t["posts"] for t in trending if t["tag"] == "quokka"] == [1]  # the annex's post is not counted
    staff_trending = moderator.get("/api/trending").json()["data"]["topics"]
    assert [t["posts"] for t in staff_trending if t["tag"] == "quokka"] == [2]


def test_did_you_mean_never_offers_words_from_unreadable_titles(api_client, world):
    from apps.search import services

    PostFactory(title="Xylophonist reunion", category=world["nested"])
    PostFactory(title="Xylophones everywhere", category=world["staff"])
    PostFactory(title="Marmalade recipes", category=world["public"])
    services.vocabulary_refresh()

    suggest = api_client.get("/api/search/suggest", {"q": "xylophonst"}).json()["data"]
    assert suggest["did_you_mean"] is None  # the only near words are in staff-only titles
    assert api_client.get("/api/search", {"q": "xylophonst"}).json()["meta"]["did_you_mean"] is None
    # The vocabulary itself still works from readable titles.
    assert api_client.get("/api/search/suggest", {"q": "marmalde"}).json()["data"]["did_you_mean"] == "marmalade"


def test_related_is_404_for_an_unreadable_post_and_never_lists_one(api_client, world):
    source = PostFactory(title="Staking rewards on Solana", tag_slugs=["staking"], category=world["public"])
    twin = PostFactory(title="Staking rewards on Solana again", tag_slugs=["staking"], category=world["nested"])
    holder_twin = PostFactory(title="Staking rewards for holders", tag_slugs=["staking"], category=world["holders"])
    assert api_client.get(f"/api/posts/{twin.id}/related").status_code == 404
    assert api_client.get(f"/api/posts/{holder_twin.id}/related").status_code == 404
    related = ids(api_client.get(f"/api/posts/{source.id}/related"))
    assert twin.id not in related and holder_twin.id not in related


def test_leaderboard_of_an_unreadable_category_is_a_404_like_a_missing_one(api_client, make_client, world):
    missing = api_client.get("/api/leaderboard", {"category": "no-such-category"})
    assert missing.status_code == 404
    for slug in ("staff-room", "staff-annex", "holders-lounge", str(world["staff"].pk)):
        hidden = api_client.get("/api/leaderboard", {"category": slug})
        assert hidden.status_code == 404 and error(hidden) == error(missing)
    member = make_client(UserFactory())
    assert member.get("/api/leaderboard", {"category": "staff-annex"}).status_code == 404
    assert (
        make_client(UserFactory(role=Role.MODERATOR)).get("/api/leaderboard", {"category": "staff-annex"}).status_code
        == 200
    )


def test_points_ledger_hides_rows_from_unreadable_categories(api_client, make_client, world):
    earner = UserFactory()
    now = timezone.now()
    for n, category in enumerate((world["public"], world["nested"], world["staff"], world["holders"])):
        PointTransaction.objects.create(
            user=earner,
            activity="post_created",
            amount=5,
            source_type="post",
            source_id=str(1000 + n),
            category_id=category.pk,
            idempotency_key=f"leak:{n}",
            created_at=now,
            earned_at=now,
        )
    rows = api_client.get(f"/api/users/{earner.pk}/points").json()["data"]
    assert rows, "the public row is listed"
    assert str(rows).count("100") == 1 and "1000" in str(rows)  # only source 1000 (the public one)
    assert {r.get("category_id") for r in rows} <= {world["public"].pk, None}
    staff_rows = make_client(UserFactory(role=Role.MODERATOR)).get(f"/api/users/{earner.pk}/points").json()["data"]
    assert len(staff_rows) == 4


def test_unknown_tier_is_refused_on_save_and_closed_if_present(make_client, world):
    category = world["public"]
    category.read_min_tier = "holders"  # a typo of "holder"
    with pytest.raises(ValidationError):
        category.save()
    Category.objects.filter(pk=category.pk).update(read_min_tier="holders", post_min_tier="holders")
    post = PostFactory(title="Typo", category=category)
    member = make_client(UserFactory())
    assert member.get(f"/api/posts/{post.id}").status_code == 404
    assert post.id not in ids(member.get("/api/posts"))
    created = member.post("/api/posts", {"category": category.slug, "title": "hi", "body": "x"}, format="json")
    assert created.status_code in (400, 403), created.content
    assert make_client(UserFactory(role=Role.MODERATOR)).get(f"/api/posts/{post.id}").status_code == 200


def test_reports_on_unreadable_posts_and_hidden_profiles_are_404(make_client, world):
    reporter = make_client(UserFactory())
    missing = reporter.post(
        "/api/reports", {"target_type": "post", "target_id": 10**9, "reason": "spam"}, format="json"
    )
    assert missing.status_code == 404
    for category in ("staff", "nested", "holders"):
        post = PostFactory(category=world[category])
        r = reporter.post(
            "/api/reports", {"target_type": "post", "target_id": post.id, "reason": "spam"}, format="json"
        )
        assert r.status_code == 404 and error(r) == error(missing), category
        comment = CommentFactory(post=post)
        r = reporter.post(
            "/api/reports", {"target_type": "comment", "target_id": comment.id, "reason": "spam"}, format="json"
        )
        assert r.status_code == 404, category
    hidden = UserFactory()
    hidden.profile.visibility = "nobody"
    hidden.profile.save()
    r = reporter.post("/api/reports", {"target_type": "user", "target_id": hidden.id, "reason": "spam"}, format="json")
    assert r.status_code == 404
    visible = PostFactory(category=world["public"])
    ok = reporter.post(
        "/api/reports", {"target_type": "post", "target_id": visible.id, "reason": "spam"}, format="json"
    )
    assert ok.status_code == 201, ok.content


@pytest.mark.django_db(transaction=True)
def test_a_mention_in_a_staff_only_post_does_not_notify_a_member_who_cannot_read_it(make_client):
    from django.core.management import call_command

    from apps.notifications.models import Notification

    call_command("seed")
    staff = Category.objects.create(name="Staff", slug="leak-staff", read_access=ReadAccess.MODERATOR)
    member = UserFactory(username="plainmember")
    colleague = UserFactory(username="fellowmod", role=Role.MODERATOR)
    author = make_client(UserFactory(role=Role.MODERATOR))
    r = author.post(
        "/api/posts",
        {"category": staff.slug, "title": "Ban wave plan", "body": "@plainmember and @fellowmod look"},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert Notification.objects.filter(user=colleague, type="mention").count() == 1  # the rule's positive side
    assert not Notification.objects.filter(user=member).exists()


def test_trending_searches_never_surface_a_query_that_found_private_posts(api_client, make_client, world, settings):
    settings.SEARCH_TRENDING_MIN_SEARCHERS = 1
    PostFactory(title="Operation nightjar", category=world["nested"])
    PostFactory(title="Public pelican", category=world["public"])
    moderator = make_client(UserFactory(role=Role.MODERATOR))
    assert ids(moderator.get("/api/search", {"q": "nightjar"}))  # the staff member found it...
    assert ids(moderator.get("/api/search", {"q": "pelican"}))
    searches = [s["query"] for s in api_client.get("/api/trending").json()["data"]["searches"]]
    assert "nightjar" not in searches  # ...and everyone else does not learn the word
    assert "pelican" in searches


def test_moderators_do_not_review_reports_about_admin_only_content(make_client):
    from apps.moderation import services as moderation

    board = CategoryFactory(slug="boardroom", read_access=ReadAccess.ADMIN)
    admin_user = UserFactory(role=Role.ADMIN)
    post = PostFactory(title="Board minutes", category=board)
    moderation.report_create(reporter=admin_user, target_type="post", target_id=post.id, reason="spam")
    moderator, admin = make_client(UserFactory(role=Role.MODERATOR)), make_client(admin_user)
    assert "Board minutes" not in moderator.get("/api/moderation/queue").content.decode()
    item = admin.get("/api/moderation/queue").json()["data"][0]["id"]
    assert moderator.get(f"/api/moderation/queue/{item}").status_code == 404
    assert moderator.post(f"/api/moderation/queue/{item}/claim").status_code == 404
    assert admin.get(f"/api/moderation/queue/{item}").status_code == 200


def test_tag_counts_count_only_posts_the_viewer_may_read(api_client, make_client, world):
    from apps.forum.services import post_create

    staffer = UserFactory(role=Role.MODERATOR, date_joined=timezone.now() - timezone.timedelta(days=30))
    for title, category in (("Wombat walk", "public"), ("Wombat plan A", "nested"), ("Wombat plan B", "staff")):
        post_create(author=staffer, category=world[category], title=title, body="Wombats.", tags=["wombat"])
    moderator = make_client(staffer)

    def tag_count(client, path, params):
        body = client.get(path, params).json()["data"]
        rows = body["tags"] if isinstance(body, dict) else body
        return [row["post_count"] for row in rows if row["slug"] == "wombat"]

    # The two staff-only posts are neither listed nor counted: a count is content too.
    assert tag_count(api_client, "/api/tags", {"q": "wom"}) == [1]
    assert tag_count(api_client, "/api/search/suggest", {"q": "wombat"}) == [1]
    assert tag_count(moderator, "/api/tags", {"q": "wom"}) == [3]
    assert tag_count(moderator, "/api/search/suggest", {"q": "wombat"}) == [3]
