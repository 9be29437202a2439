"""JSON bodies keep their types (apps.core.strict_json), only JSON is parsed outside uploads
(API.md), and the schema states the query conventions the server follows (apps.core.schema)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.forum.factories import CategoryFactory, PostFactory
from tests.market.factories import MarketSnapshotFactory

pytestmark = pytest.mark.django_db


def error(response, status=400):
    assert response.status_code == status, response.content
    return response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"show_holdings": 0}, "show_holdings"),  # DRF would read 0 as False
        ({"show_wallets": "true"}, "show_wallets"),  # and "true" as True
        ({"display_name": 12}, "display_name"),  # and 12 as "12"
        ({"visibility": 1}, "visibility"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_a_400_and_changes_nothing(auth_client, user, body, field):
    err = error(auth_client.patch("/api/users/me", body, format="json"))
    assert err["code"] == "validation_error" and field in err["details"]
    user.profile.refresh_from_db()
    assert user.profile.show_holdings is False and user.profile.show_wallets is False


def test_the_same_fields_with_their_own_types_are_accepted(auth_client, user):
    r = auth_client.patch("/api/users/me", {"show_holdings": True, "display_name": "Kid"}, format="json")
    assert r.status_code == 200 and r.json()["data"]["show_holdings"] is True


def test_integers_and_choices_are_not_read_from_strings(auth_client):
    post = PostFactory(category=CategoryFactory())
    err = error(auth_client.post(f"/api/posts/{post.id}/vote", {"value": "1"}, format="json"))
    assert "value" in err["details"]
    err = error(auth_client.post(f"/api/posts/{post.id}/vote", {"value": True}, format="json"))
    assert "value" in err["details"]
    assert auth_client.post(f"/api/posts/{post.id}/vote", {"value": 1}, format="json").status_code == 200
    err = error(auth_client.patch("/api/notifications/settings", {"email_frequency": 1}, format="json"))
    assert "email_frequency" in err["details"]


def test_decimals_are_strings_as_the_schema_says(auth_client):
    MarketSnapshotFactory(price_usd=Decimal("0.0004"), taken_at=datetime.now(UTC) - timedelta(seconds=30))
    err = error(auth_client.post("/api/market/alerts", {"kind": "above", "target_price_usd": 0.0005}, format="json"))
    assert "target_price_usd" in err["details"]
    r = auth_client.post("/api/market/alerts", {"kind": "above", "target_price_usd": "0.0005"}, format="json")
    assert r.status_code == 201, r.content


def test_nested_values_are_held_to_their_types_too(auth_client):
    body = {"types": {"mention": {"email": "no"}}}
    err = error(auth_client.patch("/api/notifications/settings", body, format="json"))
    assert "types" in err["details"]


def test_a_form_body_is_a_415(auth_client, user):
    r = auth_client.patch("/api/users/me", "show_holdings=0", content_type="application/x-www-form-urlencoded")
    assert error(r, 415)["code"] == "unsupported_media_type"
    user.profile.refresh_from_db()
    assert user.profile.show_holdings is False


def test_query_strings_still_take_their_usual_text_form(auth_client):
    r = auth_client.get("/api/notifications?unread=true&limit=5")
    assert r.status_code == 200 and r.json()["meta"]["pagination"]["limit"] == 5


def test_an_empty_optional_query_parameter_is_the_same_as_none(api_client):
    assert api_client.get("/api/leaderboard?date=&limit=").status_code == 200
    assert api_client.get("/api/market/history?to=").status_code == 200


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        return APIClient().get("/api/schema?format=json").json()


def _param(schema, path, method, name):
    return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)


def test_the_schema_states_the_query_conventions(schema):
    limit = _param(schema, "/api/notifications", "get", "limit")
    assert limit["schema"]["minimum"] == 1 and limit["allowEmptyValue"] is True
    assert _param(schema, "/api/leaderboard", "get", "page")["schema"]["maximum"] == 10_000
    q = _param(schema, "/api/search", "get", "q")  # required: not allowed empty
    assert q["required"] is True and "allowEmptyValue" not in q


def test_a_patch_that_validates_the_whole_body_documents_it_whole(schema):
    def body(path, method):
        ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]

    assert body("/api/comments/{comment_id}", "patch").get("required") == ["body"]
    assert body("/api/users/{user_id}", "patch").get("required") is None  # a real partial update


def test_the_schema_names_the_values_the_server_takes(schema):
    components = schema["components"]["schemas"]

    def enum(component, field):  # drf-spectacular moves enums into components of their own
        ref = components[component]["properties"][field]["allOf"][0]["$ref"]
        return components[ref.rsplit("/", 1)[1]]["enum"]

    zones = enum("UserSettingsRequest", "timezone")
    assert "Europe/Berlin" in zones and "Mars/Olympus" not in zones
    assert sorted(enum("VoteInputRequest", "value")) == [-1, 0, 1]
    kinds = components["SettingsRequest"]["properties"]["types"]
    assert "mention" in kinds["properties"] and kinds["additionalProperties"] is False
    assert components["RegisterRequest"]["properties"]["email"]["format"] == "email"


def test_created_resources_link_to_what_comes_next(schema):
    links = schema["paths"]["/api/posts"]["post"]["responses"]["201"]["links"]
    assert links["posts_comments_create"]["parameters"] == {"post_id": "$response.body#/data/id"}
    assert {"posts_retrieve", "posts_destroy", "posts_vote_create"} <= set(links)
    comment = schema["paths"]["/api/posts/{post_id}/comments"]["post"]["responses"]["201"]["links"]
    assert comment["comments_vote_create"]["parameters"] == {"comment_id": "$response.body#/data/id"}
    # every link names an operation that exists
    operation_ids = {
        op["operationId"] for item in schema["paths"].values() for op in item.values() if "operationId" in op
    }
    for item in schema["paths"].values():
        for op in item.values():
            for link in op.get("responses", {}).get("201", {}).get("links", {}).values():
                assert link["operationId"] in operation_ids
