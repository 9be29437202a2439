import pytest
from django.contrib.auth.models import AnonymousUser

from apps.accounts.models import Profile
from apps.wallet.permissions import holder_at_least, user_has_tier

pytestmark = pytest.mark.django_db


def test_tier_permission(user, settings):
    settings.HOLDER_TIERS = [("none", 0), ("holder", 1_000_000), ("whale", 100_000_000)]
    assert not user_has_tier(user, "holder")
    Profile.objects.filter(user=user).update(holder_tier="whale")
    user.profile.refresh_from_db()
    assert user_has_tier(user, "holder") and user_has_tier(user, "whale")
    assert not user_has_tier(AnonymousUser(), "holder")

    class Req:
        pass

    req = Req()
    req.user = user
    assert holder_at_least("whale")().has_permission(req, None)
    with pytest.raises(ValueError):
        holder_at_least("kraken")
