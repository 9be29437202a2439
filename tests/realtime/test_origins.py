"""The WebSocket handshake's Origin must match an allowed origin exactly: scheme, host and port, from
CORS_ALLOWED_ORIGINS / REALTIME_ALLOWED_ORIGINS, or the API's own origin. A bare ALLOWED_HOSTS entry
does not let every port and scheme of that host in."""

import pytest
from channels.testing import WebsocketCommunicator

from successkid.routing import websocket_application

pytestmark = pytest.mark.django_db(transaction=True)

SPA = "http://localhost:5173"


async def handshake(origin: str | None, host: str = "localhost:8000", scheme: str = "ws") -> bool:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    comm = WebsocketCommunicator(websocket_application, "/ws/", headers=headers)
    comm.scope["scheme"] = scheme
    connected, _ = await comm.connect()
    if connected:
        await comm.disconnect()
    return connected


@pytest.fixture(autouse=True)
def spa_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [SPA]
    settings.REALTIME_ALLOWED_ORIGINS = []
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "api.example.com"]


@pytest.mark.parametrize(
    "origin",
    [
        SPA,
        "http://LOCALHOST:5173",  # host names are case-insensitive
        "http://localhost:5173/",
    ],
)
async def test_the_configured_spa_origin_may_connect(origin):
    assert await handshake(origin)


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:5174",  # foreign port of an allowed host
        "https://localhost:5173",  # foreign scheme
        "http://127.0.0.1:5173",  # foreign host (another site), same port
        "http://localhost",  # a bare ALLOWED_HOSTS entry is no origin
        "http://evil.example",
        "null",
        "http://localhost:5173.evil.example",
    ],
)
async def test_foreign_port_scheme_and_host_are_refused(origin):
    assert not await handshake(origin)


async def test_the_apis_own_origin_may_connect():
    assert await handshake("http://localhost:8000", host="localhost:8000")
    assert await handshake("https://api.example.com", host="api.example.com", scheme="wss")
    # ...but only with the scheme and port the handshake came in on, and a host we serve.
    assert not await handshake("http://api.example.com", host="api.example.com", scheme="wss")
    assert not await handshake("http://localhost:8001", host="localhost:8000")
    assert not await handshake("http://other.example:8000", host="other.example:8000")


async def test_clients_without_origin_connect():
    assert await handshake(None)


async def test_realtime_allowed_origins_count_too(settings):
    settings.REALTIME_ALLOWED_ORIGINS = ["https://app.example.com"]
    assert await handshake("https://app.example.com")
    assert not await handshake("https://app.example.com:8443")
