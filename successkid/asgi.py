"""One ASGI application: HTTP (Django) and the WebSocket at /ws/ on the same port, plus the
lifespan protocol, whose startup warms this worker's per-process caches (see apps.core.refcache)."""

import logging
import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")
django.setup(set_prefix=False)


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain loaded in sync mode, behind one thread hop.

    Every view here is synchronous. In async mode each `MiddlewareMixin` hook (process_request,
    process_response) hops to the request's worker thread and back, and WhiteNoise, which is
    sync-only, hops back to the event loop: about twenty hops a request, most of the cost of a
    cached leaderboard page (bench/README.md, "Gamification leaderboards", where the time went).
    Loaded in sync mode, the middleware and the view run in one thread in one hop, as under WSGI."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


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
