"""Domain errors and the one exception handler that renders API.md's error envelope."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.core.request_context import current_request_id

logger = logging.getLogger("successkid.errors")

DATABASE_UNAVAILABLE = "The service is temporarily unavailable. Try again in a few seconds."
DATABASE_RETRY_AFTER = 5


class ApplicationError(Exception):
    """A rule of the domain was broken. Services raise these; the handler renders them."""

    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class KeepsWrites:
    """Mixin for errors whose response must not undo what the request wrote before raising them
    (a replayed refresh token revokes its family, then answers 401): the request's transaction
    (ATOMIC_REQUESTS) commits instead of rolling back."""

    keep_writes = True


class ValidationFailed(ApplicationError):
    status, code, message = 400, "validation_error", "Invalid input."


class NotAuthenticated(ApplicationError):
    status, code, message = 401, "not_authenticated", "Authentication credentials were not provided."


class PermissionDeniedError(ApplicationError):
    status, code, message = 403, "permission_denied", "You do not have permission to do this."


class NotFound(ApplicationError):
    status, code, message = 404, "not_found", "Not found."


class Conflict(ApplicationError):
    status, code, message = 409, "conflict", "This conflicts with the current state."


class PayloadTooLarge(ApplicationError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class UnsupportedMediaType(ApplicationError):
    status, code, message = 415, "unsupported_media_type", "Unsupported media type."


class RateLimited(ApplicationError):
    status, code, message = 429, "rate_limited", "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: int = 60, **kwargs: Any) -> None:
        self.retry_after = max(1, int(retry_after))
        headers = {"Retry-After": str(self.retry_after)}
        super().__init__(message or f"Too many requests. Try again in {self.retry_after} s.", headers=headers, **kwargs)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": current_request_id()}
    if details:
        error["details"] = details
    return {"error": error}


# DRF's own detail codes → the contract's codes.
_AUTH_CODES = {
    "token_not_valid": "token_invalid",
    "token_expired": "token_expired",
    "token_invalid": "token_invalid",
    "token_reused": "token_reused",
    "refresh_missing": "refresh_missing",
}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg = _first_message(value)
            if key in ("non_field_errors", "__all__"):
                return msg
            return f"{key}: {msg}" if msg and not msg.lower().startswith(str(key).lower()) else msg
    if isinstance(detail, (list, tuple)) and detail:
        return _first_message(detail[0])
    return str(detail)


def _details(detail: Any) -> Any:
    """Serialise DRF ErrorDetail trees into plain JSON (strings, lists, dicts)."""
    if isinstance(detail, dict):
        return {str(k): _details(v) for k, v in detail.items()}
    if isinstance(detail, (list, tuple)):
        return [_details(v) for v in detail]
    return str(detail)


def auth_failure_code(exc: drf.AuthenticationFailed) -> str:
    """simplejwt puts its code in the detail dict (`{"detail", "code"}`); DRF in the ErrorDetail."""
    detail = exc.detail
    if isinstance(detail, dict) and "code" in detail:
        return str(detail["code"])
    codes = exc.get_codes()
    return str(codes if isinstance(codes, str) else "token_invalid")


def translate(exc: Exception) -> tuple[int, str, str, Any, dict[str, str]] | None:
    """Map any known exception to (status, code, message, details, headers)."""
    if isinstance(exc, ApplicationError):
        return exc.status, exc.code, exc.message, exc.details, exc.headers
    if isinstance(exc, RequestDataTooBig):
        return 413, "payload_too_large", "The request body is too large.", None, {}
    if isinstance(exc, Http404):
        return 404, "not_found", "Not found.", None, {}
    if isinstance(exc, DjangoPermissionDenied):
        return 403, "permission_denied", str(exc) or "You do not have permission to do this.", None, {}
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return 400, "validation_error", _first_message(details), details, {}
    if isinstance(exc, SuspiciousOperation):
        return 400, "bad_request", "The request was malformed.", None, {}
    if isinstance(exc, DatabaseOperationalError | DatabaseInterfaceError):
        # The database is unreachable or restarting (pool timeout, connection refused or cut): a
        # transient outage, not a bug. 503 tells clients and load balancers to retry; the pool
        # reconnects by itself once PostgreSQL is back (measured in bench/README.md).
        logger.error("database unavailable: %s", exc)
        return 503, "service_unavailable", DATABASE_UNAVAILABLE, None, {"Retry-After": str(DATABASE_RETRY_AFTER)}
    if not isinstance(exc, drf.APIException):
        return None

    headers: dict[str, str] = {}
    detail = exc.detail
    if isinstance(exc, drf.ValidationError):
        details = _details(detail if isinstance(detail, dict) else {"non_field_errors": detail})
        return 400, "validation_error", _first_message(details), details, {}
    if isinstance(exc, drf.ParseError):
        return 400, "bad_request", str(detail), None, {}
    if isinstance(exc, drf.NotAuthenticated):
        return 401, "not_authenticated", str(detail), None, {}
    if isinstance(exc, drf.AuthenticationFailed):
        code = auth_failure_code(exc)
        mapped = _AUTH_CODES.get(str(code), "token_invalid")
        message = str(detail.get("detail", "")) if isinstance(detail, dict) else str(detail)
        return 401, mapped, message or "The token is invalid.", None, {}
    if isinstance(exc, drf.PermissionDenied):
        code = exc.get_codes()
        mapped = code if code in ("csrf_failed", "account_suspended") else "permission_denied"
        if "CSRF" in str(detail):
            mapped = "csrf_failed"
        return 403, mapped, str(detail), None, {}
    if isinstance(exc, drf.NotFound):
        return 404, "not_found", str(detail), None, {}
    if isinstance(exc, drf.MethodNotAllowed):
        return 405, "method_not_allowed", str(detail), None, {}
    if isinstance(exc, drf.UnsupportedMediaType):
        return 415, "unsupported_media_type", str(detail), None, {}
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1) if exc.wait is not None else 60
        headers["Retry-After"] = str(max(1, wait))
        return 429, "rate_limited", f"Too many requests. Try again in {max(1, wait)} s.", None, headers
    if isinstance(exc, drf.NotAcceptable):
        return 400, "bad_request", str(detail), None, {}
    return exc.status_code, "bad_request" if exc.status_code < 500 else "server_error", str(detail), None, {}


def _non_atomic(context: dict[str, Any]) -> bool:
    """A view excluded from the request transaction (health, schema) or an anonymous read (no
    request transaction either: db_router.reads_anonymously) has none of its own to roll back; an
    enclosing one (a test's) is not its to mark."""
    from apps.core.db_router import reads_anonymously  # late: db_router imports the middleware

    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if "default" in getattr(getattr(match, "func", None), "_non_atomic_requests", ()):
        return True
    return request is not None and reads_anonymously(request)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    from rest_framework.views import set_rollback  # late: rest_framework.views imports our parser

    translated = translate(exc)
    if translated is None:
        logger.exception("unhandled error", exc_info=exc)
        set_rollback()
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)
    status, code, message, details, headers = translated
    from apps.core.throttling import record_failure  # late: throttling reads settings at import

    record_failure(context.get("request"), status)  # clients that keep failing get a smaller budget
    if status == 401:
        # RFC 7235: a 401 names the scheme it wants.
        headers = {**headers, "WWW-Authenticate": 'Bearer realm="api"'}
    if not getattr(exc, "keep_writes", False) and not _non_atomic(context):
        set_rollback()
    return Response(error_body(code, message, details), status=status, headers=headers)
