from typing import Any

from rest_framework.renderers import JSONRenderer


class EnvelopeJSONRenderer(JSONRenderer):
    """Wraps every successful body as `{"data": ..., "meta": ...}` (API.md).

    Bodies already shaped as an envelope (`data` or `error` at the top, e.g. from the paginator or
    the exception handler) pass through unchanged.
    """

    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code == 204:
            return b""
        if data is None and response is not None and response.status_code >= 400:
            data = {"error": {"code": "server_error", "message": "Error."}}
        if not (
            isinstance(data, dict) and ("data" in data or "error" in data) and set(data) <= {"data", "meta", "error"}
        ):
            data = {"data": data}
        return super().render(data, accepted_media_type, renderer_context)
