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


def last_mail_code() -> str:
    return re.search(r"code in the app: (\d{6})", mail.outbox[-1].body).group(1)


def last_mail_key() -> str:
    return re.search(r"key=([^\s&]+)", mail.outbox[-1].body).group(1)
