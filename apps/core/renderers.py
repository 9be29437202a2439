from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# Times as DRF renders them (ISO 8601, "Z" for UTC); keys that are not strings as json does.
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_encoder = JSONEncoder()  # what orjson does not know natively (Decimal, lazy strings, ...)


def dumps(data: Any) -> bytes:
    """JSON bytes of `data` as DRF's JSONRenderer writes them (compact, UTF-8, U+2028/U+2029
    escaped for inline scripts), with orjson: on a feed page the stdlib encoder cost more than
    the query. Anything orjson refuses (an integer beyond 64 bits) goes through the stdlib."""
    try:
        out = orjson.dumps(data, default=_encoder.default, option=_OPTIONS)
    except TypeError:
        return JSONRenderer().render(data)
    if b"\xe2\x80" in out:
        out = out.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
    return out


def envelope(data: Any) -> Any:
    """`data` as the body of a successful answer: `{"data": ..., "meta": ...}` (API.md). Bodies
    already shaped as an envelope (`data` or `error` at the top) are returned unchanged."""
    if isinstance(data, dict) and ("data" in data or "error" in data) and set(data) <= {"data", "meta", "error"}:
        return data
    return {"data": data}


class EnvelopeJSONRenderer(JSONRenderer):
    """Wraps every successful body as `{"data": ..., "meta": ...}` (API.md) and renders it with
    `dumps` (an `indent` asked for in the Accept header takes DRF's own path)."""

    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code == 204:
            return b""
        if data is None and response is not None and response.status_code >= 400:
            data = {"error": {"code": "server_error", "message": "Error."}}
        data = envelope(data)
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        return dumps(data)
