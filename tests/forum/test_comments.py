"""Threaded comments: nesting, depth limit, sorts, placeholders, locks, cursors, query counts."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apps.forum import events as ev
from apps.forum.api.serializers import CommentSerializer
from apps.forum.models import Category, Comment, Post
from apps.forum.services import comment_create, vote_comment
from tests.factories import UserFactory
from tests.forum.factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(category):
    return PostFactory(category=category)


def thread(client, post, query=""):
    r = client.get(f"/api/posts/{post.id}/comments{query}")
    assert r.status_code == 200, r.json()
    return r.json()


def test_create_comment_and_reply(auth_client, user, post, emitted, broadcasts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = auth_client.post(f"/api/posts/{post.id}/comments", {"body": "First!"}, format="json")
    assert r.status_code == 201, r.json()
    top = r.json()["data"]
    assert top["post_id"] == post.id and top["parent_id"] is None and top["depth"] == 0
    assert top["body_html"] == "<p>First!</p>\n" and top["author"]["id"] == user.id and top["is_deleted"] is False
    with django_capture_on_commit_callbacks(execute=True):
        r = auth_client.post(f"/api/posts/{post.id}/comments", {"body": "reply", "parent_id": top["id"]}, format="json")
    reply = r.json()["data"]
    assert reply["parent_id"] == top["id"] and reply["depth"] == 1
    post.refresh_from_db()
    assert post.comment_count == 2 and post.last_comment_at is not None
    assert Category.objects.get(pk=post.category_id).comment_count == 2
    assert Comment.objects.get(pk=top["id"]).reply_count == 1
    created = [e for e in emitted if isinstance(e, ev.CommentCreated)]
    assert [(e.comment_id, e.parent_id, e.category_id) for e in created] == [
        (top["id"], None, post.category_id),
        (reply["id"], top["id"], post.category_id),
    ]
    assert [(t, e) for t, e, _ in broadcasts] == [(f"post:{post.id}", "comment.created")] * 2
    assert broadcasts[1][2]["id"] == reply["id"] and broadcasts[1][2]["parent_id"] == top["id"]


@override_settings(FORUM_COMMENT_MAX_DEPTH=2)
def test_depth_limit(auth_client, post):
    a = CommentFactory(post=post)
    b = CommentFactory(post=post, parent=a)
    c = CommentFactory(post=post, parent=b)
    r = auth_client.post(f"/api/posts/{post.id}/comments", {"body": "too deep", "parent_id": c.id}, format="json")
    assert r.status_code == 400 and "parent_id" in r.json()["error"]["details"]
    assert Comment.objects.count() == 3


@pytest.mark.parametrize("payload", [{"body": ""}, {"body": "   "}, {"body": "x" * 10_001}, {}])
def test_bad_comment_bodies(auth_client, post, payload):
    r = auth_client.post(f"/api/posts/{post.id}/comments", payload, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    assert Comment.objects.count() == 0


def test_parent_from_another_post_is_rejected(auth_client, post, category):
    foreign = CommentFactory(post=PostFactory(category=category))
    r = auth_client.post(f"/api/posts/{post.id}/comments", {"body": "x", "parent_id": foreign.id}, format="json")
    assert r.status_code == 400


def test_locked_thread_refuses_comments_but_not_moderators(auth_client, make_client, moderator, category):
    post = PostFactory(category=category, is_locked=True)
    r = auth_client.post(f"/api/posts/{post.id}/comments", {"body": "hello"}, format="json")
    assert r.status_code == 403
    r = make_client(moderator).post(f"/api/posts/{post.id}/comments", {"body": "mod note"}, format="json")
    assert r.status_code == 201


def test_cannot_comment_on_deleted_post_or_reply_to_deleted_comment(auth_client, category):
    gone = PostFactory(category=category, status="deleted")
    assert auth_client.post(f"/api/posts/{gone.id}/comments", {"body": "x"}, format="json").status_code == 400
    post = PostFactory(category=category)
    dead = CommentFactory(post=post, status="removed")
    r = auth_client.post(f"/api/posts/{post.id}/comments", {"body": "x", "parent_id": dead.id}, format="json")
    assert r.status_code == 400


def test_depth_first_order_and_sorts(api_client, post):
    users = [UserFactory() for _ in range(4)]
    a = CommentFactory(post=post)
    b = CommentFactory(post=post)
    a1 = CommentFactory(post=post, parent=a)
    b1 = CommentFactory(post=post, parent=b)
    a2 = CommentFactory(post=post, parent=a)
    a1x = CommentFactory(post=post, parent=a1)
    # b: 3 up; a2: 1 up 0 down; a1: 4 up 1 down (Wilson: a1 ranks above a2)
    for u in users[:3]:
        vote_comment(user=u, comment_id=b.id, value=1)
    vote_comment(user=users[0], comment_id=a2.id, value=1)
    for u in users[:4]:
        vote_comment(user=u, comment_id=a1.id, value=1)
    vote_comment(user=UserFactory(), comment_id=a1.id, value=-1)

    def order(sort):
        return [(c["id"], c["depth"], c["parent_id"]) for c in thread(api_client, post, f"?sort={sort}")["data"]]

    assert [i for i, _, _ in order("old")] == [a.id, a1.id, a1x.id, a2.id, b.id, b1.id]
    assert [i for i, _, _ in order("new")] == [b.id, b1.id, a.id, a2.id, a1.id, a1x.id]
    assert [i for i, _, _ in order("top")] == [b.id, b1.id, a.id, a1.id, a1x.id, a2.id]
    assert [i for i, _, _ in order("best")] == [b.id, b1.id, a.id, a1.id, a1x.id, a2.id]
    assert order("old")[2] == (a1x.id, 2, a1.id)
    # default sort is best
    assert [c["id"] for c in thread(api_client, post)["data"]] == [i for i, _, _ in order("best")]
    assert api_client.get(f"/api/posts/{post.id}/comments?sort=hot").status_code == 400


def test_deleted_comments_keep_their_replies(make_client, post, emitted, django_capture_on_commit_callbacks):
    parent = CommentFactory(post=post)
    child = CommentFactory(post=post, parent=parent)
    lonely = CommentFactory(post=post)
    Post.objects.filter(pk=post.pk).update(comment_count=3)
    author_client = make_client(parent.author)
    with django_capture_on_commit_callbacks(execute=True):
        assert author_client.delete(f"/api/comments/{parent.id}").status_code == 204
        assert make_client(lonely.author).delete(f"/api/comments/{lonely.id}").status_code == 204
    data = thread(make_client(), post, "?sort=old")["data"]
    assert [(c["id"], c["is_deleted"]) for c in data] == [(parent.id, True), (child.id, False)]
    assert data[0]["body"] == "" and data[0]["author"] is None
    post.refresh_from_db()
    assert post.comment_count == 1
    assert [type(e) for e in emitted] == [ev.CommentDeleted, ev.CommentDeleted]


def test_edit_and_delete_permissions(make_client, post, moderator):
    comment = CommentFactory(post=post)
    stranger = make_client(UserFactory())
    assert stranger.put(f"/api/comments/{comment.id}", {"body": "hacked"}, format="json").status_code == 403
    assert stranger.delete(f"/api/comments/{comment.id}").status_code == 403
    r = make_client(comment.author).put(f"/api/comments/{comment.id}", {"body": "fixed *typo*"}, format="json")
    assert r.status_code == 200 and r.json()["data"]["body_html"] == "<p>fixed <em>typo</em></p>\n"
    assert r.json()["data"]["edited_at"]
    assert make_client(moderator).delete(f"/api/comments/{comment.id}").status_code == 204
    assert Comment.objects.get(pk=comment.id).status == "removed"
    assert (
        make_client(comment.author).put(f"/api/comments/{comment.id}", {"body": "x"}, format="json").status_code == 400
    )


def test_hidden_comments_are_seen_by_author_and_moderators_only(make_client, post, moderator):
    hidden = CommentFactory(post=post, status="hidden")
    visible = CommentFactory(post=post)
    assert [c["id"] for c in thread(make_client(), post)["data"]] == [visible.id]
    assert {c["id"] for c in thread(make_client(hidden.author), post)["data"]} == {hidden.id, visible.id}
    assert {c["id"] for c in thread(make_client(moderator), post)["data"]} == {hidden.id, visible.id}
    assert make_client().get(f"/api/comments/{hidden.id}").status_code == 404


def test_cursor_pages_cover_the_thread(api_client, post):
    roots = [CommentFactory(post=post) for _ in range(5)]
    for r in roots:
        CommentFactory(post=post, parent=r)
    expected = [c["id"] for c in thread(api_client, post, "?sort=old&limit=100")["data"]]
    seen, cursor, metas = [], None, []
    while True:
        body = thread(api_client, post, "?sort=old&limit=3" + (f"&cursor={cursor}" if cursor else ""))
        seen += [c["id"] for c in body["data"]]
        metas.append(body["meta"]["pagination"])
        cursor = body["meta"]["pagination"]["next_cursor"]
        if not cursor:
            break
    assert seen == expected and len(seen) == 10
    back = thread(api_client, post, f"?sort=old&limit=3&cursor={metas[2]['prev_cursor']}")["data"]
    assert [c["id"] for c in back] == expected[3:6]
    assert api_client.get(f"/api/posts/{post.id}/comments?cursor=garbage").status_code == 400


def test_thread_query_count_is_constant(make_client, post, django_assert_max_num_queries):
    viewer = UserFactory()
    client = make_client(viewer)
    CommentFactory(post=post)
    # The sign-in check (with the RLS context), the post's access, the thread's light tree, the page
    # with the viewer's votes on it.
    with django_assert_max_num_queries(4) as few:
        thread(client, post, "?limit=100")
    parents = []
    for i in range(120):
        parent = parents[-1] if parents and i % 3 else None
        parents.append(CommentFactory(post=post, parent=parent if parent and parent.depth < 8 else None))
    for c in parents[:30]:
        vote_comment(user=viewer, comment_id=c.id, value=1)
    for sort in ("best", "old", "new"):
        with django_assert_max_num_queries(len(few.captured_queries)):
            body = thread(client, post, f"?limit=100&sort={sort}")
        assert len(body["data"]) == 100
        assert sum(c["my_vote"] for c in body["data"]) >= 1


def test_the_viewers_votes_come_with_the_page_both_ways_every_sort(api_client, make_client, post):
    viewer = UserFactory()
    reader = make_client(viewer)
    comments = [CommentFactory(post=post) for _ in range(6)]
    for comment, value in zip(comments, (1, -1, 0, 1, 0, -1), strict=True):
        if value:
            vote_comment(user=viewer, comment_id=comment.id, value=value)
    expected = {comments[0].id: 1, comments[1].id: -1, comments[3].id: 1, comments[5].id: -1}
    for sort in ("best", "top", "old", "new"):
        first = thread(reader, post, f"?sort={sort}&limit=3")
        second = thread(reader, post, f"?sort={sort}&limit=3&cursor={first['meta']['pagination']['next_cursor']}")
        seen = {c["id"]: c["my_vote"] for c in first["data"] + second["data"]}
        assert seen == {c.id: expected.get(c.id, 0) for c in comments}, sort
        assert all(c["my_vote"] == 0 for c in thread(api_client, post, f"?sort={sort}")["data"])
        # Signed in, a page costs the anonymous statements plus the sign-in check: no query of its own
        # for the votes.
        reader.get(f"/api/posts/{post.id}/comments?sort={sort}")  # the minute's last_seen write aside
        with CaptureQueriesContext(connection) as anonymous:
            thread(api_client, post, f"?sort={sort}")
        with CaptureQueriesContext(connection) as signed_in:
            thread(reader, post, f"?sort={sort}")
        assert len(signed_in.captured_queries) == len(anonymous.captured_queries) + 1, sort


def test_comment_service_checks_read_permission(category):
    from apps.core.exceptions import NotFound
    from tests.forum.factories import CategoryFactory

    secret = PostFactory(category=CategoryFactory(slug="whales", read_min_tier="whale"))
    with pytest.raises(NotFound):
        comment_create(author=UserFactory(), post_id=secret.id, body="hi")


def _walk(client, post, sort, limit):
    """Every page forward, then every page back from the last one."""
    pages, cursor = [], None
    while True:
        body = thread(client, post, f"?sort={sort}&limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        pages.append(body)
        cursor = body["meta"]["pagination"]["next_cursor"]
        if not cursor:
            break
    back, cursor = [], pages[-1]["meta"]["pagination"]["prev_cursor"]
    while cursor:
        body = thread(client, post, f"?sort={sort}&limit={limit}&cursor={cursor}")
        back.insert(0, body)
        cursor = body["meta"]["pagination"]["prev_cursor"]
    return pages, back


@pytest.mark.parametrize("sort", ["old", "new", "best", "top"])
def test_deep_thread_pages_forward_and_back_in_depth_first_order(api_client, post, sort):
    # Two deep chains (depth 0..9) with a sibling reply at every level, and a deleted comment in
    # the middle of the first chain that keeps its replies.
    chains = []
    for _ in range(2):
        parent = None
        for _ in range(10):
            node = CommentFactory(post=post, parent=parent)
            CommentFactory(post=post, parent=parent)  # a sibling at the same level
            parent = node
        chains.append(node)
    gone = Comment.objects.filter(post=post, depth=4).order_by("id").first()
    Comment.objects.filter(pk=gone.pk).update(status="deleted")
    everything = thread(api_client, post, f"?sort={sort}&limit=100")["data"]
    assert len(everything) == 40
    # depth-first: every comment follows its parent, and old/new order siblings by id
    position = {c["id"]: i for i, c in enumerate(everything)}
    assert all(c["parent_id"] is None or position[c["parent_id"]] < position[c["id"]] for c in everything)
    roots = [c["id"] for c in everything if c["parent_id"] is None]
    if sort == "old":
        assert roots == sorted(roots) and [c["id"] for c in everything] == list(
            Comment.objects.filter(post=post).order_by("path").values_list("id", flat=True)
        )
    if sort == "new":
        assert roots == sorted(roots, reverse=True)
    placeholder = everything[position[gone.id]]
    assert placeholder["is_deleted"] and placeholder["body"] == "" and placeholder["author"] is None
    assert placeholder["depth"] == 4
    pages, back = _walk(api_client, post, sort, 7)
    assert [c["id"] for p in pages for c in p["data"]] == [c["id"] for c in everything]
    assert [len(p["data"]) for p in pages] == [7] * 5 + [5]
    assert pages[0]["meta"]["pagination"]["prev_cursor"] is None
    assert [[c["id"] for c in p["data"]] for p in back] == [[c["id"] for c in p["data"]] for p in pages[:-1]]


def test_placeholders_only_where_a_visible_reply_hangs(make_client, post, moderator):
    kept = CommentFactory(post=post, status="removed")
    reply = CommentFactory(post=post, parent=kept)
    hidden_chain = CommentFactory(post=post, status="hidden")
    hidden_reply = CommentFactory(post=post, parent=hidden_chain, status="deleted")
    grandchild = CommentFactory(post=post, parent=hidden_reply)
    CommentFactory(post=post, status="deleted")  # nothing under it: not shown at all
    anonymous = thread(make_client(), post, "?sort=old")["data"]
    assert [(c["id"], c["is_deleted"]) for c in anonymous] == [
        (kept.id, True),
        (reply.id, False),
        (hidden_chain.id, True),
        (hidden_reply.id, True),
        (grandchild.id, False),
    ]
    assert all(c["author"] is None and c["body"] == "" for c in anonymous if c["is_deleted"])
    # its author and moderators see the hidden comment as itself
    for viewer in (hidden_chain.author, moderator):
        seen = {c["id"]: c for c in thread(make_client(viewer), post, "?sort=new")["data"]}
        assert seen[hidden_chain.id]["is_deleted"] is False and seen[hidden_chain.id]["body"] == "A comment"
        assert seen[hidden_reply.id]["is_deleted"] is True
    # the anonymous "new" thread has the same placeholders
    assert {c["id"] for c in thread(make_client(), post, "?sort=new")["data"]} == {c["id"] for c in anonymous}


def test_thread_rows_carry_the_public_author_and_the_viewers_votes(make_client, post):
    viewer = UserFactory()
    author = UserFactory()
    author.profile.holder_tier, author.profile.show_holdings = "whale", False
    author.profile.save()
    mine = CommentFactory(post=post, author=author)
    other = CommentFactory(post=post, author=author)
    vote_comment(user=viewer, comment_id=mine.id, value=-1)
    for sort in ("old", "new", "best"):
        rows = {c["id"]: c for c in thread(make_client(viewer), post, f"?sort={sort}")["data"]}
        assert rows[mine.id]["my_vote"] == -1 and rows[other.id]["my_vote"] == 0
        assert all(set(row) == set(CommentSerializer.Meta.fields) for row in rows.values())  # the same shape
        public = rows[other.id]["author"]
        assert set(public) == {"id", "username", "display_name", "avatar_url", "level", "points", "holder_tier",
                               "created_at"}  # fmt: skip
        assert public["holder_tier"] == "none"  # its owner does not show holdings
        assert rows[mine.id]["created_at"].endswith("Z")
        anonymous = {c["id"]: c for c in thread(make_client(), post, f"?sort={sort}")["data"]}
        assert anonymous[mine.id]["my_vote"] == 0


@pytest.mark.parametrize("cursor", ["eyJ2IjpbIjEyMyJdLCJkIjoibiJ9", "eyJ2IjpbMV0sImQiOiJuIn0"])
def test_a_forged_path_cursor_is_a_clear_error(api_client, post, cursor):
    # {"v": ["123"], "d": "n"} is not a path; {"v": [1], "d": "n"} is not a string
    CommentFactory(post=post)
    r = api_client.get(f"/api/posts/{post.id}/comments?sort=old&cursor={cursor}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("held", [False, True])
def test_a_new_comments_answer_is_what_reading_it_back_returns(auth_client, post, held, settings):
    """The answer to a new comment is built from what was saved, not read back: it must equal
    what the author reads at GET /api/comments/{id} (a reply, and one held for approval)."""
    if held:
        from tests.moderation.factories import WatchedWordFactory

        WatchedWordFactory(word="free sol", action="require_approval")
    top = auth_client.post(f"/api/posts/{post.id}/comments", {"body": "First, and free sol" if held else "First"})
    assert top.status_code == 201, top.json()
    parent_id = top.json()["data"]["id"]
    if held:
        assert Comment.objects.get(pk=parent_id).status == "pending"
        created = top
    else:
        created = auth_client.post(f"/api/posts/{post.id}/comments", {"body": "A reply", "parent_id": parent_id})
        assert created.status_code == 201, created.json()
    read = auth_client.get(f"/api/comments/{created.json()['data']['id']}")
    assert read.status_code == 200
    assert created.json()["data"] == read.json()["data"]
