"""One ASGI application: HTTP (Django) and the WebSocket at /ws/ on the same port, plus the
lifespan protocol, whose startup warms this worker's per-process caches (see apps.core.refcache)."""

import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")
django_asgi_app = get_asgi_application()

from asgiref.sync import sync_to_async  # noqa: E402
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
