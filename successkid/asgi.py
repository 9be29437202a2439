"""One ASGI application: HTTP (Django) and the WebSocket at /ws/ on the same port, plus the
lifespan protocol, whose startup warms this worker's per-process caches (see apps.core.refcache)."""

import asyncio
import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402  (after setup)


class RequestThreads:
    """A fixed set of long-lived request threads, one request at a time on each.

    Django's ASGIHandler gives every request a new ThreadSensitiveContext, hence a new thread: a
    thread start per request, and every per-thread resource (Django's connections, the limiter's
    and the database cache's autocommit connection, apps.core.autocommit) is opened again and the
    old one left checked out of the connection pool until the pool runs dry. Here a request borrows
    an idle thread (or waits for one), so those stay open and are reused. The number of threads
    bounds how many requests of this process run their synchronous part at once
    (ASGI_REQUEST_THREADS; each may hold two pooled connections, see DB_POOL_MAX)."""

    def __init__(self, size: int):
        self.size = size
        self.created = 0
        self.idle: list[ThreadPoolExecutor] = []
        self.waiting: deque[asyncio.Future] = deque()

    async def acquire(self) -> ThreadPoolExecutor:
        if self.idle:
            return self.idle.pop()
        if self.created < self.size:
            self.created += 1
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        waiter = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result())  # handed over just as the request went away
            raise

    def release(self, executor: ThreadPoolExecutor) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(executor)
                return
        self.idle.append(executor)


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain loaded in sync mode, behind one thread hop,
    on a borrowed long-lived thread (RequestThreads).

    Every view here is synchronous. In async mode each `MiddlewareMixin` hook (process_request,
    process_response) hops to the request's worker thread and back, and WhiteNoise, which is
    sync-only, hops back to the event loop: about twenty hops a request, most of the cost of a
    cached leaderboard page (bench/README.md, "Gamification leaderboards", where the time went).
    Loaded in sync mode, the middleware and the view run in one thread in one hop, as under WSGI."""

    def __init__(self):
        super().__init__()
        self.threads = RequestThreads(settings.ASGI_REQUEST_THREADS)

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = await self.threads.acquire()
        try:
            # Every thread-sensitive call of this request (signals, the chain, response.close) runs
            # on the borrowed thread, as Django's own per-request context would on a new one.
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.release(executor)


django_asgi_app = SyncChainASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from successkid.routing import websocket_application  # noqa: E402  (needs Django set up)

logger = logging.getLogger("successkid.asgi")


def _warm() -> list[str]:
    from django.db import close_old_connections

    from apps.core import refcache

    try:
        return refcache.warm()
    finally:
        close_old_connections()  # the warm-up's connection goes back to the pool


async def lifespan(scope, receive, send):
    """Warm before the first request (AppConfig.ready is too early: no database access there).
    A failed warm-up is logged, never fatal: everything loads on first use anyway."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                warmed = await sync_to_async(_warm, thread_sensitive=True)()
                logger.info("warmed reference caches: %s", ", ".join(warmed) or "none")
            except Exception:
                logger.warning("cache warm-up failed; loading on first use", exc_info=True)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application, "lifespan": lifespan})
