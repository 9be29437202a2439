from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from apps.realtime.consumers import RealtimeConsumer
from apps.realtime.middleware import TokenAuthMiddleware

websocket_urlpatterns = [path("ws/", RealtimeConsumer.as_asgi()), path("ws", RealtimeConsumer.as_asgi())]


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin, and it must be ours; non-browser clients (bots, native apps)
    send none and authenticate with a token like any API client."""

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def allowed_origins() -> list[str]:
    return [*settings.ALLOWED_HOSTS, *settings.CORS_ALLOWED_ORIGINS]


websocket_application = BrowserOriginValidator(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)), allowed_origins())
