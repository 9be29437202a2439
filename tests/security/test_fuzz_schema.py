"""Schemathesis against our own OpenAPI schema, in process: every documented operation, generated
inputs, as an authenticated user. No 5xx, and every answer matches the documented schema.

Response-side checks are all on. Two request-side checks are off by design:
`positive_data_acceptance` (a schema-valid body may still break a business rule: a common password,
a taken username) and `negative_data_rejection` (DRF ignores unknown body fields instead of
rejecting them, which the mass-assignment tests cover)."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.tokens import issue_token_pair

RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
REQUEST_SIDE_CHECKS = [positive_data_acceptance, negative_data_rejection]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """The WSGI handler closes DB connections after each request; inside a test transaction that
    would kill it. Django's own test client does the same switch-off."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db):
    from tests.factories import UserFactory

    user = UserFactory(username="fuzzer")
    # identity: the in-process WSGI client does not undo gzip
    return {"Authorization": f"Bearer {issue_token_pair(user)['access']}", "Accept-Encoding": "identity"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, bearer):
    case.call_and_validate(headers=bearer, checks=RESPONSE_CHECKS, excluded_checks=REQUEST_SIDE_CHECKS)
