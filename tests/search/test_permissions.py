"""Results only ever include what the caller may read."""

import pytest
from django.test import override_settings

from apps.accounts.models import Role
from apps.forum.models import Category, ContentStatus, ReadAccess
from tests.factories import UserFactory
from tests.search.factories import CategoryFactory, CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


def found(client, q, **params):
    response = client.get("/api/search", {"q": q, **params})
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["data"]}


@pytest.mark.parametrize(
    "status", [ContentStatus.HIDDEN, ContentStatus.PENDING, ContentStatus.REMOVED, ContentStatus.DELETED]
)
def test_unpublished_post_never_appears(api_client, make_client, status):
    author = UserFactory()
    moderator = UserFactory(role=Role.MODERATOR)
    post = PostFactory(title="Secret zeppelin plans", status=status, author=author)
    visible = PostFactory(title="Public zeppelin plans")
    comment = CommentFactory(post=post, body="zeppelin comment")
    for client in (api_client, make_client(author), make_client(moderator)):
        assert found(client, "zeppelin") == {visible.id}
        assert found(client, "zeppelin", type="comment") == set()  # its post is not published
        assert client.get(f"/api/posts/{post.id}/related").status_code == 404
        titles = client.get("/api/search/suggest", {"q": "zeppel"}).json()["data"]["titles"]
        assert [t["id"] for t in titles] == [visible.id]
    assert comment.id  # the comment exists, it is just not findable


def test_hidden_comment_never_appears(api_client):
    post = PostFactory(title="Open thread")
    shown = CommentFactory(post=post, body="walrus one")
    CommentFactory(post=post, body="walrus two", status=ContentStatus.HIDDEN)
    assert found(api_client, "walrus", type="comment") == {shown.id}


def test_hiding_after_caching_takes_effect_at_once(api_client):
    post = PostFactory(title="Narwhal sightings")
    assert found(api_client, "narwhal") == {post.id}  # now cached
    type(post).objects.filter(id=post.id).update(status=ContentStatus.HIDDEN)  # no event at all
    assert found(api_client, "narwhal") == set()


@override_settings(HOLDER_TIERS=[("none", 0), ("holder", 1), ("whale", 100)])
def test_category_access_by_role_and_tier(api_client, make_client):
    members = CategoryFactory(read_access=ReadAccess.USER)
    mods = CategoryFactory(read_access=ReadAccess.MODERATOR)
    admins = CategoryFactory(read_access=ReadAccess.ADMIN)
    holders = CategoryFactory(read_min_tier="holder")
    whales = CategoryFactory(read_min_tier="whale")
    odd = CategoryFactory()
    Category.objects.filter(pk=odd.pk).update(read_min_tier="unknown-tier")  # refused on save; closed if present
    open_ = CategoryFactory()
    posts = {
        name: PostFactory(title=f"Platypus in {name}", category=cat)
        for name, cat in [
            ("open", open_),
            ("members", members),
            ("mods", mods),
            ("admins", admins),
            ("holders", holders),
            ("whales", whales),
            ("odd", odd),
        ]
    }

    def ids_for(*names):
        return {posts[n].id for n in names}

    plain = UserFactory()
    holder = UserFactory()
    holder.profile.holder_tier = "holder"
    holder.profile.save()
    whale = UserFactory()
    whale.profile.holder_tier = "whale"
    whale.profile.save()
    moderator = UserFactory(role=Role.MODERATOR)
    admin = UserFactory(role=Role.ADMIN)

    assert found(api_client, "platypus") == ids_for("open")
    assert found(make_client(plain), "platypus") == ids_for("open", "members")
    assert found(make_client(holder), "platypus") == ids_for("open", "members", "holders")
    assert found(make_client(whale), "platypus") == ids_for("open", "members", "holders", "whales")
    assert found(make_client(moderator), "platypus") == ids_for("open", "members", "mods", "holders", "whales", "odd")
    assert found(make_client(admin), "platypus") == set(ids_for(*posts))

    # A filter on a category the caller may not read is the same empty answer as an unknown one.
    assert found(api_client, "platypus", category=members.slug) == set()
    assert found(make_client(plain), "platypus", category=members.slug) == ids_for("members")
    # Comments follow their post's category; related posts 404 on unreadable sources.
    CommentFactory(post=posts["holders"], body="platypus comment")
    assert found(make_client(plain), "platypus", type="comment") == set()
    assert len(found(make_client(holder), "platypus", type="comment")) == 1
    assert api_client.get(f"/api/posts/{posts['holders'].id}/related").status_code == 404
    assert make_client(holder).get(f"/api/posts/{posts['holders'].id}/related").status_code == 200


def test_cached_results_are_not_shared_across_visibility(api_client, make_client):
    members = CategoryFactory(read_access=ReadAccess.USER)
    inside = PostFactory(title="Quokka facts", category=members)
    user_client = make_client(UserFactory())
    assert found(user_client, "quokka") == {inside.id}
    assert found(api_client, "quokka") == set()


def test_private_profiles_are_not_found(api_client, make_client):
    hidden = UserFactory(username="wombat_hidden")
    hidden.profile.visibility = "nobody"
    hidden.profile.save()
    members_only = UserFactory(username="wombat_members")
    members_only.profile.visibility = "members"
    members_only.profile.save()
    public = UserFactory(username="wombat_public")
    assert found(api_client, "wombat", type="user") == {public.id}
    assert found(make_client(UserFactory()), "wombat", type="user") == {public.id, members_only.id}
    assert found(make_client(UserFactory(role=Role.MODERATOR)), "wombat", type="user") == {
        public.id,
        members_only.id,
        hidden.id,
    }
