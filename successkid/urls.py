from django.conf import settings
from django.contrib import admin
from django.db.transaction import non_atomic_requests
from django.urls import include, path
from django.views.static import serve

from apps.accounts import allauth_urls
from apps.core.metrics import metrics_view
from apps.core.rls import system_urls

# The admin is the moderators' and operators' console.
admin.site.site_header = "Success Kid moderation"
admin.site.site_title = "Success Kid moderation"
admin.site.index_title = "Moderation and administration"

urlpatterns = [
    path("metrics", non_atomic_requests(metrics_view), name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("successkid.api_urls")),
    path("api/", include("successkid.api_urls")),
    # django-allauth headless (OAuth flows; see apps/accounts/oauth.py) and the providers' callbacks.
    # allauth looks across accounts before anyone is signed in (which account owns this provider
    # uid or address): its views run in the audited RLS system context (apps/core/rls.py).
    path("_allauth/", include((system_urls(allauth_urls.urlpatterns, "allauth"), "headless"))),
    path("accounts/", include(system_urls(include("allauth.urls")[0].urlpatterns, "allauth"))),
]
if settings.DEBUG or getattr(settings, "SERVE_LOCAL_MEDIA", False):
    urlpatterns.append(path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}))

handler400 = "apps.core.views.handler400"
handler403 = "apps.core.views.handler403"
handler404 = "apps.core.views.handler404"
handler500 = "apps.core.views.handler500"
