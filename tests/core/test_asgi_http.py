"""HTTP through the ASGI application uvicorn serves (`successkid.asgi.application`), not the test
client's handler: the middleware chain is loaded in sync mode and entered in one thread hop."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading

import pytest

from successkid import asgi


def asgi_http(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
    target, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive():
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # no disconnect while the response is produced

    async def send(message):
        sent.append(message)

    asyncio.run(asgi.application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, payload


def test_middleware_and_view_run_in_one_worker_thread_off_the_event_loop(monkeypatch):
    from apps.core.middleware import SecurityHeadersMiddleware
    from apps.core.views import HealthView

    threads: dict[str, int] = {}
    view_get, after = HealthView.get, SecurityHeadersMiddleware.after

    def recording_get(self, request, *args, **kwargs):
        threads["view"] = threading.get_ident()
        return view_get(self, request, *args, **kwargs)

    def recording_after(self, request, response):
        threads["middleware"] = threading.get_ident()
        return after(self, request, response)

    monkeypatch.setattr(HealthView, "get", recording_get)
    monkeypatch.setattr(SecurityHeadersMiddleware, "after", recording_after)
    status, headers, body = asgi_http("GET", "/api/health")
    assert status == 200
    assert json.loads(body)["data"]["status"] == "ok"
    assert headers["x-request-id"]
    assert headers["content-security-policy"].startswith("default-src 'none'")
    # asyncio.run drives the event loop on this (main) thread; the request ran on one other thread.
    assert threads["view"] == threads["middleware"] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
def test_unknown_api_path_gets_the_error_envelope_through_asgi():
    status, headers, body = asgi_http("GET", "/api/no-such-thing")
    assert status == 404
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
def test_a_json_body_reaches_the_view_and_errors_keep_the_envelope():
    status, _, body = asgi_http(
        "POST",
        "/api/auth/login",
        body=json.dumps({"email": "nobody@example.com", "password": "wrong-password-123"}).encode(),
        headers={"content-type": "application/json"},
    )
    error = json.loads(body)["error"]
    assert status in (400, 401)
    assert error["code"] in ("invalid_credentials", "validation_error", "not_authenticated")


@pytest.mark.django_db(transaction=True)
def test_large_answers_are_compressed_through_asgi():
    status, headers, body = asgi_http("GET", "/api/schema/?format=json", headers={"accept-encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(body))["openapi"].startswith("3.")


@pytest.mark.django_db(transaction=True)
def test_requests_reuse_a_bounded_set_of_long_lived_threads(monkeypatch, settings):
    """A new thread per request re-opened every per-thread connection (the limiter's autocommit
    one) and left the old one checked out of the pool, which ran dry after a few requests."""
    from apps.core.views import HealthView

    names: list[str] = []
    view_get = HealthView.get

    def recording_get(self, request, *args, **kwargs):
        names.append(threading.current_thread().name)
        return view_get(self, request, *args, **kwargs)

    monkeypatch.setattr(HealthView, "get", recording_get)
    for _ in range(3 * settings.ASGI_REQUEST_THREADS):
        status, _, _ = asgi_http("GET", "/api/health")
        assert status == 200
    assert len(set(names)) == 1, names  # one request at a time: always the same idle thread
    assert names[0].startswith("request")


def test_a_request_costs_one_thread_hop_signals_included(monkeypatch):
    """Django's own ASGI handler hops to a thread and back for request_started, again for the
    chain and again for response.close (request_finished): three hops a request, most of the fixed
    cost of a cheap read. Here all three run inside one call on the request's thread."""
    from asgiref import sync
    from django.core import signals

    hops: list[str] = []
    real_call, real_on_thread = sync.SyncToAsync.__call__, asgi.on_thread

    async def counting_call(self, *args, **kwargs):
        hops.append(getattr(self.func, "__name__", repr(self.func)))
        return await real_call(self, *args, **kwargs)

    async def counting_on_thread(executor, func, *args):
        hops.append(func.__name__)
        return await real_on_thread(executor, func, *args)

    seen: dict[str, int] = {}

    def started(**kwargs):
        seen["started"] = threading.get_ident()

    def finished(**kwargs):
        seen["finished"] = threading.get_ident()

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counting_call)
    monkeypatch.setattr(asgi, "on_thread", counting_on_thread)
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        status, _, _ = asgi_http("GET", "/api/health")
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert status == 200
    assert hops == ["respond"]
    assert seen["started"] == seen["finished"] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
