"""DRF's content negotiation with the common case answered at once."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_ANY = "*/*"
_JSON = "application/json"


class ContentNegotiation(DefaultContentNegotiation):
    """No `?format=` and an Accept header that is absent, `*/*` or `application/json`: the answer
    DRF's matching reaches (the first renderer for any type, the first JSON one for JSON, with
    its own media type) without parsing and ranking the header, a few percent of a small read.
    Every other request goes through DRF's negotiation unchanged."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            accept = request.META.get("HTTP_ACCEPT", "*/*").strip()
            first = renderers[0]
            if accept == _ANY or (accept == _JSON and first.media_type == _JSON):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
