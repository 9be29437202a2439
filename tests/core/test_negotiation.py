"""The negotiation shortcut (apps.core.negotiation) answers exactly what DRF's negotiation answers."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.negotiation import ContentNegotiation
from apps.core.renderers import EnvelopeJSONRenderer


class PNGRenderer(BaseRenderer):
    media_type, format = "image/png", "png"


ACCEPTS = [None, "*/*", "application/json", " application/json ", "*/*;q=1", "application/json; indent=4",
           "text/html", "text/html, */*;q=0.8", "image/png", "image/*", "application/*"]  # fmt: skip


def _outcome(negotiation, accept, renderers, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/categories" + query, **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers)
    except NotAcceptable:
        return "406"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("renderers", [[EnvelopeJSONRenderer()], [PNGRenderer(), EnvelopeJSONRenderer()]])
@pytest.mark.parametrize("query", ["", "?format=json"])
def test_the_shortcut_answers_what_drfs_negotiation_answers(accept, renderers, query):
    assert _outcome(ContentNegotiation(), accept, renderers, query) == _outcome(
        DefaultContentNegotiation(), accept, renderers, query
    )


def test_an_unacceptable_type_is_still_refused_through_the_api(api_client):
    r = api_client.get("/api/categories", HTTP_ACCEPT="text/csv")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
