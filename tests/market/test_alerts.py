"""Price alerts: CRUD for the caller, validation, per-user maximum, firing once or re-arming."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.market import services
from apps.market.events import PriceAlertTriggered
from apps.market.models import AlertStatus, PriceAlert, PriceAlertTrigger
from apps.market.sources import Quote
from tests.factories import UserFactory

from .factories import MarketSnapshotFactory, PriceAlertFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def tick(price: str, seconds: int = 0):
    quote = Quote(source="dexscreener", price_usd=Decimal(price), as_of=T0, market_cap_usd=None)
    return services.record_quote(quote=quote, taken_at=T0 + timedelta(seconds=seconds))


@pytest.fixture
def priced():
    return MarketSnapshotFactory(price_usd=Decimal("0.0004"), taken_at=T0 - timedelta(seconds=30))


def test_create_list_get_update_delete(priced, auth_client, user, django_assert_max_num_queries):
    response = auth_client.post(
        "/api/market/alerts", {"kind": "above", "target_price_usd": "0.0005", "note": "moon"}, format="json"
    )
    assert response.status_code == 201, response.content
    alert = response.json()["data"]
    assert alert["target_price_usd"] == "0.0005"
    assert alert["trigger_above"] == "0.0005"
    assert (alert["status"], alert["repeating"], alert["trigger_count"]) == ("armed", False, 0)
    change = auth_client.post("/api/market/alerts", {"kind": "change", "change_pct": "-10"}, format="json").json()
    assert change["data"]["reference_price_usd"] == "0.0004"
    assert change["data"]["trigger_below"] == "0.00036"

    with django_assert_max_num_queries(3):
        listing = auth_client.get("/api/market/alerts").json()
    assert [a["id"] for a in listing["data"]] == [change["data"]["id"], alert["id"]]
    assert listing["meta"]["pagination"]["next_cursor"] is None

    url = f"/api/market/alerts/{alert['id']}"
    assert auth_client.get(url).json()["data"]["note"] == "moon"
    patched = auth_client.patch(url, {"target_price_usd": "0.0006", "repeating": True}, format="json").json()["data"]
    assert (patched["trigger_above"], patched["repeating"]) == ("0.0006", True)
    assert auth_client.delete(url).status_code == 204
    assert auth_client.get(url).status_code == 404


def test_other_users_alerts_are_invisible(priced, make_client, user):
    mine = PriceAlertFactory(user=user)
    other = make_client(UserFactory())
    assert other.get(f"/api/market/alerts/{mine.id}").status_code == 404
    assert other.delete(f"/api/market/alerts/{mine.id}").status_code == 404
    assert other.get("/api/market/alerts").json()["data"] == []
    assert PriceAlert.objects.filter(id=mine.id).exists()


def test_anonymous_gets_401(api_client):
    response = api_client.get("/api/market/alerts")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "above"}, "target_price_usd"),
        ({"kind": "above", "target_price_usd": "-1"}, "target_price_usd"),
        ({"kind": "below", "target_price_usd": "0"}, "target_price_usd"),
        ({"kind": "above", "target_price_usd": "5000"}, "target_price_usd"),  # absurd against 0.0004
        ({"kind": "above", "target_price_usd": "abc"}, "target_price_usd"),
        ({"kind": "change", "change_pct": "0"}, "change_pct"),
        ({"kind": "change", "change_pct": "-100"}, "change_pct"),
        ({"kind": "change", "change_pct": "5000"}, "change_pct"),
        ({"kind": "sideways", "target_price_usd": "1"}, "kind"),
        ({"kind": "above", "target_price_usd": "1e400"}, "target_price_usd"),
    ],
)
def test_bad_alerts_are_400_and_write_nothing(priced, auth_client, body, field):
    response = auth_client.post("/api/market/alerts", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]
    assert PriceAlert.objects.count() == 0


def test_huge_target_without_a_known_price_is_400_not_500(auth_client):
    response = auth_client.post("/api/market/alerts", {"kind": "above", "target_price_usd": "99999999999999999999"})
    assert response.status_code == 400
    assert "target_price_usd" in response.json()["error"]["details"]


def test_change_alert_without_any_price_is_a_conflict(auth_client):
    response = auth_client.post("/api/market/alerts", {"kind": "change", "change_pct": "10"}, format="json")
    assert response.status_code == 409


def test_per_user_maximum(priced, auth_client, user, settings):
    settings.MARKET_ALERTS_PER_USER = 3
    for _ in range(3):
        assert (
            auth_client.post("/api/market/alerts", {"kind": "below", "target_price_usd": "0.0001"}).status_code == 201
        )
    response = auth_client.post("/api/market/alerts", {"kind": "below", "target_price_usd": "0.0001"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert PriceAlert.objects.filter(user=user).count() == 3


def test_one_shot_alert_fires_once(emitted, django_capture_on_commit_callbacks):
    alert = PriceAlertFactory(target_price_usd=Decimal("0.0005"), trigger_above=Decimal("0.0005"))
    with django_capture_on_commit_callbacks(execute=True):
        tick("0.00049", 0)
        first = tick("0.00051", 30)
        tick("0.00052", 60)
        tick("0.00040", 90)
        tick("0.00055", 120)
    alert.refresh_from_db()
    assert (alert.status, alert.trigger_count) == (AlertStatus.FIRED, 1)
    assert alert.last_triggered_price_usd == Decimal("0.00051")
    fired = [e for e in emitted if isinstance(e, PriceAlertTriggered)]
    assert fired == [PriceAlertTriggered(alert_id=alert.id, user_id=alert.user_id, snapshot_id=first.id)]
    assert PriceAlertTrigger.objects.filter(alert=alert).count() == 1


def test_repeating_alert_rearms_only_after_crossing_back():
    alert = PriceAlertFactory(
        kind="below",
        target_price_usd=Decimal("0.0003"),
        trigger_above=None,
        trigger_below=Decimal("0.0003"),
        repeating=True,
    )
    tick("0.00029", 0)  # fires
    tick("0.00028", 30)  # still below: waits, does not fire again
    alert.refresh_from_db()
    assert (alert.status, alert.trigger_count, alert.trigger_below) == (AlertStatus.WAITING, 1, None)
    tick("0.00031", 60)  # crosses back: re-armed
    alert.refresh_from_db()
    assert (alert.status, alert.trigger_below) == (AlertStatus.ARMED, Decimal("0.0003"))
    tick("0.0003", 90)  # at the target fires again
    alert.refresh_from_db()
    assert alert.trigger_count == 2


def test_repeating_change_alert_re_anchors():
    alert = PriceAlertFactory(
        kind="change",
        target_price_usd=None,
        change_pct=Decimal("10"),
        reference_price_usd=Decimal("1"),
        trigger_above=Decimal("1.1"),
        repeating=True,
    )
    tick("1.05", 0)
    tick("1.10", 30)  # +10 %: fires, new reference 1.10, next level 1.21
    alert.refresh_from_db()
    assert (alert.trigger_count, alert.reference_price_usd, alert.trigger_above) == (
        1,
        Decimal("1.1"),
        Decimal("1.21"),
    )
    assert alert.status == AlertStatus.ARMED
    tick("1.20", 60)
    tick("1.21", 90)
    alert.refresh_from_db()
    assert alert.trigger_count == 2


def test_evaluation_uses_indexed_range_queries_not_a_loop():
    users = UserFactory.create_batch(3)
    PriceAlert.objects.bulk_create(
        [
            PriceAlert(user=users[i % 3], kind="above", target_price_usd=Decimal(p), trigger_above=Decimal(p))
            for i, p in enumerate(["0.0001", "0.0002", "0.0009", "0.001"] * 50)
        ]
    )
    with CaptureQueriesContext(connection) as ctx:
        tick("0.0005")
    alert_queries = [q["sql"] for q in ctx.captured_queries if "market_price_alerts" in q["sql"]]
    assert any("trigger_above <=" in sql for sql in alert_queries)
    assert len(alert_queries) <= 6  # constant, whatever the number of alerts
    assert PriceAlert.objects.filter(status="fired").count() == 100
    assert PriceAlertTrigger.objects.count() == 100
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE market_price_alerts")
        cursor.execute("SET LOCAL enable_seqscan = off")
        for condition, index in zip(services._FIRE_CONDITIONS, ("armed_above", "armed_below"), strict=True):
            params = {"p": Decimal("0.0005"), "t": T0, "now": T0, "snapshot": 1}
            cursor.execute("EXPLAIN " + services._FIRE_SQL.format(condition=condition), params)
            plan = " ".join(r[0] for r in cursor.fetchall())
            assert f"market_alert_{index}_idx" in plan, plan
