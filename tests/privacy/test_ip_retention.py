"""IP retention: stored client IPs older than IP_RETENTION_DAYS are truncated (IPv4 /24, IPv6 /48)
by a daily job; newer ones are left alone; every IP column of every model is covered."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from apps.accounts.models import AccountAuditLog, AuthSession
from apps.privacy import services, tasks
from apps.privacy.models import IpScrubRun
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _session(user, ip, age_days):
    when = timezone.now() - dt.timedelta(days=age_days)
    return AuthSession.objects.create(
        user=user, current_jti="j", ip=ip, created_at=when, last_used_at=when, expires_at=when + dt.timedelta(days=60)
    )


def test_old_ips_are_truncated_and_new_ones_kept(settings):
    settings.IP_RETENTION_DAYS = 30
    user = UserFactory()
    old_v4 = _session(user, "203.0.113.77", 31)
    old_v6 = _session(user, "2001:db8:abcd:12:1:2:3:4", 45)
    fresh = _session(user, "198.51.100.23", 29)
    unknown = _session(user, None, 90)
    old_audit = AccountAuditLog.objects.create(
        target=user, action="suspended", ip="192.0.2.200", created_at=timezone.now() - dt.timedelta(days=40)
    )
    new_audit = AccountAuditLog.objects.create(target=user, action="suspended", ip="192.0.2.201")

    counts = tasks.ip_scrub.delay().get()

    assert counts == {"accounts.AuthSession": 2, "accounts.AccountAuditLog": 1}
    for row, expected in [
        (old_v4, "203.0.113.0"),
        (old_v6, "2001:db8:abcd::"),
        (fresh, "198.51.100.23"),
        (unknown, None),
        (old_audit, "192.0.2.0"),
        (new_audit, "192.0.2.201"),
    ]:
        row.refresh_from_db()
        assert row.ip == expected
    run = IpScrubRun.objects.get()
    assert run.counts == counts and run.cutoff < timezone.now() - dt.timedelta(days=29)

    # Idempotent: a second run finds nothing left to truncate.
    assert set(services.ip_scrub().values()) == {0}


def test_retention_follows_the_setting(settings):
    user = UserFactory()
    row = _session(user, "203.0.113.77", 10)
    settings.IP_RETENTION_DAYS = 30
    services.ip_scrub()
    row.refresh_from_db()
    assert row.ip == "203.0.113.77"
    settings.IP_RETENTION_DAYS = 7
    services.ip_scrub()
    row.refresh_from_db()
    assert row.ip == "203.0.113.0"


def test_session_retention_counts_from_last_use():
    """A session signed in long ago but used yesterday keeps its (latest) IP."""
    user = UserFactory()
    long_ago = timezone.now() - dt.timedelta(days=90)
    row = AuthSession.objects.create(
        user=user, current_jti="j", ip="203.0.113.77", created_at=long_ago, last_used_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=1),
    )  # fmt: skip
    services.ip_scrub()
    row.refresh_from_db()
    assert row.ip == "203.0.113.77"


def test_every_ip_column_is_under_retention():
    listed = {(label, field) for label, field, _ in services.IP_COLUMNS}
    found = {
        (model._meta.label, f.name)
        for model in apps.get_models()
        for f in model._meta.get_fields()
        if isinstance(f, models.GenericIPAddressField)
    }
    assert found == listed


def test_the_job_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-ip-scrub"]
    assert entry["task"] == "apps.privacy.tasks.ip_scrub" and entry["schedule"] == dt.timedelta(days=1)
