import uuid

import pytest

from apps.gamification import catalogue, seed


@pytest.fixture(autouse=True)
def gamification_catalogue(db, settings):
    """Every test starts from the shipped fixtures, and without Redis unless it asks."""
    from django.core.cache import cache

    settings.GAMIFICATION_REDIS_URL = ""
    cache.clear()
    seed.load_all()
    catalogue.clear()
    yield
    catalogue.clear()


@pytest.fixture
def lb_redis(redis_url, settings):
    """Leaderboards on the real Redis, under a prefix of their own (deleted afterwards)."""
    import redis

    settings.GAMIFICATION_REDIS_URL = redis_url
    settings.GAMIFICATION_REDIS_PREFIX = f"test:lb:{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    yield client
    for key in client.scan_iter(f"{settings.GAMIFICATION_REDIS_PREFIX}:*"):
        client.delete(key)
