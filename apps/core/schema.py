"""OpenAPI as clients see it: every body inside the envelope, every error as the Error component."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

ERROR_STATUSES = {
    "400": "Bad input (`validation_error` with per-field `details`, or `bad_request`).",
    "401": (
        "Not authenticated (`not_authenticated`, `token_invalid`, `token_expired`; on refresh and logout "
        "also `refresh_missing` and `token_reused`)."
    ),
    "403": "Not allowed (`permission_denied`, `csrf_failed`, `account_suspended`).",
    "404": "Not found, or not visible to the caller (`not_found`).",
    "409": "Conflicts with the current state (`conflict`).",
    "413": "Body too large (`payload_too_large`).",
    "415": "Unsupported media type (`unsupported_media_type`).",
    "429": "Rate limited (`rate_limited`); see the Retry-After header.",
    "500": "Server error (`server_error`), without internals.",
}


class EnvelopeAutoSchema(AutoSchema):
    def get_auth(self):
        """Public operations carry `security: []`, shown without a lock in Swagger UI: views that
        authenticate nobody (their authority is in the body) and the read-only operations listed in
        apps.core.api_docs.PUBLIC_OPERATIONS. A token, when sent to those, may still personalise
        the answer (the API description says so)."""
        from apps.core.api_docs import PUBLIC_OPERATIONS

        auths = super().get_auth()
        if {} in auths and (
            not self.view.get_authenticators() or f"{self.method.upper()} {self.path}" in PUBLIC_OPERATIONS
        ):
            return []
        return auths

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        from apps.core.sparse import PARAM, SparseFieldsetMixin

        if isinstance(self.view, SparseFieldsetMixin) and self.method.upper() == "GET":
            allowed = self.view.sparse_allowed(None)
            always = [f for f in self.view.sparse_always if f in allowed]
            params.append(
                OpenApiParameter(
                    PARAM,
                    # A comma-separated list of known names: `?fields=id,title`.
                    {"type": "array", "items": {"type": "string", "enum": allowed}},
                    style="form",
                    explode=False,
                    description=(
                        "Sparse fieldset: comma-separated top-level fields to return "
                        f"({', '.join(always)} always included). Allowed: {', '.join(allowed)}. "
                        "An unknown name is a 400 `validation_error` listing them."
                    ),
                )
            )
        from apps.core.idempotency import HEADER, IdempotentPostMixin

        if isinstance(self.view, IdempotentPostMixin) and self.method.upper() == "POST":
            params.append(
                OpenApiParameter(
                    HEADER,
                    str,
                    location=OpenApiParameter.HEADER,
                    pattern=r"^[\x21-\x7e]{1,255}$",
                    description=(
                        "Makes a retry safe: the same key with the same request replays the first "
                        "answer (`Idempotent-Replayed: true`) instead of running again; with a "
                        "different request it is a 409 `conflict`. Kept for IDEMPOTENCY_KEY_HOURS."
                    ),
                )
            )
        return params

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular documents every PATCH body as partial; a view whose PATCH is its PUT
        # (`patch = put`, the whole body validated) says `partial_patch = False`.
        if self.method == "PATCH" and not getattr(self.view, "partial_patch", True):
            self.method = "PUT"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if not str(status_code).startswith("2"):
            return response
        if self._is_list_view(serializer) and self._get_paginator() is not None:
            return response  # the paginator's schema is already the envelope
        for media in response.get("content", {}).values():
            inner = media.get("schema")
            # Paginated lists arrive already wrapped by the paginator's schema.
            if inner is not None and "data" not in inner.get("properties", {}):
                media["schema"] = {"type": "object", "required": ["data"], "properties": {"data": inner}}
        return response

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        method = self.method.upper()
        for status, description in ERROR_STATUSES.items():
            if status in ("413", "415") and method not in ("POST", "PUT", "PATCH"):
                continue
            if status == "409" and method in ("GET", "HEAD"):
                continue
            bodies.setdefault(
                status,
                {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            )
        return bodies


def exclude_versioned_aliases(endpoints, **kwargs):
    """/api/v1/ serves exactly what /api/ serves; document each operation once."""
    return [e for e in endpoints if not e[0].startswith("/api/v1/")]


# Query parameters whose bounds hold on every endpoint that takes them (apps.core.pagination).
PARAMETER_BOUNDS = {"limit": {"minimum": 1}, "page": {"minimum": 1, "maximum": 10_000}}


def describe_query_conventions(result, generator, request, public):
    """Rules every query parameter follows, said once instead of at each view, so the schema
    accepts exactly what the server does (Schemathesis checks both directions):
    `limit` and `page` below 1 are a 400 everywhere, and an optional parameter sent empty
    (`?date=`) is the same as leaving it out (README, "API conventions")."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for param in operation.get("parameters", ()) if isinstance(operation, dict) else ():
                if param.get("in") != "query":
                    continue
                bounds = PARAMETER_BOUNDS.get(param.get("name"))
                if bounds and param.get("schema", {}).get("type") == "integer":
                    param["schema"].update(bounds)
                if not param.get("required"):
                    param["allowEmptyValue"] = True
    return result


