from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from apps.core.metrics import metrics_view

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("successkid.api_urls")),
    path("api/", include("successkid.api_urls")),
    # django-allauth headless (OAuth flows; see apps/accounts/oauth.py) and the providers' callbacks.
    path("_allauth/", include("apps.accounts.allauth_urls")),
    path("accounts/", include("allauth.urls")),
]
if settings.DEBUG:
    urlpatterns.append(path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}))

handler400 = "apps.core.views.handler400"
handler403 = "apps.core.views.handler403"
handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"
