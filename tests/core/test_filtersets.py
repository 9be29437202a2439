"""Every query filter of every list endpoint is declared in a django-filter FilterSet, so its
validation, its OpenAPI parameter and its 400 come from that one declaration."""

import pytest
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator

# Query parameters that are not filters: paging, sparse fieldsets, ordering, the search text.
NOT_FILTERS = {"limit", "cursor", "page", "fields", "sort", "q"}


@pytest.mark.django_db
def test_every_filter_parameter_comes_from_the_view_filterset():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    views = {
        path: callback.cls
        for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints()
        if method == "GET"
    }
    checked = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        filters = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"} - NOT_FILTERS
        if not filters:
            continue
        view = views[path]
        filterset = getattr(view, "filterset_class", None)
        assert filterset is not None, f"{path} has query filters {sorted(filters)} but no filterset_class"
        assert filters <= set(filterset.base_filters), f"{path}: {sorted(filters - set(filterset.base_filters))}"
        checked.append(path)
    assert {"/api/posts", "/api/notifications", "/api/wallet/transactions", "/api/market/history"} <= set(checked)
    assert {"/api/moderation/queue", "/api/search", "/api/leaderboard"} <= set(checked)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/posts?author=5.5", "author"),
        ("/api/posts?period=decade", "period"),
        ("/api/market/history?interval=2m", "interval"),
        ("/api/market/history?from=yesterday", "from"),
        ("/api/search?q=kid&type=planet", "type"),
        ("/api/leaderboard?date=31-12-2025", "date"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(api_client, url, field):
    response = api_client.get(url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]
