from rest_framework.metadata import BaseMetadata


class AllowedMethodsMetadata(BaseMetadata):
    """OPTIONS answers which methods a path takes, nothing more. DRF's default introspects the
    object for PUT (a query, and a 500 on views that look objects up their own way); the OpenAPI
    schema is where clients learn shapes. CORS preflight never reaches this (the CORS middleware)."""

    def determine_metadata(self, request, view):
        return {"name": view.get_view_name(), "methods": list(view.allowed_methods)}
