"""Request plumbing every response goes through. Each middleware works in sync and async stacks
so the ASGI server never pays a thread hop for them."""

from __future__ import annotations

import contextlib
import gzip
import re
import secrets
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware import gzip as gzip_middleware
from django.utils.cache import patch_vary_headers

from apps.core.exceptions import error_body, translate
from apps.core.request_context import reset_request_id, set_request_id

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


class BaseMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        early = self.before(request)
        if early is not None:
            return self.after(request, early)
        return self.after(request, self.get_response(request))

    async def _acall(self, request: HttpRequest):
        early = self.before(request)
        if early is not None:
            return self.after(request, early)
        return self.after(request, await self.get_response(request))

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response


class RequestIDMiddleware(BaseMiddleware):
    """Echo a well-formed incoming X-Request-ID, else make one; available to logs and errors."""

    def before(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request._request_id_token = set_request_id(request.id)
        return None

    def after(self, request, response):
        response["X-Request-ID"] = request.id
        token = getattr(request, "_request_id_token", None)
        if token is not None:
            # A reset from another context (after a sync_to_async hop) is harmless to skip.
            with contextlib.suppress(ValueError):
                reset_request_id(token)
        return response


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class ApiPathMiddleware(BaseMiddleware):
    """For /api/: an optional trailing slash without redirects, and a body-size check before any
    view reads the body (413 in the envelope)."""

    def before(self, request):
        path = request.path_info
        if not is_api_path(path):
            return None
        if len(path) > 5 and path.endswith("/"):
            request.path_info = path.rstrip("/")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(error_body("bad_request", "Invalid Content-Length."), status=400)
        limit = (
            settings.MAX_UPLOAD_BYTES
            if request.content_type == "multipart/form-data"
            else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        )
        if length > limit:
            return JsonResponse(
                error_body("payload_too_large", f"The request body is larger than the limit of {limit} bytes."),
                status=413,
            )
        return None

    def process_view(self, request, view_func, view_args, view_kwargs):
        """A method the route never supports is a 405 before authentication, permissions or
        throttles run (an anonymous DELETE on a read-only list is not a 401)."""
        view_class = getattr(view_func, "view_class", None)
        if view_class is None or not is_api_path(request.path):
            return None
        method = request.method.lower()
        allowed = [m for m in view_class.http_method_names if hasattr(view_class, m)]
        if allowed == ["options"]:  # a catch-all view (unknown /api/ paths) answers every method itself
            return None
        if "get" in allowed and "head" not in allowed:
            allowed.append("head")  # Django answers HEAD with GET
        if method in allowed:
            return None
        response = JsonResponse(error_body("method_not_allowed", f'Method "{request.method}" not allowed.'), status=405)
        response["Allow"] = ", ".join(m.upper() for m in allowed)
        return response

    def process_exception(self, request, exception):
        """A database outage that escapes DRF's handler (the request transaction's own BEGIN or
        COMMIT under ATOMIC_REQUESTS) is the same transient 503 as inside a view, not a 500."""
        if isinstance(exception, DatabaseOperationalError | DatabaseInterfaceError) and is_api_path(request.path):
            status, code, message, _, headers = translate(exception)
            response = JsonResponse(error_body(code, message), status=status)
            for name, value in headers.items():
                response[name] = value
            return response
        return None


class SecurityHeadersMiddleware(BaseMiddleware):
    """Headers SecurityMiddleware does not set. API answers are data, never documents to render."""

    def after(self, request, response):
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.setdefault("Cross-Origin-Resource-Policy", "same-site")
        if is_api_path(request.path) and not request.path.startswith("/api/docs"):
            response.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
            response.setdefault("Cache-Control", "no-store" if "HTTP_AUTHORIZATION" in request.META else "no-cache")
        return response


class BrowserOnly:
    """For a middleware only browser pages need (the admin, allauth's pages): /api/ requests pass
    straight through it. The API authenticates by bearer token (apps.accounts.authentication),
    keeps no Django session and shows no flash messages: these hooks only cost every API request
    their set-up and teardown. (CSRF and frame options stay Django's own for every path: the deploy
    check looks for them by name, and the API's cookie-mode refresh has its own CSRF rule.)"""

    def __call__(self, request):
        if is_api_path(request.path):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(BrowserOnly, sessions_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(BrowserOnly, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(BrowserOnly, messages_middleware.MessageMiddleware):
    pass


def gzip_bytes(content: bytes) -> bytes:
    """`content` gzipped at GZIP_LEVEL, with the random-length file name Django's compression adds
    (it varies the size of answers that mix a secret with what a caller sent: BREACH)."""
    data = memoryview(gzip.compress(content, compresslevel=settings.GZIP_LEVEL, mtime=0))
    header = bytearray(data[:10])
    header[3] = gzip.FNAME
    name = b"a" * secrets.randbelow(gzip_middleware.GZipMiddleware.max_random_bytes) + b"\x00"
    return bytes(header) + name + data[10:]


class GZipMiddleware(gzip_middleware.GZipMiddleware):
    """Django's gzip middleware at GZIP_LEVEL instead of its fixed level 6: for an API answer,
    level 1 costs a third of the CPU for about a quarter more bytes (bench/README.md)."""

    def process_response(self, request, response):
        if response.streaming or len(response.content) < 200 or response.has_header("Content-Encoding"):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Encoding",))
        if not gzip_middleware.re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return response
        compressed = gzip_bytes(response.content)
        if len(compressed) >= len(response.content):
            return response
        response.content = compressed
        response.headers["Content-Length"] = str(len(compressed))
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag  # as Django's: a strong ETag names the plain bytes
        response.headers["Content-Encoding"] = "gzip"
        return response
