from __future__ import annotations

import re

from django.core import mail
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD

STRONG = "plum-rocket-velvet-88"


def register(client: APIClient, username="alice", email="alice@example.com", password=STRONG, **extra):
    return client.post(
        "/api/auth/register", {"email": email, "username": username, "password": password}, format="json", **extra
    )


def login(client: APIClient, login_name: str, password: str = DEFAULT_PASSWORD, **extra):
    return client.post("/api/auth/login", {"login": login_name, "password": password}, format="json", **extra)


def bearer(access: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return c


def _last_match(pattern: str) -> str:
    for message in reversed(mail.outbox):
        if found := re.search(pattern, message.body):
            return found.group(1)
    raise AssertionError(f"no email matches {pattern}")


def last_mail_code() -> str:
    return _last_match(r"code in the app: (\d{6})")


def last_mail_key() -> str:
    return _last_match(r"key=([^\s&]+)")
