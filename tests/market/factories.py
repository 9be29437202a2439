from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory

from apps.market.models import AlertKind, MarketMilestone, MarketSnapshot, PriceAlert
from tests.factories import UserFactory


class MarketSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketSnapshot

    taken_at = factory.LazyFunction(lambda: datetime.now(UTC))
    as_of = factory.SelfAttribute("taken_at")
    source = "dexscreener"
    price_usd = Decimal("0.0004213")
    market_cap_usd = Decimal("421300000")


class MarketMilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketMilestone

    market_cap_usd = factory.Sequence(lambda n: Decimal(1_000_000_000 + n * 1_000_000))
    label = factory.LazyAttribute(lambda m: f"${m.market_cap_usd} market cap")


class PriceAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceAlert

    user = factory.SubFactory(UserFactory)
    kind = AlertKind.ABOVE
    target_price_usd = Decimal("0.0005")
    trigger_above = factory.SelfAttribute("target_price_usd")
