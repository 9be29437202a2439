"""The SPA's own browser: a plain-JS page (tests/e2e/spa/index.html) on its own origin
(http://localhost:<p2>) against the real server process (uvicorn on http://localhost:<p1>), driven by
headless Chromium. It does what an SPA does: register, sign in in cookie mode, refresh silently, two
tabs refresh together, post (with an Idempotency-Key), upload and show an image and an avatar, open
the socket, receive a live notification, log out and see the socket closed. A page on a foreign
origin (http://127.0.0.1:<p2>: another site) gets neither a readable fetch nor a socket.

Both origins are on localhost with different ports: the same site, as an app./api. pair is, so the
SameSite=Strict, Secure (localhost counts as secure) refresh cookie travels with credentialed fetches."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.accounts.models import User
from tests.browser import headless_chromium
from tests.forum.factories import CategoryFactory
from tests.realtime.test_cross_process import _test_database_url

ROOT = Path(__file__).resolve().parents[2]
SPA_DIR = Path(__file__).resolve().parent / "spa"
PASSWORD = "plum-rocket-velvet-88"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def api_server(tmp_path):
    """uvicorn serving successkid.asgi against the test database, configured for the SPA origin."""
    port, spa_port = _free_port(), _free_port()
    log = tmp_path / "server.log"  # a file, not a pipe nobody reads (a full pipe would block it)
    env = {
        **os.environ,
        # The suite's settings (eager Celery, so notifications are made in this one process; its
        # in-memory channel layer serves this one process's sockets), DEBUG off as in production.
        "DJANGO_SETTINGS_MODULE": "successkid.settings.test",
        "DATABASE_URL": _test_database_url(),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "CORS_ALLOWED_ORIGINS": f"http://localhost:{spa_port}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_RESULT_BACKEND": "cache+memory://",  # eager tasks' results: nothing to store them in
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "successkid.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--lifespan", "off", "--log-level", "warning", "--ws", "websockets-sansio"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise AssertionError(log.read_text())
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("the API server did not start") from None
            time.sleep(0.1)
    yield port, spa_port
    print(log.read_text()[-5000:])  # shown with a failure
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def spa_server(api_server):
    """The static page on its own port (reached as localhost: the SPA; as 127.0.0.1: a foreign site)."""
    _, spa_port = api_server
    handler = functools.partial(_QuietHandler, directory=str(SPA_DIR))
    server = ThreadingHTTPServer(("127.0.0.1", spa_port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield spa_port
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def chromium(tmp_path):
    for driver in headless_chromium(
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--host-resolver-rules=MAP localhost 127.0.0.1",  # loopback only, IPv4 like the servers
    ):
        driver.set_script_timeout(30)
        yield driver


def run(driver, script: str):
    """Await `script` (a JS expression giving a promise) in the current tab."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"Promise.resolve({script}).then(done, e => done({{thrown: String(e)}}));"
    )


def _api(port: int, method: str, path: str, body: dict | None = None, access: str | None = None) -> dict:
    """Another user, from outside the browser (a native client), straight at the server."""
    headers = {"Content-Type": "application/json"}
    if access:
        headers["Authorization"] = f"Bearer {access}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["data"]


