"""Schemathesis against our own OpenAPI schema, in process: every documented operation, generated
inputs, as an authenticated user, with every check Schemathesis has switched on and both kinds of
generated data:

- positive data (valid by the schema): no 5xx, every answer documented and conforming, and the
  request accepted (`positive_data_acceptance`);
- negative data (breaking the schema: wrong JSON types, out-of-range numbers, values outside an
  enum, missing required fields): refused with a 4xx (`negative_data_rejection`). JSON bodies keep
  their types for this (`apps.core.strict_json`).

A second test chains calls along the schema's links (a created post's id into its comments,
votes, edits, delete), where the stateful checks run: `use_after_free` and
`ensure_resource_availability`. Authentication goes through Schemathesis's auth provider, so
`ignored_auth` checks that a missing or garbled token is a 401.

A schema states shapes, not facts about the database or secrets, so a few refusals of valid data are
right: the wrong password, an expired token, a category that does not exist, a cursor the server
never issued, a file that is not an image, a rule across two fields. Each is listed below, per
operation and per field, with its reason; `positive_data_acceptance` lets a 400 (415 for media)
through only when every field it names is listed for that operation. Anything else fails.
"""

import json
import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance, use_after_free
from schemathesis.openapi.checks import RejectedPositiveData, UseAfterFree

from apps.accounts.tokens import issue_token_pair

SECRET = "a secret the caller must know (a password, a token from an email, a refresh token)"
EXISTING = "must name something that exists (a category, a post of yours, a notification type)"
CONTENT = "the file's bytes must be an image we can read; a schema cannot say that"
ACROSS = "a rule across fields: which one is required depends on another, or `to` after `from`"
FREE = "must not be taken already, nor reserved"
PASSWORD_RULES = "Django's password validators: not a common password, not like the username"
LENGTH = "a length counted after whitespace is collapsed (titles) or line ends normalised, within FORUM_* settings"
TAGS = "a tag is normalised (accents folded, junk to dashes) to 1-40 letters, digits or dashes, and must exist unless new tags are allowed"
URL_RULES = "Django's URL validator is stricter than `format: uri` (63-character labels, a real TLD)"
OPAQUE = "an opaque value only the server issues"

# Fields refused on valid data everywhere they appear.
EVERYWHERE = {"cursor": OPAQUE}

# "METHOD /path" -> {field or error code: reason}
DOCUMENTED_REFUSALS = {
    "POST /api/auth/register": {"username": FREE, "email": FREE, "password": PASSWORD_RULES},
    "POST /api/auth/email/change": {"password": SECRET, "new_email": FREE},
    "POST /api/auth/password/change": {"current_password": SECRET, "new_password": PASSWORD_RULES},
    "POST /api/auth/password/reset/confirm": {"token": SECRET, "uid": SECRET, "password": PASSWORD_RULES},
    "POST /api/auth/verify-email": {"key": SECRET, "code": SECRET},
    "POST /api/auth/refresh": {"refresh": SECRET},
    "POST /api/auth/logout": {"refresh": SECRET},
    "DELETE /api/users/{user_id}": {"password": SECRET, "confirm": SECRET},
    "PUT /api/users/{user_id}": {"links": URL_RULES},
    "PATCH /api/users/{user_id}": {"links": URL_RULES},
    "POST /api/auth/wallet": {"invalid_address": "a base58 string that is not 32 bytes when decoded"},
    "POST /api/auth/wallet/challenge": {"address": "a base58 string that is not 32 bytes when decoded"},
    "POST /api/wallet/connect": {"address": "a base58 string that is not 32 bytes when decoded"},
    "POST /api/wallet/verify": {"invalid_address": "a base58 string that is not 32 bytes when decoded"},
    "POST /api/posts": {"category": EXISTING, "title": LENGTH, "body": LENGTH, "tags": TAGS},
    "PUT /api/posts/{post_id}": {"category": EXISTING, "title": LENGTH, "body": LENGTH, "tags": TAGS},
    "PATCH /api/posts/{post_id}": {"category": EXISTING, "title": LENGTH, "body": LENGTH, "tags": TAGS},
    "POST /api/posts/{post_id}/comments": {"body": LENGTH},
    "PUT /api/comments/{comment_id}": {"body": LENGTH},
    "PATCH /api/comments/{comment_id}": {"body": LENGTH},
    "POST /api/drafts": {"post_id": EXISTING, "category": EXISTING, "tags": TAGS},
    "PUT /api/drafts/{draft_id}": {"category": EXISTING, "tags": TAGS},
    "PATCH /api/drafts/{draft_id}": {"category": EXISTING, "tags": TAGS},
    "POST /api/drafts/{draft_id}/publish": {"category": EXISTING, "title": LENGTH, "body": LENGTH, "tags": TAGS},
    "POST /api/media": {"unsupported_media_type": CONTENT, "file": CONTENT},
    # Avatars go through the media upload pipeline: the same refusals as POST /api/media.
    "POST /api/users/{user_id}/avatar": {"unsupported_media_type": CONTENT, "file": CONTENT},
    "PUT /api/users/{user_id}/avatar": {"unsupported_media_type": CONTENT, "file": CONTENT},
    "POST /api/market/alerts": {"target_price_usd": ACROSS, "change_pct": ACROSS},
    "GET /api/market/history": {"from": ACROSS, "to": ACROSS},
    "GET /api/search": {"to": ACROSS, "fields": ACROSS + ": the names a hit has depend on `type`"},
    "POST /api/notifications/read": {"ids": ACROSS},
    "POST /api/notifications/subscriptions": {"level": ACROSS},
    "PUT /api/notifications/subscriptions": {"level": ACROSS},
}


