from urllib.parse import urlsplit

from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host
from django.urls import path

from apps.realtime.consumers import RealtimeConsumer
from apps.realtime.middleware import TokenAuthMiddleware

websocket_urlpatterns = [path("ws/", RealtimeConsumer.as_asgi()), path("ws", RealtimeConsumer.as_asgi())]


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, the port made explicit; None if it is not one."""
    try:
        parsed = urlsplit(value.strip())
        port = parsed.port
    except ValueError:
        return None
    scheme, host = parsed.scheme.lower(), (parsed.hostname or "").lower()
    if scheme not in ("http", "https") or not host or parsed.path not in ("", "/") or parsed.query:
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def allowed_origins() -> set[tuple[str, str, int]]:
    """Browser origins that may open /ws/: CORS_ALLOWED_ORIGINS and REALTIME_ALLOWED_ORIGINS, full
    origins compared exactly (scheme, host and port)."""
    configured = [*settings.CORS_ALLOWED_ORIGINS, *getattr(settings, "REALTIME_ALLOWED_ORIGINS", [])]
    return {o for o in map(normalize_origin, configured) if o is not None}


def own_origin(scope) -> tuple[str, str, int] | None:
    """The API's own origin as this handshake reached it (a page served by the API itself), if
    its Host is one we serve."""
    host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    origin = normalize_origin(f"{scheme}://{host}")
    if origin is None or not validate_host(origin[1], settings.ALLOWED_HOSTS):
        return None
    return origin


class ExactOriginValidator:
    """Browsers always send Origin, and it must match an allowed origin exactly; non-browser
    clients (bots, native apps) send none and authenticate with a token like any API client.
    The lists are read from settings at each handshake."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        origins = [v for k, v in scope.get("headers", []) if k == b"origin"]
        if origins:
            origin = normalize_origin(origins[0].decode("latin-1"))
            if origin is None or (origin not in allowed_origins() and origin != own_origin(scope)):
                return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


websocket_application = ExactOriginValidator(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