def test_a_streamed_file_arrives_whole_and_is_closed_on_the_request_thread(settings, tmp_path, monkeypatch):
    import importlib

    from django.core import signals
    from django.urls import clear_url_caches

    import successkid.urls

    settings.SERVE_LOCAL_MEDIA = True
    settings.MEDIA_ROOT = tmp_path
    payload = bytes(range(256)) * 1024  # 256 KiB: several chunks
    (tmp_path / "big.bin").write_bytes(payload)
    importlib.reload(successkid.urls)
    clear_url_caches()
    closed_on: list[int] = []

    def finished(**kwargs):
        closed_on.append(threading.get_ident())

    signals.request_finished.connect(finished)
    try:
        status, headers, body = asgi_http("GET", "/media/big.bin")
    finally:
        signals.request_finished.disconnect(finished)
        settings.SERVE_LOCAL_MEDIA = False
        importlib.reload(successkid.urls)
        clear_url_caches()
    assert status == 200
    assert body == payload
    assert closed_on and closed_on[0] != threading.get_ident()


def test_a_request_whose_handling_escapes_still_ends_and_frees_its_thread(monkeypatch):
    from django.core import signals

    finished: list[int] = []

    def boom(request):
        raise RuntimeError("escaped the chain")

    def on_finished(**kwargs):
        finished.append(threading.get_ident())

    monkeypatch.setattr(asgi.django_asgi_app, "_middleware_chain", boom)
    signals.request_finished.connect(on_finished)
    try:
        with pytest.raises(RuntimeError, match="escaped the chain"):
            asgi_http("GET", "/api/health")
    finally:
        signals.request_finished.disconnect(on_finished)
    assert finished and finished[0] != threading.get_ident()
    assert asgi.django_asgi_app.threads.idle, "the request thread went back to the idle set"


@pytest.mark.django_db
def test_a_path_is_resolved_once_and_a_new_url_configuration_is_not_served_the_old_match(monkeypatch, settings):
    from django.urls import resolvers

    walks: list[str] = []
    real_resolve = resolvers.URLResolver.resolve

    def counting(self, path):
        if self.pattern.regex.pattern == "^/":  # the root resolver: one walk of the patterns
            walks.append(path)
        return real_resolve(self, path)

    monkeypatch.setattr(resolvers.URLResolver, "resolve", counting)
    for _ in range(3):
        assert asgi_http("GET", "/api/health")[0] == 200
    assert walks == ["/api/health"]
    settings.ROOT_URLCONF = "tests.core.urls_health_moved"  # Django clears its resolver cache
    assert asgi_http("GET", "/api/health")[0] == 404
    assert asgi_http("GET", "/moved/health")[0] == 200


def test_async_to_sync_in_a_view_runs_on_the_servers_loop_and_comes_back_to_the_request_thread(monkeypatch):
    """As under asgiref's sync_to_async: a view's `async_to_sync` (the channel layer's group_send)
    runs its coroutine on the server's event loop, not a new loop in a new thread, and that
    coroutine's thread-sensitive calls run on the request's own thread."""
    from asgiref.sync import async_to_sync, sync_to_async
    from rest_framework.response import Response

    from apps.core.views import HealthView

    seen: dict[str, int] = {}

    async def on_the_loop():
        seen["coroutine"] = threading.get_ident()
        seen["back"] = await sync_to_async(threading.get_ident, thread_sensitive=True)()

    def get(self, request, *args, **kwargs):
        seen["view"] = threading.get_ident()
        async_to_sync(on_the_loop)()
        return Response({"status": "ok"})

    monkeypatch.setattr(HealthView, "get", get)
    assert asgi_http("GET", "/api/health")[0] == 200
    assert seen["coroutine"] == threading.get_ident()  # asgi_http runs the server's loop here
    assert seen["back"] == seen["view"] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
def test_a_request_thread_keeps_its_connection_and_replaces_one_the_server_dropped(monkeypatch, settings):
    """A request thread holds its pooled connection from one request to the next (no connect per
    request), and one the server terminated in between is noticed before the next request uses
    it: that request gets a new connection and its answer, not an error."""
    import select

    import psycopg
    from django.db import connection
    from django.db.backends.signals import connection_created

    from apps.forum import selectors

    used: list = []
    real = selectors.category_list

    def recording(*, viewer):
        rows = real(viewer=viewer)
        used.append(connection.connection)
        return rows

    monkeypatch.setattr(selectors, "category_list", recording)
    opened: list[int] = []

    def count(**kwargs):
        opened.append(1)

    connection_created.connect(count)
    settings.DB_POOL_HOLD_SECONDS = 60
    try:
        for _ in range(4):
            assert asgi_http("GET", "/api/categories")[0] == 200
        assert len({c.info.backend_pid for c in used}) == 1 and len(opened) <= 1  # 1: this thread's first
        held = used[-1]
        params = {**connection.get_connection_params(), "autocommit": True}
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [held.info.backend_pid])
        assert select.select([held.fileno()], [], [], 5)[0], "the server did not write to the dropped connection"
        status, _, body = asgi_http("GET", "/api/categories")
        assert status == 200, body
        assert used[-1].info.backend_pid != held.info.backend_pid
    finally:
        connection_created.disconnect(count)
        settings.DB_POOL_HOLD_SECONDS = 0
        asgi_http("GET", "/api/categories")  # gives the connection back before this test ends
    assert used[-1].closed
