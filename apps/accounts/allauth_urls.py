"""The part of django-allauth's headless API this platform exposes under /_allauth/: the OAuth
provider flows (redirect, token, pending provider sign-up) and config. allauth's own password
login, sign-up, reset and session endpoints are deliberately NOT mounted: passwords go through
/api/auth/* (our validation, abuse limits and events), so there is exactly one password path."""

from __future__ import annotations

from allauth.headless.base import urls as base_urls
from allauth.headless.constants import Client
from allauth.headless.socialaccount import urls as socialaccount_urls
from django.urls import include, path


def _patterns(client: Client):
    return [
        path(
            "v1/",
            include(
                [
                    *base_urls.build_urlpatterns(client),
                    path("", include((socialaccount_urls.build_urlpatterns(client), "headless"), namespace="social")),
                ]
            ),
        )
    ]


app_name = "headless"
urlpatterns = [
    path("browser/", include((_patterns(Client.BROWSER), "headless"), namespace="browser")),
    path("app/", include((_patterns(Client.APP), "headless"), namespace="app")),
]
