"""Replays recorded provider answers through the real `requests` client code allauth uses:
a transport adapter mounted on the session allauth asks for (no network, no monkeypatched
parsing). Unknown requests fail loudly."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


class ReplayAdapter(BaseAdapter):
    def __init__(self, routes: dict[tuple[str, str], tuple[int, object]]):
        super().__init__()
        self.routes = routes
        self.calls: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.calls.append(request)
        parts = urlsplit(request.url)
        key = (request.method, f"{parts.scheme}://{parts.netloc}{parts.path}")
        if key not in self.routes:
            raise AssertionError(f"unexpected outside request {key}")
        status, body = self.routes[key]
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def install(monkeypatch, routes) -> ReplayAdapter:
    adapter = ReplayAdapter(routes)

    def session(self):
        s = requests.Session()
        s.mount("https://", adapter)
        s.mount("http://", adapter)
        return s

    monkeypatch.setattr("apps.accounts.oauth.SocialAccountAdapter.get_requests_session", session)
    return adapter