# A POST that creates under one path whose result lives under another.
CREATED_ELSEWHERE = {
    "/api/posts/{post_id}/comments": "/api/comments",
    "/api/drafts/{draft_id}/publish": "/api/posts",
}


def link_created_resources(result, generator, request, public):
    """OpenAPI links from each 201 to what the created thing can do next: POST /api/posts links
    its `data.id` to GET/PUT/PATCH/DELETE /api/posts/{post_id}, its comments, vote, pin...

    Clients (and Schemathesis's stateful run) follow them instead of guessing which id goes where.
    Derived from the paths themselves: `<collection>/{param}...` takes the created `data.id`."""
    paths = result.get("paths", {})
    schemas = result.get("components", {}).get("schemas", {})

    def created_has_id(response) -> bool:
        body = response.get("content", {}).get("application/json", {}).get("schema", {})
        inner = body.get("properties", {}).get("data", {})
        ref = inner.get("$ref", "")
        return "id" in schemas.get(ref.rsplit("/", 1)[-1], inner).get("properties", {})

    for source, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if not created or not created_has_id(created):
            continue
        collection = CREATED_ELSEWHERE.get(source, source)
        links = {}
        for target, target_item in paths.items():
            if not target.startswith(collection + "/{"):
                continue
            param = target[len(collection) + 2 :].split("}", 1)[0]
            for operation in target_item.values():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                parameters = {param: "$response.body#/data/id"}
                for other in operation.get("parameters", ()):
                    if other.get("in") == "path" and other["name"] != param and f"{{{other['name']}}}" in source:
                        parameters[other["name"]] = f"$request.path.{other['name']}"
                links[operation["operationId"]] = {"operationId": operation["operationId"], "parameters": parameters}
        if links:
            created["links"] = links
    return result


def add_error_component(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "example": "validation_error"},
                    "message": {"type": "string", "example": "Title is required."},
                    "details": {
                        "type": "object",
                        "additionalProperties": True,
                        "example": {"title": ["This field is required."]},
                    },
                    "request_id": {"type": "string", "nullable": True},
                },
            }
        },
    }
    schemas["CursorMeta"] = {
        "type": "object",
        "required": ["pagination"],
        "properties": {
            "pagination": {
                "type": "object",
                "required": ["limit", "next_cursor", "prev_cursor"],
                "properties": {
                    "limit": {"type": "integer", "example": 20},
                    "next_cursor": {"type": "string", "nullable": True},
                    "prev_cursor": {"type": "string", "nullable": True},
                },
            }
        },
    }
    schemas["PageMeta"] = {
        "type": "object",
        "required": ["pagination"],
        "properties": {
            "pagination": {
                "type": "object",
                "required": ["page", "limit", "total"],
                "properties": {
                    "page": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "total": {"type": "integer"},
                },
            }
        },
    }
    return result


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents our JWT authenticator as the bearer scheme."""

    target_class = "apps.accounts.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def reader_texts(result, generator, request, public):
    """The shared shapes get descriptions written for readers (serializer docstrings are notes for
    developers)."""
    from apps.core.api_docs import COMPONENT_DESCRIPTIONS

    schemas = result.get("components", {}).get("schemas", {})
    for name, text in COMPONENT_DESCRIPTIONS.items():
        if name in schemas:
            schemas[name]["description"] = text
    return result
