"""The admin queue through Django's test client (the browser test drives the same pages)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.forum.models import Post
from apps.moderation import services
from apps.moderation.models import AuditLogEntry, Reviewable, WatchedWord
from tests.factories import UserFactory
from tests.moderation.factories import CategoryFactory, CommentFactory, ModeratorFactory, PostFactory

pytestmark = pytest.mark.django_db
QUEUE = "/admin/moderation/reviewable/"


def flag(target_type, target_id, reason="spam", n=1):
    for _ in range(n):
        r = services.report_create(
            reporter=UserFactory(date_joined=timezone.now() - timedelta(days=60)),
            target_type=target_type,
            target_id=target_id,
            reason=reason,
        ).report.reviewable
    return r


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


def test_queue_page_sorted_by_score_with_content_inline(mod_client, django_assert_max_num_queries):
    low = PostFactory(title="Mildly annoying post", body="meh")
    high = PostFactory(title="Obvious scam <b>airdrop</b>", body="send SOL to claim")
    flag("post", low.pk)
    flag("post", high.pk, "scam", n=3)
    flag("comment", CommentFactory(body="you are all idiots").pk, "abuse")
    for _ in range(10):
        flag("post", PostFactory().pk)
    with django_assert_max_num_queries(25):
        res = mod_client.get(QUEUE)
    assert res.status_code == 200
    html = res.content.decode()
    assert "Obvious scam &lt;b&gt;airdrop&lt;/b&gt;" in html  # escaped, never rendered
    assert "you are all idiots" in html and "send SOL to claim" in html
    assert html.index("Obvious scam") < html.index("Mildly annoying post")


def test_queue_filters(mod_client):
    cat = CategoryFactory(name="Memes", slug="memes")
    p = PostFactory(category=cat, title="meme post")
    flag("post", p.pk, "off-topic")
    flag("post", PostFactory(title="other post").pk, "spam")
    html = mod_client.get(QUEUE + "?reason=off-topic").content.decode()
    assert "meme post" in html and "other post" not in html
    html = mod_client.get(QUEUE + f"?category__id__exact={cat.pk}").content.decode()
    assert "meme post" in html and "other post" not in html
    r = Reviewable.objects.get(target_id=p.pk)
    services.reviewable_act(reviewable_id=r.pk, actor=ModeratorFactory(), action="dismiss")
    assert "meme post" not in mod_client.get(QUEUE).content.decode()  # pending by default
    assert "meme post" in mod_client.get(QUEUE + "?status=rejected").content.decode()
    assert "meme post" in mod_client.get(QUEUE + "?status=all").content.decode()


def test_bulk_remove_and_dismiss(mod_client):
    a, b, c = PostFactory(), PostFactory(), PostFactory()
    ra, rb, rc = flag("post", a.pk), flag("post", b.pk), flag("post", c.pk)
    res = mod_client.post(QUEUE, {"action": "bulk_remove", "_selected_action": [ra.pk, rb.pk]}, follow=True)
    assert res.status_code == 200 and "2 item(s) done" in res.content.decode()
    assert set(Post.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {"removed"}
    mod_client.post(QUEUE, {"action": "bulk_dismiss", "_selected_action": [rc.pk]})
    assert Reviewable.objects.get(pk=rc.pk).status == "rejected"
    assert AuditLogEntry.objects.filter(action="remove").count() == 2


def test_item_page_acts_and_claims(mod_client, moderator):
    post = PostFactory(title="Thread to lock")
    r = flag("post", post.pk)
    page = mod_client.get(f"{QUEUE}{r.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Thread to lock" in html and 'id="moderation-act-form"' in html
    mod_client.post(f"{QUEUE}{r.pk}/claim/")
    assert Reviewable.objects.get(pk=r.pk).claimed_by == moderator
    res = mod_client.post(f"{QUEUE}{r.pk}/act/", {"action": "lock", "reason": "heated", "next": "item"})
    assert res.status_code == 302 and res["Location"].endswith(f"{r.pk}/change/")
    assert Post.objects.get(pk=post.pk).is_locked
    res = mod_client.post(f"{QUEUE}{r.pk}/act/", {"action": "suspend", "reason": "x"}, follow=True)
    assert "suspension needs a duration" in res.content.decode()
    res = mod_client.post(f"{QUEUE}{r.pk}/act/", {"action": "suspend", "duration_hours": "24", "reason": "cool off"})
    assert res.status_code == 302
    assert Reviewable.objects.get(pk=r.pk).status == "approved"
    assert mod_client.get(f"{QUEUE}{r.pk}/act/").status_code == 405


def test_audit_log_is_read_only(mod_client, moderator):
    r = flag("post", PostFactory().pk)
    services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="remove", reason="gone")
    entry = AuditLogEntry.objects.get(action="remove")
    res = mod_client.get("/admin/moderation/auditlogentry/")
    assert res.status_code == 200 and "gone" in res.content.decode()
    detail = mod_client.get(f"/admin/moderation/auditlogentry/{entry.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert mod_client.get("/admin/moderation/auditlogentry/add/").status_code == 403
    mod_client.post(f"/admin/moderation/auditlogentry/{entry.pk}/delete/", {"post": "yes"})
    assert AuditLogEntry.objects.filter(pk=entry.pk).exists()


def test_member_page_shows_moderation_history(mod_client, moderator):
    comment = CommentFactory()
    r = flag("comment", comment.pk)
    services.reviewable_act(reviewable_id=r.pk, actor=moderator, action="warn", reason="first warning")
    res = mod_client.get(f"/admin/moderation/moderateduser/{comment.author_id}/change/")
    assert res.status_code == 200
    html = res.content.decode()
    assert "moderation history" in html.lower() and "first warning" in html
    mod_client.post(
        "/admin/moderation/moderateduser/", {"action": "user_ban_0", "_selected_action": [comment.author_id]}
    )
    comment.author.refresh_from_db()
    assert comment.author.is_banned and comment.author.is_active


def test_watched_words_through_the_admin(mod_client):
    res = mod_client.post("/admin/moderation/watchedword/add/", {"word": "RugPull", "action": "block"})
    assert res.status_code == 302
    assert WatchedWord.objects.get().word == "rugpull"
    assert AuditLogEntry.objects.filter(action="watched_word").exists()


def test_members_and_anonymous_are_kept_out(client):
    assert client.get(QUEUE).status_code == 302  # to the login page
    member = UserFactory(is_staff=True)  # staff without the moderator role still may not
    client.force_login(member)
    assert client.get(QUEUE).status_code == 403
