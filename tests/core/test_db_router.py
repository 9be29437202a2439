import pytest
from django.db import transaction

from apps.accounts.models import User
from apps.core import db_router
from apps.core.db_router import PrimaryReplicaRouter


@pytest.fixture
def with_replicas(settings):
    settings.DATABASES = {
        **settings.DATABASES,
        "replica0": settings.DATABASES["default"],
        "replica1": settings.DATABASES["default"],
    }
    db_router.unpin()
    yield
    db_router.unpin()


def test_without_replicas_everything_is_primary(settings):
    db_router.unpin()
    assert PrimaryReplicaRouter().db_for_read(User) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_go_to_replicas_until_a_write_pins_the_primary(with_replicas):
    router = PrimaryReplicaRouter()
    assert {router.db_for_read(User) for _ in range(50)} <= {"replica0", "replica1"}
    assert router.db_for_write(User) == "default"
    assert router.db_for_read(User) == "default"  # read-your-writes


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_stay_on_the_primary(with_replicas):
    router = PrimaryReplicaRouter()
    with transaction.atomic():
        assert router.db_for_read(User) == "default"


def test_migrations_run_on_the_primary_only():
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "forum")
    assert not router.allow_migrate("replica0", "forum")
