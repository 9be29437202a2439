"""Safe retries of POSTs that create things: `Idempotency-Key: <1–255 visible ASCII characters>`.

A client that sent a POST and got no answer (a timeout, a dropped connection, a 503 while the
database restarted) cannot know whether it was stored. Sending it again with the same key is safe:

- The key is written in the request's own transaction (ATOMIC_REQUESTS), before the view runs, and
  the answer is stored in it before it commits. So the key exists exactly when the POST's writes do.
- A retry whose key is already stored gets the stored answer again, status and body, with
  `Idempotent-Replayed: true`, and nothing runs a second time.
- Two attempts at once: the second one's insert waits on the unique index for the first
  transaction, then replays its answer (or, if it rolled back, runs itself).
- A failed attempt (4xx/5xx that rolled back) leaves no key: the retry runs afresh.
- The same key with a different method, path or body is a 409 `conflict`: a key names one request.

Per signed-in user (anonymous POSTs on these endpoints are refused before this runs); keys expire
after IDEMPOTENCY_KEY_HOURS (hourly beat job). The table is private to its user under RLS.

    class PostListView(IdempotentPostMixin, ...):   # POST only; GETs are untouched
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from apps.core.exceptions import Conflict, ValidationFailed

HEADER = "Idempotency-Key"
_META = "HTTP_IDEMPOTENCY_KEY"
_VALID = re.compile(r"[\x21-\x7e]{1,255}")


class _Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.get_full_path()}\n".encode())
    try:
        digest.update(request._request.body)
    except RawPostDataException:  # a multipart body already streamed (CSRF read it): its outline
        outline = sorted(request._request.POST.lists()) + sorted(
            (name, f.name, f.size) for name, f in request._request.FILES.items()
        )
        digest.update(repr(outline).encode())
    return digest.hexdigest()


def claim(request) -> int | None:
    """Take the caller's key for this request (its row id), or raise _Replay / Conflict."""
    key = request.META.get(_META)
    if key is None:
        return None
    if not _VALID.fullmatch(key):
        msg = f"{HEADER} must be 1 to 255 visible ASCII characters."
        raise ValidationFailed(msg, details={HEADER: [msg]})
    fingerprint = _fingerprint(request)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO idempotency_keys (user_id, key, method, path, fingerprint, location, created_at)
            VALUES (%s, %s, %s, %s, %s, '', now())
            ON CONFLICT (user_id, key) DO NOTHING
            RETURNING id
            """,
            [request.user.pk, key, request.method, request.path[:2000], fingerprint],
        )
        row = cursor.fetchone()
        if row is not None:
            return row[0]
        cursor.execute(
            "SELECT fingerprint, status_code, response, location FROM idempotency_keys WHERE user_id = %s AND key = %s",
            [request.user.pk, key],
        )
        found = cursor.fetchone()
    if found is None:  # expired and purged between the two statements
        return claim(request)
    stored_fingerprint, status, body, location = found
    if stored_fingerprint != fingerprint:
        raise Conflict(
            f"This {HEADER} was used for a different request.",
            details={HEADER: ["Use a new key for a new request."]},
        )
    if status is None:  # cannot happen: the answer is stored in the same transaction as the key
        raise Conflict(f"The request with this {HEADER} has not finished. Try again shortly.")
    headers = {"Idempotent-Replayed": "true", **({"Location": location} if location else {})}
    raise _Replay(Response(json.loads(body), status=status, headers=headers))


def store(claimed: int, response) -> None:
    """Keep the answer with the key, inside the request's transaction (unless it is rolling back,
    in which case the key goes with everything else)."""
    if connection.needs_rollback or not connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE idempotency_keys SET status_code = %s, response = %s, location = %s WHERE id = %s",
            [
                response.status_code,
                _json(getattr(response, "data", None)),
                (response.get("Location") or "")[:2000],
                claimed,
            ],
        )


def _json(data) -> str:
    return json.dumps(data, cls=JSONEncoder)


def purge(now=None) -> int:
    from apps.core.models import IdempotencyKey

    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class IdempotentPostMixin:
    """For DRF views whose POST creates something (see the module docstring)."""

    _idempotency_claim: int | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles first
        self._idempotency_claim = None
        if request.method == "POST" and request.user.is_authenticated:
            self._idempotency_claim = claim(request)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._idempotency_claim is not None:
            store(self._idempotency_claim, response)
            self._idempotency_claim = None
        return response
