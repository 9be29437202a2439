import io

import pytest

from apps.accounts.models import Profile
from apps.core.seeding import DemoContext
from apps.wallet.models import HolderStatus, WalletConnection
from apps.wallet.seed import make_demo_wallets
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_demo_wallets_are_idempotent_and_tiers_match(settings):
    settings.HOLDER_TIERS = [("none", 0), ("holder", 1_000_000), ("whale", 100_000_000)]
    for i in range(40):
        UserFactory(username=f"demo_user_{i}")
    ctx = DemoContext(size=40, progress=lambda it, **kw: it, stdout=io.StringIO())
    make_demo_wallets(ctx)
    count = WalletConnection.objects.count()
    assert 0 < count < 40
    make_demo_wallets(ctx)
    assert WalletConnection.objects.count() == count  # nothing twice
    for status in HolderStatus.objects.all():
        assert Profile.objects.get(user_id=status.user_id).holder_tier == status.tier
