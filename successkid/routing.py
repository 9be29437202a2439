from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from apps.realtime.consumers import RealtimeConsumer
from apps.realtime.middleware import TokenAuthMiddleware

websocket_urlpatterns = [path("ws/", RealtimeConsumer.as_asgi()), path("ws", RealtimeConsumer.as_asgi())]


def allowed_origins() -> list[str]:
    """The Origin allow-list: our hosts, the CORS origins and REALTIME_ALLOWED_ORIGINS."""
    return [
        *settings.ALLOWED_HOSTS,
        *settings.CORS_ALLOWED_ORIGINS,
        *getattr(settings, "REALTIME_ALLOWED_ORIGINS", []),
    ]


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin, and it must be on the allow-list (read from settings at each
    connect); non-browser clients (bots, native apps) send none and authenticate with a token like
    any API client."""

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        self.allowed_origins = allowed_origins()
        return self.validate_origin(parsed_origin)


websocket_application = BrowserOriginValidator(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)), allowed_origins())
