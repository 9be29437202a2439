"""OpenAPI: describe the project's JWT authentication to drf-spectacular.

Without this, every authenticated endpoint raises drf_spectacular.W001, which fails
`check --deploy --fail-level WARNING`. It belongs with apps.accounts.authentication; it lives here
only because this branch has the first authenticated endpoints. The lead can move it at merge
(a duplicate registration elsewhere is harmless: the higher `priority` wins).
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.JWTAuthentication"
    name = "jwtAuth"  # the security scheme SPECTACULAR_SETTINGS already declares
    priority = -1

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
