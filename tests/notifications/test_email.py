"""Email delivery: one immediate notification through a real local SMTP server (aiosmtpd) read back
from the server, and the digest rules (only unread, not yet emailed, and only to people who have
not visited since)."""

from __future__ import annotations

import email
import socket
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from apps.notifications import services, tasks
from apps.notifications.models import Notification, NotificationSettings
from tests.factories import UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.NOTIFICATIONS_SITE_URL = "https://successkid.example"
    yield inbox
    controller.stop()


def test_immediate_email_through_a_real_smtp_server(smtp_server, django_capture_on_commit_callbacks):
    user = UserFactory(email="kid@example.com")
    NotificationSettings.objects.create(user=user, email_frequency="immediate")
    actor = UserFactory(username="meme_lord")
    with django_capture_on_commit_callbacks(execute=True):
        n = services.notify(user.pk, "mention", context={"post_id": 42, "excerpt": "hey @kid look"}, actor_id=actor.pk)
    assert len(smtp_server.messages) == 1
    sender, recipients, raw = smtp_server.messages[0]
    assert recipients == ["kid@example.com"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "meme_lord mentioned you"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "hey @kid look" in text and "https://successkid.example/posts/42" in text
    assert '<a href="https://successkid.example/posts/42"' in html
    n.refresh_from_db()
    assert n.emailed_at is not None
    # A retried task does not send it twice.
    tasks.send_notification_email(n.pk)
    assert len(smtp_server.messages) == 1


def test_no_immediate_email_for_types_turned_off_or_on_digest(settings, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user.pk, "mention", actor_id=UserFactory().pk)  # default: daily digest
    NotificationSettings.objects.filter(user=user).update(email_frequency="immediate")
    NotificationSettings.objects.get_or_create(user=user, defaults={"email_frequency": "immediate"})
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user.pk, "level_up", context={"new_level": 3})  # level ups are in-app only
    assert mail.outbox == []


def test_digest_only_for_people_who_have_not_visited_since():
    now = timezone.now()
    away = UserFactory()
    NotificationSettings.objects.create(user=away, last_visit_at=now - timedelta(days=2))
    old = NotificationFactory(
        user=away, email_wanted=True, title="Before the visit", created_at=now - timedelta(days=3)
    )
    fresh = [
        NotificationFactory(user=away, email_wanted=True, title=f"Fresh {i}", created_at=now - timedelta(hours=i + 1))
        for i in range(2)
    ]
    NotificationFactory(user=away, email_wanted=False, title="In-app only", created_at=now)
    NotificationFactory(user=away, email_wanted=True, title="Already read", created_at=now, read_at=now)

    back = UserFactory()
    NotificationSettings.objects.create(user=back, last_visit_at=now)
    NotificationFactory(user=back, email_wanted=True, title="Seen already", created_at=now - timedelta(hours=1))

    weekly = UserFactory()
    NotificationSettings.objects.create(user=weekly, email_frequency="weekly")
    NotificationFactory(user=weekly, email_wanted=True, created_at=now)

    assert tasks.send_digests("daily") == 2  # away and back have pending rows; back gets nothing
    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == [away.email] and "2 new notifications" in digest.subject
    assert "Fresh 0" in digest.body and "Fresh 1" in digest.body
    assert "Before the visit" not in digest.body and "Already read" not in digest.body
    html = digest.alternatives[0][0]
    assert "Fresh 0" in html
    for n in fresh:
        n.refresh_from_db()
        assert n.emailed_at is not None
    old.refresh_from_db()
    assert old.emailed_at is None

    tasks.send_digests("daily")  # nothing new
    assert len(mail.outbox) == 1
    tasks.send_digests("weekly")
    assert [m.to for m in mail.outbox[1:]] == [[weekly.email]]


def test_dnd_holds_back_digests():
    user = UserFactory()
    NotificationSettings.objects.create(user=user, dnd_until=timezone.now() + timedelta(hours=1))
    NotificationFactory(user=user, email_wanted=True)
    tasks.send_digests("daily")
    assert mail.outbox == []
    assert Notification.objects.get(user=user).emailed_at is None
