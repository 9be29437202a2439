"""One ASGI application: HTTP (Django) and the WebSocket at /ws/ on the same port, plus the
lifespan protocol, whose startup warms this worker's per-process caches (see apps.core.refcache)."""

import asyncio
import contextvars
import functools
import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import SyncToAsync, ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.urls import get_resolver, set_script_prefix, set_urlconf

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402  (after setup)

from apps.core.pgbackend import base as pgbackend  # noqa: E402


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
            return ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="request",
                initializer=pgbackend.mark_request_thread,
            )
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


@functools.lru_cache(maxsize=4096)
def _resolve(resolver, path: str):
    """A path's match under a resolver (a new URL configuration is a new resolver, see Django's
    clear_url_caches). An unknown path raises Resolver404 every time: nothing is kept for it."""
    return resolver.resolve(path)


async def on_thread(executor: ThreadPoolExecutor, func, *args):
    """`await sync_to_async(func, thread_sensitive=True)(*args)` run on `executor`'s thread: the
    call sees a copy of this task's context and, as under sync_to_async, `async_to_sync` inside it
    runs its coroutine on this loop (SyncToAsync.threadlocal) and sends that coroutine's own
    thread-sensitive calls back to this thread. What asgiref adds beyond that (a thread-sensitive
    context per call, copying every context variable back and forth, shielding the call) cost a
    third of a small request; the call is never cancelled half-way here: a request whose task is
    cancelled gives its thread back only once the call has finished."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    future = loop.run_in_executor(executor, functools.partial(_enter_thread, loop, context, func, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


def _enter_thread(loop, context, func, *args):
    threadlocal = SyncToAsync.threadlocal
    threadlocal.main_event_loop = loop
    threadlocal.main_event_loop_pid = os.getpid()
    threadlocal.task_context = []
    return context.run(func, *args)


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler reduced to one thread hop a request, on a borrowed long-lived thread
    (RequestThreads).

    Every view here is synchronous. Django's own handler hops to a worker thread and back three
    times a request (request_started, the middleware chain, response.close for request_finished)
    and runs two tasks per request to notice a client that goes away; in async mode each
    `MiddlewareMixin` hook hops as well. That was most of a request's fixed cost (bench/README.md,
    "Close to the floor"). Here the body is read on the event loop, then one call on the request's
    thread does what Django's WSGI handler does (signals, the sync middleware chain and the view,
    `close()`), and the finished bytes are sent from the loop. A streaming response (a file) is
    read on the same thread and closed there after its last chunk. A client that disconnects
    mid-request is noticed when its answer is sent, as under WSGI."""

    def __init__(self):
        super().__init__()
        self.threads = RequestThreads(settings.ASGI_REQUEST_THREADS)

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    def resolve_request(self, request):
        """Django's, remembering what each path resolved to: walking the URL patterns cost a
        tenth of a small request, and a process answers the same paths again and again."""
        if hasattr(request, "urlconf"):
            set_urlconf(request.urlconf)
            resolver = get_resolver(request.urlconf)
        else:
            resolver = get_resolver()
        request.resolver_match = match = _resolve(resolver, request.path_info)
        return match

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        executor = await self.threads.acquire()
        try:
            response = await on_thread(executor, self.respond, scope, body_file)
            if not response.streaming:
                await self.send_response(response, send)
                return
            # A streamed response's chunks are read, and it is closed, on the same thread.
            async with ThreadSensitiveContext(executor=executor):
                try:
                    await self.send_response(response, send)
                finally:
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            self.threads.release(executor)
            body_file.close()

    def respond(self, scope, body_file) -> HttpResponseBase:
        """What Django's WSGI handler does for one request, on the request's thread; a response
        that is not streamed is closed (request_finished) before its bytes are sent."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        try:
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
                response._handler_class = self.__class__
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size
        except BaseException:
            # Django turns a view's exception into a response; anything that escapes still ends
            # the request, or this thread's connections would stay checked out.
            signals.request_finished.send(sender=self.__class__)
            raise
        if not response.streaming:
            response.close()
        return response


django_asgi_app = OneHopASGIHandler()

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
