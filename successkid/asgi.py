"""One ASGI application: HTTP (Django) and the WebSocket at /ws/ on the same port."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.dev")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from successkid.routing import websocket_application  # noqa: E402  (needs Django set up)

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
