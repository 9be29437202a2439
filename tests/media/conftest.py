import io
import socketserver
import struct
import threading
import zlib

import pytest
from PIL import Image

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_CLAMAV_URL = ""
    return tmp_path / "media"


def image_bytes(fmt="PNG", size=(40, 20), color=(200, 30, 30), mode="RGB", **save):
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format=fmt, **save)
    return buf.getvalue()


def png_header_only(width, height):
    """A PNG whose header claims width×height with almost no data: a decompression bomb's shape."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


class _FakeClamd(socketserver.BaseRequestHandler):
    """Speaks clamd's INSTREAM protocol; finds EICAR the way ClamAV reports it."""

    def handle(self):
        sock = self.request
        command = b""
        while not command.endswith(b"\0"):
            command += sock.recv(1)
        assert command == b"zINSTREAM\0", command
        data = b""
        while True:
            (length,) = struct.unpack(">I", self._exact(4))
            if length == 0:
                break
            data += self._exact(length)
        self.server.scanned.append(data)
        answer = b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data else b"stream: OK\0"
        sock.sendall(answer)

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            part = self.request.recv(n - len(buf))
            if not part:
                raise ConnectionError("client went away")
            buf += part
        return buf


@pytest.fixture
def fake_clamd(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FakeClamd)
    server.daemon_threads = True
    server.scanned = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.MEDIA_CLAMAV_URL = f"tcp://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()
