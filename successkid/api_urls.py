"""Everything under /api/ (and, identically, /api/v1/). Paths are written without a trailing
slash; ApiPathMiddleware makes the slash optional. Each app owns `apps/<app>/api/urls.py`."""

from importlib import import_module

from django.db.transaction import non_atomic_requests
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.views import ApiNotFoundView

# Tried in this order: the forum's reads first, as they are most of the traffic (every route is an
# exact path and no two apps share one, so the order only decides how soon a path is found).
APPS_WITH_API = ["forum", "core", "accounts", "wallet", "market", "gamification", "notifications", "realtime", "search"]
APPS_WITH_API += ["moderation", "media"]  # moderation and media live in their own apps
APPS_WITH_API += ["privacy"]  # export and deletion of your data

urlpatterns = [
    # Static documents: no request transaction (ATOMIC_REQUESTS), so no database connection.
    path("schema", non_atomic_requests(SpectacularAPIView.as_view()), name="schema"),
    path("docs", non_atomic_requests(SpectacularSwaggerView.as_view(url_name="schema")), name="docs"),
]
for _app in APPS_WITH_API:
    try:
        import_module(f"apps.{_app}.api.urls")
    except ModuleNotFoundError:
        continue
    urlpatterns.append(path("", include(f"apps.{_app}.api.urls")))

urlpatterns.append(re_path(r"^.*$", ApiNotFoundView.as_view()))
