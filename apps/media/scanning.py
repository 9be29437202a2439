"""ClamAV hook: scan bytes with a clamd daemon over its INSTREAM protocol.

    zINSTREAM\\0, then chunks of <4-byte big-endian length><data>, then <0000>
    answer: "stream: OK\\0" or "stream: <signature> FOUND\\0" (or "... ERROR\\0")

MEDIA_CLAMAV_URL is "tcp://host:3310" or "unix:///path/to/clamd.ctl"; empty disables scanning.
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings

logger = logging.getLogger(__name__)
CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    pass


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str = ""


def _connect(url: str, timeout: float) -> socket.socket:
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(parsed.path)
        return sock
    if parsed.scheme == "tcp":
        return socket.create_connection((parsed.hostname, parsed.port or 3310), timeout=timeout)
    raise ScannerUnavailable(f"unsupported MEDIA_CLAMAV_URL scheme {parsed.scheme!r}")


def scan_bytes(data: bytes, *, url: str | None = None, timeout: float | None = None) -> ScanResult | None:
    """None when scanning is not configured. Raises ScannerUnavailable when it is but fails."""
    url = url if url is not None else settings.MEDIA_CLAMAV_URL
    if not url:
        return None
    timeout = timeout if timeout is not None else settings.MEDIA_CLAMAV_TIMEOUT
    try:
        with _connect(url, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                chunk = data[start : start + CHUNK]
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
            answer = b""
            while not answer.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                answer += part
    except OSError as exc:
        logger.warning("clamd unreachable at %s: %s", url, exc)
        raise ScannerUnavailable(str(exc)) from exc
    text = answer.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text.endswith("OK"):
        return ScanResult(clean=True)
    if text.endswith("FOUND"):
        signature = text.removeprefix("stream:").removesuffix("FOUND").strip()
        return ScanResult(clean=False, signature=signature)
    logger.warning("clamd answered %r", text)
    raise ScannerUnavailable(text or "empty answer")