def test_an_spa_on_its_own_origin_uses_the_api_in_a_real_browser(api_server, spa_server, chromium):
    api_port, spa_port = api_server
    api = f"http://localhost:{api_port}"
    page = f"http://localhost:{spa_port}/index.html?api={api}"
    category = CategoryFactory(slug="browser-spa")
    driver = chromium
    driver.get(page)

    # Register in cookie mode: no refresh token in the body; the CSRF value is (body and exposed header).
    r = run(driver, f"sk.register('kid', '{PASSWORD}')")
    assert r["status"] == 201, r
    assert "refresh" not in r["json"]["data"] and r["json"]["data"]["csrf_token"]
    assert r["headers"]["X-CSRFToken"] == r["json"]["data"]["csrf_token"] and r["headers"]["X-Request-ID"]
    kid = User.objects.get(username="kid")
    User.objects.filter(pk=kid.pk).update(email_verified=True)  # the emailed link was followed

    # Sign in in cookie mode, then a silent refresh with the cookie and the CSRF header only.
    assert run(driver, f"sk.login('kid', '{PASSWORD}')")["status"] == 200
    first_access = driver.execute_script("return sk.access")
    refreshed = run(driver, "sk.refresh()")
    assert refreshed["status"] == 200, refreshed
    assert driver.execute_script("return sk.access") != first_access
    assert run(driver, "sk.me()")["json"]["data"]["username"] == "kid"

    # Two tabs refresh together: a second tab recovers the CSRF value from the cookie alone, then
    # both send the same refresh cookie at the same moment; both stay signed in.
    tab_one = driver.current_window_handle
    driver.switch_to.new_window("tab")
    tab_two = driver.current_window_handle
    driver.get(page)
    assert run(driver, "sk.recover()")["status"] == 200
    at = int(time.time() * 1000) + 1500
    driver.execute_script(f"window.result = null; sk.at({at}, sk.refresh).then(r => window.result = r)")
    driver.switch_to.window(tab_one)
    in_tab_one = run(driver, f"sk.at({at}, sk.refresh)")
    driver.switch_to.window(tab_two)
    in_tab_two = run(driver, "sk.waitFor(() => window.result)")
    assert (in_tab_one["status"], in_tab_two["status"]) == (200, 200), (in_tab_one, in_tab_two)
    both = run(driver, "Promise.all([sk.refresh(), sk.refresh()])")  # and two at once in one tab
    assert [b["status"] for b in both] == [200, 200], both
    assert run(driver, "sk.me()")["status"] == 200
    driver.close()
    driver.switch_to.window(tab_one)
    assert run(driver, "sk.refresh()")["status"] == 200  # the session survived all of it

    # Post, with an Idempotency-Key (a non-simple header: the preflight must allow it); a retry
    # with the same key answers the first post again, and the page can read that it was replayed.
    key = uuid.uuid4().hex
    post = run(driver, f"sk.post('Fist pump', 'Holding since launch', '{category.slug}', '{key}')")
    assert post["status"] == 201, post
    again = run(driver, f"sk.post('Fist pump', 'Holding since launch', '{category.slug}', '{key}')")
    assert again["json"]["data"]["id"] == post["json"]["data"]["id"]
    assert again["headers"]["Idempotent-Replayed"] == "true"

    # Upload an image and show it, and an avatar: absolute URLs an <img> on this origin loads.
    image = run(driver, "sk.uploadAndShow()")
    assert image["status"] == 201 and image["url"].startswith(api), image
    assert image["shown"] == {"loaded": True, "width": 64}
    avatar = run(driver, "sk.avatarAndShow()")
    assert avatar["status"] == 200 and avatar["url"].startswith(api), avatar
    assert avatar["shown"]["loaded"] is True

    # The socket: subscribe to my own topic; another user's reply arrives as a live notification.
    opened = run(driver, f"sk.openSocket('user:{kid.pk}')")
    assert opened["first"] == {"type": "subscribed", "topic": f"user:{kid.pk}", "ref": "s"}, opened
    other = _api(
        api_port, "POST", "/api/auth/register", {"email": "pal@example.com", "username": "pal", "password": PASSWORD}
    )
    User.objects.filter(username="pal").update(email_verified=True)
    _api(api_port, "POST", f"/api/posts/{post['json']['data']['id']}/comments", {"body": "wagmi"}, other["access"])
    note = run(driver, "sk.eventNamed('notification.created')")
    assert note and note["topic"] == f"user:{kid.pk}", driver.execute_script("return sk.frames")
    assert note["data"]["notification"]["type"] == "reply_to_post"

    # Log out: the session ends, and so does its socket (4401) -- at once, not when the token expires.
    started = time.monotonic()
    assert run(driver, "sk.logout()")["status"] == 200
    assert run(driver, "sk.socketClosed()") == 4401
    assert time.monotonic() - started < 2
    gone = run(driver, "sk.refresh()")
    assert gone["status"] == 401 and gone["json"]["error"]["code"] in ("refresh_missing", "token_invalid")

    # A foreign origin (another site, though the same machine and port): no readable answer, no socket.
    driver.get(f"http://127.0.0.1:{spa_port}/index.html?api={api}")
    refused = run(driver, "sk.tryFetch('/api/health')")
    assert "Failed to fetch" in refused.get("error", ""), refused
    socket_try = run(driver, "sk.openSocket('market')")
    assert socket_try["opened"] is False and socket_try["closed"] == 1006, socket_try