def refusal_is_documented(case, response) -> bool:
    if response.status_code not in (400, 415):
        return False
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    allowed = {**EVERYWHERE, **DOCUMENTED_REFUSALS.get(f"{case.method.upper()} {case.path}", {})}
    details = error.get("details") or {}
    named = set(details) - {"allowed"} if isinstance(details, dict) else set()
    return bool(named) and named <= set(allowed) if named else error.get("code") in allowed


@schemathesis.check
def valid_data_accepted_unless_documented(ctx, response, case):
    """`positive_data_acceptance`, except for the refusals listed above."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if refusal_is_documented(case, response):
            return None
        raise


# A deleted post or comment stays as a placeholder, so its thread keeps its shape (README, Forum).
SOFT_DELETED = ("DELETE /api/posts/", "DELETE /api/comments/")


@schemathesis.check
def deleted_is_gone_or_a_placeholder(ctx, response, case):
    """`use_after_free`, except for posts and comments: after their DELETE they are still there on
    purpose, and then the thing itself must say `is_deleted: true`."""
    try:
        return use_after_free(ctx, response, case)
    except UseAfterFree as failure:
        if not failure.free.startswith(SOFT_DELETED):
            raise
        data = json.loads(response.content).get("data")
        if isinstance(data, dict) and "is_deleted" in data and data["is_deleted"] is not True:
            raise
        return None


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# The bearer token comes from the auth provider below, not from generated parameters. No string
# carries NUL: PostgreSQL cannot store it and every DRF text field refuses it (a 400 everywhere).
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], with_security_parameters=False, allow_x00=False
)
# The same cases on every run, so CI is repeatable; FUZZ_SEED=<n> explores others (per operation).
schema.config.seed = int(os.environ.get("FUZZ_SEED", 20261126))
# A body over the size limit is refused with 413 before it is read: a refusal like any other.
schema.config.checks.negative_data_rejection.expected_statuses.append("413")


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


CURRENT_TOKEN: dict[str, str] = {}


@schema.auth(refresh_interval=None)  # a fresh user per test: never reuse a token
class FuzzerBearerToken:
    """Signs every generated request in as the test's user. Through Schemathesis's own auth hook,
    so `ignored_auth` knows which header is the credential and checks that leaving it out or
    garbling it is a 401."""

    def get(self, case, ctx):
        return CURRENT_TOKEN.get("access")  # None while collecting, before any test has a user

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def bearer(db):
    from tests.factories import UserFactory

    CURRENT_TOKEN["access"] = issue_token_pair(UserFactory(username="fuzzer"))["access"]
    yield
    CURRENT_TOKEN.clear()


# identity: the in-process WSGI client does not undo gzip
PLAIN = {"Accept-Encoding": "identity"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", 16)), deadline=None, suppress_health_check=list(HealthCheck)
)
def test_api_conforms_to_its_schema(case, bearer):
    # Every registered check (all of Schemathesis's are on by default), ours instead of the plain
    # positive_data_acceptance.
    case.call_and_validate(
        headers=PLAIN,
        additional_checks=[valid_data_accepted_unless_documented],
        excluded_checks=[positive_data_acceptance],
    )


# Stateful: chains of calls that feed one answer into the next request (a created post's id into
# its comments, votes, reports, delete...), links inferred by Schemathesis from the schema. This is
# where the stateful checks run: `use_after_free` (a deleted thing stays gone) and
# `ensure_resource_availability` (a created thing can be fetched).
Workflow = schema.as_state_machine()
STEPS = {"calls": 0, "chained": 0}


class FuzzWorkflow(Workflow):
    def setup(self):
        # Every scenario starts from the same database: what one created is gone for the next,
        # so generation does not drift with state left behind (Hypothesis replays scenarios).
        self._savepoint = transaction.savepoint()

    def teardown(self):
        transaction.savepoint_rollback(self._savepoint)

    def get_call_kwargs(self, case):
        return {"headers": PLAIN}

    def before_call(self, case):
        # A schema cannot name the categories that exist; valid posts and drafts use a real one, so
        # scenarios get past creation to what follows it (edit, comment, vote, publish, delete).
        positive = case.meta is not None and case.meta.generation.mode.is_positive
        creates = case.method == "POST" and case.path in ("/api/posts", "/api/drafts")
        if positive and creates and isinstance(case.body, dict) and "category" in case.body:
            case.body = {**case.body, "category": "fuzz"}

    def step(self, input):
        STEPS["calls"] += 1
        STEPS["chained"] += input.transition is not None and input.is_applied
        return super().step(input)

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        case.validate_response(
            response,
            additional_checks=[
                valid_data_accepted_unless_documented,
                deleted_is_gone_or_a_placeholder,
                *(additional_checks or []),
            ],
            excluded_checks=[positive_data_acceptance, use_after_free],
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


@pytest.mark.django_db
def test_chained_calls_keep_their_promises(bearer):
    from tests.forum.factories import CategoryFactory

    CategoryFactory(slug="fuzz")
    STEPS.update(calls=0, chained=0)
    FuzzWorkflow.run(
        settings=settings(
            max_examples=int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", 60)),
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # Not vacuous: scenarios really fed one answer into the next request.
    assert STEPS["chained"] > 0, STEPS
    print(f"stateful: {STEPS['calls']} calls, {STEPS['chained']} of them with values from an earlier answer")
