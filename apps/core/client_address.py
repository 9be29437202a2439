"""Who is calling: the one client-address function every limiter, audit row, search log and
`/metrics` check uses.

With `TRUSTED_PROXIES = N` proxies in front of us, each appends the address it saw to
X-Forwarded-For, so the client is the N-th entry from the right. Anything left of that is whatever
the client wrote and is never believed, so a spoofed header cannot move a caller into a fresh
bucket (or past an allow-list). With N = 0 the socket peer (REMOTE_ADDR) is the client.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

UNKNOWN = "0.0.0.0"  # noqa: S104 - a placeholder for "no address", never bound to


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request, *, default: str | None = UNKNOWN) -> str | None:
    """The caller's IP address (a Django/DRF request, or anything with a `META` dict); `default`
    when there is none (audit rows pass None to store nothing)."""
    meta = getattr(request, "META", None) or {}
    remote = _valid(meta.get("REMOTE_ADDR", "") or "") or default
    hops = int(getattr(settings, "TRUSTED_PROXIES", 0) or 0)
    if hops <= 0:
        return remote
    forwarded = [p for p in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
    if len(forwarded) < hops:
        # Fewer entries than trusted proxies: the request did not come through all of them.
        return remote
    return _valid(forwarded[-hops]) or remote
