"""Authorisation matrix: every operation of the OpenAPI schema, as every kind of caller, against
objects that belong to somebody else.

How to read it
--------------
`MATRIX` maps `(METHOD, "/api/path/{template}")` (exactly as drf-spectacular writes them) to an `Op`:
the expected status per actor (built from one of the rules below), the request body if one is needed,
and which fixture object fills an ambiguous path parameter. A third key element names a variant of
an operation (same path, another object or `me`); variants come on top of the plain row, never
instead of it.

The test fails when the schema has an operation the table does not cover (a new endpoint needs a
rule before it can ship) and when the table has a row the schema no longer has.

Actors (columns)
----------------
  anon    no credentials
  owner   a plain user who owns every fixture object (post, comment, draft, wallet, alert, ...);
          on "about me" endpoints this is the owner's own view
  user    a plain signed-in user who owns nothing here: the issue's "other user"
  mod     role moderator
  admin   role admin

The fixture objects are built once per module and committed; every case runs in its own transaction,
rolled back afterwards, so each case starts from the same untouched objects (a DELETE in one case
never hides the object from the next) without paying for ~60 inserts per case.

Rules
-----
  PUBLIC_READ(ok)     anyone, signed in or not, gets `ok`
  OPEN(status)        anyone gets `status`: anonymous endpoints whose authority is in the body
                      (credentials, a refresh token, an emailed key), so the caller does not matter
  AUTH_ANY(ok)        any signed-in caller gets `ok`, anonymous 401. Also every "about me" endpoint
                      (the path names no one else's object: the caller acts on their own rows)
  OWNER_ONLY(ok)      the owner gets `ok`; everyone else 404 (private rows: never leak that they
                      exist, API.md) and anonymous 401. Admins too: private data is not browsable.
  OWNER_OR_MOD(ok)    the owner, moderators and admins get `ok`; another user `stranger`
                      (403 when they can see the object, 404 when they cannot); anonymous 401
  OWNER_OR_ADMIN(ok)  the owner and admins get `ok`; another user and moderators 403; anonymous 401
  MODERATOR(ok)       moderators and admins get `ok`; plain users 403; anonymous 401
  ADMIN(ok)           admins get `ok`; moderators and plain users 403; anonymous 401

`rule.but(owner=403)` states an exception, always with a comment saying why. An expected status may
be a set where the answer legitimately varies ({200, 201}); an unauthorised caller never gets a set
that includes a 2xx.

Adding an endpoint: add one line, e.g.
    ("GET", "/api/users/{user_id}/export"): Op(OWNER_ONLY(200)),
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import httpx2
import pytest
import respx
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from PIL import Image
from rest_framework.test import APIClient
from solders.keypair import Keypair

from apps.accounts.models import AuthSession
from apps.accounts.tokens import issue_token_pair
from apps.core import rls
from apps.wallet.clients import solana_rpc
from tests.factories import DEFAULT_PASSWORD, UserFactory

ACTORS = ("anon", "owner", "user", "mod", "admin")
METHODS = ("get", "post", "put", "patch", "delete")


# --- rules -----------------------------------------------------------------------------------------


class Expect(dict):
    """actor -> expected status (an int, or a frozenset of ints)."""

    def but(self, **overrides: int | frozenset[int]) -> Expect:
        unknown = set(overrides) - set(ACTORS)
        assert not unknown, f"unknown actors {unknown}"
        return Expect({**self, **overrides})


def _expect(anon, owner, user, mod, admin) -> Expect:
    return Expect(anon=anon, owner=owner, user=user, mod=mod, admin=admin)


def PUBLIC_READ(ok: int = 200) -> Expect:
    return _expect(ok, ok, ok, ok, ok)


def OPEN(status: int) -> Expect:
    return _expect(status, status, status, status, status)


def AUTH_ANY(ok: int = 200) -> Expect:
    return _expect(401, ok, ok, ok, ok)


def OWNER_ONLY(ok: int = 200) -> Expect:
    return _expect(401, ok, 404, 404, 404)


def OWNER_OR_MOD(ok: int = 200, stranger: int = 403) -> Expect:
    return _expect(401, ok, stranger, ok, ok)


def OWNER_OR_ADMIN(ok: int = 200) -> Expect:
    return _expect(401, ok, 403, 403, ok)


def MODERATOR(ok: int = 200) -> Expect:
    return _expect(401, 403, 403, ok, ok)


def ADMIN(ok: int = 200) -> Expect:
    return _expect(401, 403, 403, 403, ok)


# --- the fixture world -----------------------------------------------------------------------------


@dataclass
class World:
    """Everything a path parameter or a body may point at; owned by `owner` unless named otherwise."""

    people: dict[str, Any]  # actor name -> User (no "anon")
    owner_tokens: dict[str, str]
    category: Any
    post: Any
    comment: Any
    draft: Any
    alert: Any
    wallet: Any
    notification: Any
    subscription: Any
    media: Any
    reviewable: Any  # the queue item opened by the owner's report on a third user's post
    watched_word: Any
    milestone: Any
    session: Any
    third: Any  # author of the reported post; never acts

    @property
    def owner(self):
        return self.people["owner"]


Body = dict | Callable[[World, Any], dict]


@dataclass(frozen=True)
class Op:
    expect: Expect
    body: Body | None = None
    fmt: str = "json"  # or "multipart"
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> World attribute (its pk)
    query: dict[str, str] = field(default_factory=dict)
    setup: Callable[[World], None] | None = None  # a state change for a variant, inside the case's transaction
    check: Callable[[Any, World, str], None] | None = None  # more than the status: (response, world, actor)
    why: str = ""  # for rows that cannot be exercised fully: the reason, printed with a failure


# Path parameters filled the same way everywhere; `{id}` and variants name their object per row.
DEFAULT_PARAMS: dict[str, Callable[[World], Any]] = {
    "post_id": lambda w: w.post.pk,
    "comment_id": lambda w: w.comment.pk,
    "draft_id": lambda w: w.draft.pk,
    "alert_id": lambda w: w.alert.pk,
    "user_id": lambda w: w.owner.pk,
    "milestone_id": lambda w: w.milestone.pk,
    "session_id": lambda w: w.session.pk,
    "slug": lambda w: w.category.slug,
    "address": lambda w: w.wallet.address,
    "kind": lambda w: "password",
    "uid": lambda w: w.owner.pk,
    "room": lambda w: "lobby",
    "target_type": lambda w: "category",
    "target_id": lambda w: w.category.pk,
}


def _png(name: str = "pic.png") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


def _signed_link(w: World, actor) -> dict:
    """A correctly signed SIWS link message for a fresh wallet, bound to the acting user."""
    from apps.wallet.models import ChallengePurpose
    from apps.wallet.services import challenge_create

    keypair = Keypair()
    address = str(keypair.pubkey())
    if actor is None:  # nobody to bind a link challenge to; the request must stop at 401 anyway
        return {"address": address, "message": "x", "signature": "x"}
    message = challenge_create(address=address, purpose=ChallengePurpose.LINK, user=actor).message
    return {"address": address, "message": message, "signature": str(keypair.sign_message(message.encode()))}


def _signed_login(w: World, actor) -> dict:
    from apps.wallet.models import ChallengePurpose
    from apps.wallet.services import challenge_create

    keypair = Keypair()
    address = str(keypair.pubkey())
    message = challenge_create(address=address, purpose=ChallengePurpose.LOGIN).message
    return {"address": address, "message": message, "signature": str(keypair.sign_message(message.encode()))}


NEW_PASSWORD = "an-unusual-and-long-passphrase-93"


# Variants: the same world with one thing changed, inside the case's own transaction.
def hide_post(w: World) -> None:
    from apps.forum.models import Post

    Post.objects.filter(pk=w.post.pk).update(status="hidden")  # hidden by moderation


def staff_only_category(w: World) -> None:
    from apps.forum.models import Category

    Category.objects.filter(pk=w.category.pk).update(read_access="moderator")


def members_only_category(w: World) -> None:
    from apps.forum.models import Category

    Category.objects.filter(pk=w.category.pk).update(read_access="user")


def category_tier(**tiers: str) -> Callable[[World], None]:
    """Holder-only category: read_min_tier / post_min_tier (nobody here holds any token)."""

    def setup(w: World) -> None:
        from apps.forum.models import Category

        Category.objects.filter(pk=w.category.pk).update(**tiers)

    return setup


def profile_visible_to(visibility: str) -> Callable[[World], None]:
    def setup(w: World) -> None:
        from apps.accounts.models import Profile

        Profile.objects.filter(user=w.owner).update(visibility=visibility)

    return setup


def listed_only_for_owner(attr: str, key: str = "id") -> Callable[[Any, World, str], None]:
    """A list of private rows: the owner's row is in the owner's list and in nobody else's."""

    def check(response, w: World, actor: str) -> None:
        if response.status_code != 200:
            return
        obj = getattr(w, attr)
        wanted = str(getattr(obj, key) if key != "id" else obj.pk)
        listed = {str(row.get(key)) for row in response.json()["data"]}
        assert (wanted in listed) == (actor == "owner"), f"{attr} {wanted} listed for {actor}: {listed}"

    return check


def marked_read(expected_for_owner: int) -> Callable[[Any, World, str], None]:
    def check(response, w: World, actor: str) -> None:
        if response.status_code != 200:
            return
        updated = response.json()["data"]["updated"]
        assert updated == (expected_for_owner if actor == "owner" else 0), f"{actor} marked {updated} read"

    return check


# What the author and moderators may still read but nobody else may know exists.
HIDDEN_READ = OWNER_OR_MOD(200, stranger=404).but(anon=404)
STAFF_READ = MODERATOR(200).but(anon=404, owner=404, user=404)


# --- the table -------------------------------------------------------------------------------------

MATRIX: dict[tuple[str, ...], Op] = {
    # health
    ("GET", "/api/health"): Op(PUBLIC_READ()),
    ("GET", "/api/health/ready"): Op(PUBLIC_READ()),
    # auth: anonymous endpoints whose authority is in the body
    ("POST", "/api/auth/register"): Op(
        OPEN(201), body={"email": "newcomer@example.com", "username": "newcomer", "password": NEW_PASSWORD}
    ),
    ("POST", "/api/auth/login"): Op(OPEN(200), body={"login": "owner", "password": DEFAULT_PASSWORD}),
    ("POST", "/api/auth/refresh"): Op(OPEN(200), body=lambda w, a: {"refresh": w.owner_tokens["refresh"]}),
    ("GET", "/api/auth/csrf"): Op(OPEN(401), why="its authority is the refresh cookie, which no caller here has"),
    ("POST", "/api/auth/logout"): Op(OPEN(200), body=lambda w, a: {"refresh": w.owner_tokens["refresh"]}),
    ("POST", "/api/auth/password/reset"): Op(OPEN(202), body={"email": "owner@example.com"}),
    ("POST", "/api/auth/password/reset/confirm"): Op(
        OPEN(400), body={"uid": "x", "token": "y", "password": NEW_PASSWORD}, why="a valid token needs the email"
    ),
    # by key: anyone; by code: signed in (already verified here: an idempotent 200)
    ("POST", "/api/auth/verify-email"): Op(AUTH_ANY(200), body={"code": "123456"}),
    ("POST", "/api/auth/verify-email", "by key"): Op(OPEN(400), body={"key": "not-a-key"}),
    ("POST", "/api/auth/verify-email/resend"): Op(AUTH_ANY(409), why="every fixture account is verified"),
    ("POST", "/api/auth/wallet/challenge"): Op(OPEN(201), body=lambda w, a: {"address": str(Keypair().pubkey())}),
    ("POST", "/api/auth/wallet"): Op(OPEN(200), body=_signed_login),
    ("POST", "/api/auth/oauth/session"): Op(
        OPEN(401),
        why="needs an allauth session from a provider's redirect flow (outside the API): without one, "
        "nobody gets a token pair",
    ),
    # auth: about me
    ("POST", "/api/auth/password/change"): Op(
        AUTH_ANY(200), body={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    ),
    ("POST", "/api/auth/email/change"): Op(
        AUTH_ANY(200), body={"new_email": "changed@example.com", "password": DEFAULT_PASSWORD}
    ),
    ("GET", "/api/auth/sessions"): Op(AUTH_ANY(), check=listed_only_for_owner("session")),
    ("DELETE", "/api/auth/sessions/{session_id}"): Op(OWNER_ONLY(204)),
    ("GET", "/api/auth/identities"): Op(AUTH_ANY()),
    ("DELETE", "/api/auth/identities/{kind}/{uid}"): Op(OWNER_ONLY(204)),
    ("POST", "/api/auth/oauth/link-token"): Op(AUTH_ANY(201)),
    # users
    ("GET", "/api/users/{user_id}"): Op(PUBLIC_READ()),
    ("GET", "/api/users/{user_id}", "me"): Op(AUTH_ANY(), params={"user_id": "me"}),
    ("PUT", "/api/users/{user_id}"): Op(OWNER_OR_ADMIN(), body={"bio": "hello"}),
    ("PATCH", "/api/users/{user_id}"): Op(OWNER_OR_ADMIN(), body={"bio": "hello"}),
    ("PATCH", "/api/users/{user_id}", "me"): Op(AUTH_ANY(), body={"bio": "hello"}, params={"user_id": "me"}),
    # closing an account is the owner's alone (admins ban instead)
    ("DELETE", "/api/users/{user_id}"): Op(
        OWNER_ONLY(204).but(user=403, mod=403, admin=403), body={"password": DEFAULT_PASSWORD}
    ),
    # everyone exports their own data only: the path has no id to point at someone else
    ("GET", "/api/users/me/export"): Op(AUTH_ANY()),
    ("GET", "/api/users/{user_id}/settings"): Op(OWNER_OR_ADMIN()),
    ("PUT", "/api/users/{user_id}/settings"): Op(OWNER_OR_ADMIN(), body={"theme": "dark"}),
    ("PATCH", "/api/users/{user_id}/settings"): Op(OWNER_OR_ADMIN(), body={"theme": "dark"}),
    ("GET", "/api/users/{user_id}/settings", "me"): Op(AUTH_ANY(), params={"user_id": "me"}),
    ("POST", "/api/users/{user_id}/avatar"): Op(OWNER_OR_ADMIN(), body=lambda w, a: {"file": _png()}, fmt="multipart"),
    ("PUT", "/api/users/{user_id}/avatar"): Op(OWNER_OR_ADMIN(), body=lambda w, a: {"file": _png()}, fmt="multipart"),
    ("POST", "/api/users/{user_id}/role"): Op(ADMIN(), body={"role": "moderator"}),
    ("POST", "/api/users/{user_id}/suspend"): Op(MODERATOR(), body={"hours": 1, "reason": "cool down"}),
    # nobody suspends their equal, their superior or themselves
    ("POST", "/api/users/{user_id}/suspend", "a moderator"): Op(
        ADMIN(), body={"hours": 1}, params={"user_id": "people.mod"}
    ),
    ("POST", "/api/users/{user_id}/suspend", "an admin"): Op(
        ADMIN().but(admin=403), body={"hours": 1}, params={"user_id": "people.admin"}
    ),
    ("DELETE", "/api/users/{user_id}/suspend"): Op(MODERATOR()),
    ("GET", "/api/users/{user_id}/audit"): Op(MODERATOR()),
    ("GET", "/api/users/{user_id}/achievements"): Op(PUBLIC_READ()),
    ("GET", "/api/users/{user_id}/points"): Op(PUBLIC_READ()),
    # profile visibility "nobody": the owner and staff see the profile and its activity (one rule,
    # apps.core.access.can_see_user: profile, points, achievements, search, reports)
    ("GET", "/api/users/{user_id}", "private"): Op(HIDDEN_READ, setup=profile_visible_to("nobody")),
    ("GET", "/api/users/{user_id}/points", "private"): Op(HIDDEN_READ, setup=profile_visible_to("nobody")),
    ("GET", "/api/users/{user_id}/achievements", "private"): Op(HIDDEN_READ, setup=profile_visible_to("nobody")),
    ("GET", "/api/users/{user_id}", "members only"): Op(
        PUBLIC_READ().but(anon=404), setup=profile_visible_to("members")
    ),
    ("GET", "/api/users/{user_id}/points", "members only"): Op(
        PUBLIC_READ().but(anon=404), setup=profile_visible_to("members")
    ),
    # forum: reading
    ("GET", "/api/categories"): Op(PUBLIC_READ()),
    ("GET", "/api/categories/{slug}"): Op(PUBLIC_READ()),
    ("GET", "/api/tags"): Op(PUBLIC_READ()),
    ("GET", "/api/posts"): Op(PUBLIC_READ()),
    ("GET", "/api/posts/{post_id}"): Op(PUBLIC_READ()),
    ("GET", "/api/posts/{post_id}/revisions"): Op(PUBLIC_READ()),
    ("GET", "/api/posts/{post_id}/comments"): Op(PUBLIC_READ()),
    ("GET", "/api/posts/{post_id}/related"): Op(PUBLIC_READ()),
    ("GET", "/api/comments/{comment_id}"): Op(PUBLIC_READ()),
    # forum: writing
    ("POST", "/api/posts"): Op(
        AUTH_ANY(201),
        body=lambda w, a: {"title": "A fresh post title", "body": "A body long enough.", "category": w.category.slug},
    ),
    ("PUT", "/api/posts/{post_id}"): Op(OWNER_OR_MOD(), body={"body": "Edited body text."}),
    ("PATCH", "/api/posts/{post_id}"): Op(OWNER_OR_MOD(), body={"body": "Edited body text."}),
    ("DELETE", "/api/posts/{post_id}"): Op(OWNER_OR_MOD(204)),
    ("POST", "/api/posts/{post_id}/pin"): Op(MODERATOR(), body={"value": True}),
    ("POST", "/api/posts/{post_id}/lock"): Op(MODERATOR(), body={"value": True}),
    ("POST", "/api/posts/{post_id}/comments"): Op(AUTH_ANY(201), body={"body": "A reply."}),
    ("POST", "/api/posts/{post_id}/vote"): Op(AUTH_ANY().but(owner=403), body={"value": 1}),  # no self-votes
    ("PUT", "/api/comments/{comment_id}"): Op(OWNER_OR_MOD(), body={"body": "Edited comment."}),
    ("PATCH", "/api/comments/{comment_id}"): Op(OWNER_OR_MOD(), body={"body": "Edited comment."}),
    ("DELETE", "/api/comments/{comment_id}"): Op(OWNER_OR_MOD(204)),
    ("POST", "/api/comments/{comment_id}/vote"): Op(AUTH_ANY().but(owner=403), body={"value": 1}),  # no self-votes
    ("GET", "/api/votes"): Op(AUTH_ANY()),
    # forum: drafts (private)
    ("GET", "/api/drafts"): Op(AUTH_ANY(), check=listed_only_for_owner("draft")),
    ("POST", "/api/drafts"): Op(AUTH_ANY(201), body={"title": "Half a thought"}),
    ("GET", "/api/drafts/{draft_id}"): Op(OWNER_ONLY()),
    ("PUT", "/api/drafts/{draft_id}"): Op(OWNER_ONLY(), body={"body": "More of the thought."}),
    ("PATCH", "/api/drafts/{draft_id}"): Op(OWNER_ONLY(), body={"body": "More of the thought."}),
    ("DELETE", "/api/drafts/{draft_id}"): Op(OWNER_ONLY(204)),
    ("POST", "/api/drafts/{draft_id}/publish"): Op(OWNER_ONLY(201)),
    # forum: a post hidden by moderation is its author's and the moderators' to see; to anyone else
    # it does not exist (404, not 403). Acting on it is refused as "gone" (400) to those who see it.
    ("GET", "/api/posts/{post_id}", "hidden"): Op(HIDDEN_READ, setup=hide_post),
    ("GET", "/api/posts/{post_id}/revisions", "hidden"): Op(HIDDEN_READ, setup=hide_post),
    ("GET", "/api/posts/{post_id}/comments", "hidden"): Op(HIDDEN_READ, setup=hide_post),
    # related posts are only computed for published posts, even for those who may read a hidden one
    ("GET", "/api/posts/{post_id}/related", "hidden"): Op(OPEN(404), setup=hide_post),
    ("GET", "/api/comments/{comment_id}", "hidden"): Op(HIDDEN_READ, setup=hide_post),
    ("PATCH", "/api/posts/{post_id}", "hidden"): Op(
        OWNER_OR_MOD(200, stranger=404), body={"body": "Edited body text."}, setup=hide_post
    ),
    ("DELETE", "/api/posts/{post_id}", "hidden"): Op(OWNER_OR_MOD(204, stranger=404), setup=hide_post),
    ("PATCH", "/api/comments/{comment_id}", "hidden"): Op(
        OWNER_OR_MOD(200, stranger=404), body={"body": "Edited comment."}, setup=hide_post
    ),
    ("POST", "/api/posts/{post_id}/comments", "hidden"): Op(
        OWNER_OR_MOD(400, stranger=404), body={"body": "A reply."}, setup=hide_post
    ),
    ("POST", "/api/posts/{post_id}/vote", "hidden"): Op(
        OWNER_OR_MOD(400, stranger=404), body={"value": 1}, setup=hide_post
    ),
    ("POST", "/api/reports", "hidden"): Op(
        AUTH_ANY(201).but(owner=404, user=404),  # its author has nothing to report about it either
        body=lambda w, a: {"target_type": "post", "target_id": w.post.pk, "reason": "spam"},
        setup=hide_post,
    ),
    # forum: a category only moderators read; its author is no exception
    ("GET", "/api/categories/{slug}", "staff only"): Op(STAFF_READ, setup=staff_only_category),
    ("GET", "/api/posts/{post_id}", "staff only"): Op(STAFF_READ, setup=staff_only_category),
    ("GET", "/api/posts/{post_id}/comments", "staff only"): Op(STAFF_READ, setup=staff_only_category),
    ("GET", "/api/posts/{post_id}/related", "staff only"): Op(STAFF_READ, setup=staff_only_category),
    ("GET", "/api/posts/{post_id}/revisions", "staff only"): Op(STAFF_READ, setup=staff_only_category),
    ("GET", "/api/comments/{comment_id}", "staff only"): Op(STAFF_READ, setup=staff_only_category),
    ("POST", "/api/posts/{post_id}/comments", "staff only"): Op(
        MODERATOR(201).but(owner=404, user=404), body={"body": "A reply."}, setup=staff_only_category
    ),
    ("POST", "/api/posts/{post_id}/vote", "staff only"): Op(
        MODERATOR(200).but(owner=404, user=404), body={"value": 1}, setup=staff_only_category
    ),
    # holder tiers: reading a holders-only category (moderators read everything) ...
    ("GET", "/api/posts/{post_id}", "holders read"): Op(STAFF_READ, setup=category_tier(read_min_tier="holder")),
    ("GET", "/api/categories/{slug}", "holders read"): Op(STAFF_READ, setup=category_tier(read_min_tier="holder")),
    # ... and writing where everyone reads but only holders post: visible, so 403 rather than 404
    ("POST", "/api/posts/{post_id}/comments", "holders post"): Op(
        MODERATOR(201), body={"body": "A reply."}, setup=category_tier(post_min_tier="holder")
    ),
    ("POST", "/api/posts", "holders post"): Op(
        MODERATOR(201),
        body=lambda w, a: {"title": "A fresh post title", "body": "A body long enough.", "category": w.category.slug},
        setup=category_tier(post_min_tier="holder"),
    ),
    ("GET", "/api/posts/{post_id}", "members only"): Op(PUBLIC_READ().but(anon=404), setup=members_only_category),
    # media
    ("POST", "/api/media"): Op(AUTH_ANY(201), body=lambda w, a: {"file": _png()}, fmt="multipart"),
    # moderators look at any upload (to review it); another user learns nothing
    ("GET", "/api/media/{id}"): Op(OWNER_OR_MOD(200, stranger=404), params={"id": "media"}),
    ("DELETE", "/api/media/{id}"): Op(OWNER_OR_MOD(204, stranger=404), params={"id": "media"}),
    # moderation
    ("POST", "/api/reports"): Op(
        AUTH_ANY(201).but(owner=400),  # nobody reports their own post
        body=lambda w, a: {"target_type": "post", "target_id": w.post.pk, "reason": "spam"},
    ),
    ("GET", "/api/moderation/queue"): Op(MODERATOR()),
    ("GET", "/api/moderation/queue/{id}"): Op(MODERATOR(), params={"id": "reviewable"}),
    ("POST", "/api/moderation/queue/{id}/claim"): Op(MODERATOR(), params={"id": "reviewable"}),
    ("DELETE", "/api/moderation/queue/{id}/claim"): Op(MODERATOR(), params={"id": "reviewable"}),
    ("POST", "/api/moderation/queue/{id}/actions"): Op(
        MODERATOR(), body={"action": "dismiss", "reason": "fine"}, params={"id": "reviewable"}
    ),
    ("POST", "/api/moderation/actions"): Op(
        MODERATOR(), body=lambda w, a: {"action": "hide", "target_type": "post", "target_id": w.post.pk}
    ),
    # nobody bans their equal or superior; banning oneself is refused as invalid (400)
    ("POST", "/api/moderation/actions", "ban the moderator"): Op(
        ADMIN().but(mod=400),
        body=lambda w, a: {"action": "ban", "target_type": "user", "target_id": w.people["mod"].pk},
    ),
    ("POST", "/api/moderation/actions", "ban the admin"): Op(
        ADMIN().but(admin=400),
        body=lambda w, a: {"action": "ban", "target_type": "user", "target_id": w.people["admin"].pk},
    ),
    ("GET", "/api/moderation/audit-log"): Op(MODERATOR()),
    ("GET", "/api/moderation/watched-words"): Op(MODERATOR()),
    ("POST", "/api/moderation/watched-words"): Op(MODERATOR(201), body={"word": "scamcoin", "action": "flag"}),
    ("DELETE", "/api/moderation/watched-words/{id}"): Op(MODERATOR(204), params={"id": "watched_word"}),
    # notifications (private)
    ("GET", "/api/notifications"): Op(AUTH_ANY(), check=listed_only_for_owner("notification")),
    ("PUT", "/api/notifications/{id}"): Op(OWNER_ONLY(), body={"read": True}, params={"id": "notification"}),
    ("PATCH", "/api/notifications/{id}"): Op(OWNER_ONLY(), body={"read": True}, params={"id": "notification"}),
    ("DELETE", "/api/notifications/{id}"): Op(OWNER_ONLY(204), params={"id": "notification"}),
    ("POST", "/api/notifications/read"): Op(AUTH_ANY(), body={"all": True}, check=marked_read(1)),
    ("POST", "/api/notifications/read", "by id"): Op(
        AUTH_ANY(), body=lambda w, a: {"ids": [w.notification.pk]}, check=marked_read(1)
    ),
    ("GET", "/api/notifications/unread-count"): Op(AUTH_ANY()),
    ("GET", "/api/notifications/settings"): Op(AUTH_ANY()),
    ("PUT", "/api/notifications/settings"): Op(AUTH_ANY(), body={"email_frequency": "daily"}),
    ("PATCH", "/api/notifications/settings"): Op(AUTH_ANY(), body={"email_frequency": "daily"}),
    ("GET", "/api/notifications/subscriptions"): Op(AUTH_ANY()),
    ("POST", "/api/notifications/subscriptions"): Op(
        AUTH_ANY(), body=lambda w, a: {"target_type": "category", "target_id": w.category.pk, "level": "watch"}
    ),
    ("PUT", "/api/notifications/subscriptions"): Op(
        AUTH_ANY(), body=lambda w, a: {"target_type": "category", "target_id": w.category.pk, "level": "mute"}
    ),
    # watching what one may not read would deliver its titles and excerpts: 404, like an unknown id
    ("PUT", "/api/notifications/subscriptions", "staff-only category"): Op(
        STAFF_READ.but(anon=401),
        body=lambda w, a: {"target_type": "category", "target_id": w.category.pk, "level": "watch"},
        setup=staff_only_category,
    ),
    ("PUT", "/api/notifications/subscriptions", "hidden thread"): Op(
        OWNER_OR_MOD(200, stranger=404),
        body=lambda w, a: {"target_type": "thread", "target_id": w.post.pk, "level": "watch"},
        setup=hide_post,
    ),
    # the caller's own subscription to that target (the path names a target, not a subscription)
    ("DELETE", "/api/notifications/subscriptions/{target_type}/{target_id}"): Op(AUTH_ANY(204)),
    # gamification, market, search: public reads
    ("GET", "/api/achievements"): Op(PUBLIC_READ()),
    ("GET", "/api/levels"): Op(PUBLIC_READ()),
    ("GET", "/api/points/activities"): Op(PUBLIC_READ()),
    ("GET", "/api/leaderboard"): Op(PUBLIC_READ()),
    ("GET", "/api/leaderboard", "around me"): Op(AUTH_ANY(), query={"around": "me"}),
    ("GET", "/api/market/price"): Op(PUBLIC_READ()),
    ("GET", "/api/market/history"): Op(PUBLIC_READ()),
    ("GET", "/api/market/milestones"): Op(PUBLIC_READ()),
    ("GET", "/api/market/milestones/{milestone_id}/card.png"): Op(PUBLIC_READ()),
    ("GET", "/api/market/sources"): Op(PUBLIC_READ()),
    ("GET", "/api/search"): Op(PUBLIC_READ(), query={"q": "post"}),
    ("GET", "/api/search/suggest"): Op(PUBLIC_READ(), query={"q": "po"}),
    ("GET", "/api/trending"): Op(PUBLIC_READ()),
    # price alerts (private)
    ("GET", "/api/market/alerts"): Op(AUTH_ANY(), check=listed_only_for_owner("alert")),
    ("POST", "/api/market/alerts"): Op(AUTH_ANY(201), body={"kind": "above", "target_price_usd": "0.001"}),
    ("GET", "/api/market/alerts/{alert_id}"): Op(OWNER_ONLY()),
    ("PATCH", "/api/market/alerts/{alert_id}"): Op(OWNER_ONLY(), body={"note": "moon"}),
    ("DELETE", "/api/market/alerts/{alert_id}"): Op(OWNER_ONLY(204)),
    # realtime
    ("GET", "/api/realtime/rooms/{room}/members"): Op(AUTH_ANY()),
    # wallet (private)
    ("GET", "/api/wallet"): Op(AUTH_ANY(), check=listed_only_for_owner("wallet", key="address")),
    ("POST", "/api/wallet/connect"): Op(AUTH_ANY(201), body=lambda w, a: {"address": str(Keypair().pubkey())}),
    ("POST", "/api/wallet/verify"): Op(AUTH_ANY(201), body=_signed_link),
    # a link challenge is bound to the account it was issued to
    ("POST", "/api/wallet/verify", "the owner's challenge"): Op(
        AUTH_ANY(201).but(user=400, mod=400, admin=400), body=lambda w, a: _signed_link(w, w.owner)
    ),
    ("PATCH", "/api/wallet/{address}"): Op(OWNER_ONLY(), body={"is_primary": True}),
    ("DELETE", "/api/wallet/{address}"): Op(OWNER_ONLY(204)),
    ("GET", "/api/wallet/balance"): Op(AUTH_ANY()),
    ("POST", "/api/wallet/refresh"): Op(AUTH_ANY()),
    ("GET", "/api/wallet/transactions"): Op(AUTH_ANY()),
    ("GET", "/api/wallet/transactions/summary"): Op(AUTH_ANY()),
}


# Routes the OpenAPI schema does not describe. They cannot all be driven through a full flow here
# (the OAuth round trip needs the provider), so each states why and pins at least what an anonymous
# caller gets: (method, path, extra request headers) -> (status, why).
OUTSIDE_SCHEMA: dict[tuple[str, str], tuple[int, str]] = {
    ("GET", "/api/schema/"): (200, "the published API reference (API.md)"),
    ("GET", "/api/docs/"): (200, "the browsable reference"),
    ("GET", "/metrics"): (403, "Prometheus: bearer METRICS_TOKEN, else loopback only (asked from 203.0.113.9)"),
    ("GET", "/admin/"): (302, "Django admin: session login for staff, tested in tests/*/test_admin.py"),
    ("GET", "/_allauth/browser/v1/config"): (200, "allauth headless: public provider configuration"),
    ("POST", "/_allauth/browser/v1/auth/provider/redirect"): (
        302,
        "OAuth: redirects to the provider (here, with no provider named, to the front end's error page); "
        "the round trip needs the provider; the JWT exchange is POST /api/auth/oauth/session",
    ),
    ("GET", "/accounts/login/"): (404, "HEADLESS_ONLY: allauth's own password pages are not mounted"),
    ("GET", f"/api/media/files/{'0' * 8}-0000-0000-0000-{'0' * 12}/original"): (
        404,
        "image bytes by unguessable key (public once uploaded); unknown key 404, see tests/media",
    ),
    ("GET", "/api/v1/drafts"): (401, "/api/v1/ is an alias of /api/: the same views, so the same rules"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "expected"), [pytest.param(k, v, id=f"{k[0]} {k[1]}") for k, v in OUTSIDE_SCHEMA.items()]
)
def test_routes_outside_the_schema_as_anonymous(key, expected):
    method, path = key
    status, why = expected
    response = getattr(APIClient(REMOTE_ADDR="203.0.113.9"), method.lower())(path)
    assert response.status_code == status, f"{method} {path}: got {response.status_code}, expected {status} ({why})"


# --- schema coverage -------------------------------------------------------------------------------


@functools.cache
def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def schema_operations() -> set[tuple[str, str]]:
    schema = _schema()
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in METHODS
    }


def test_the_schema_does_not_claim_a_login_for_what_anyone_may_call():
    """An operation anonymous callers succeed on must say so in the schema (an empty security
    requirement), or clients and the fuzzer are told to sign in for nothing."""
    schema = _schema()
    wrong = []
    for key, op in MATRIX.items():
        anon = op.expect["anon"]
        if len(key) == 3 or not any(200 <= s < 300 for s in (anon if isinstance(anon, frozenset) else {anon})):
            continue
        security = schema["paths"][key[1]][key[0].lower()].get("security")
        if security and {} not in security:
            wrong.append(f"{key[0]} {key[1]}: {security}")
    assert not wrong, "open to anonymous callers but documented as needing a login:\n" + "\n".join(wrong)


def table_operations() -> set[tuple[str, str]]:
    return {key[:2] for key in MATRIX}


def test_every_schema_operation_has_a_rule():
    missing = sorted(schema_operations() - table_operations())
    assert not missing, "operations without an authorisation rule (add a row to MATRIX):\n" + "\n".join(
        f"  {m} {p}" for m, p in missing
    )


def test_every_rule_is_still_in_the_schema():
    stale = sorted(table_operations() - schema_operations())
    assert not stale, "MATRIX rows for operations the schema no longer has:\n" + "\n".join(
        f"  {m} {p}" for m, p in stale
    )


def test_the_table_is_well_formed():
    for key, op in MATRIX.items():
        assert set(op.expect) == set(ACTORS), key
        if len(key) == 3:
            assert key[:2] in MATRIX, f"variant {key} has no plain row"


# --- the matrix ------------------------------------------------------------------------------------


def _cases():
    for key in MATRIX:
        for actor in ACTORS:
            label = f"{key[0]} {key[1]}" + (f" [{key[2]}]" if len(key) == 3 else "")
            yield pytest.param(key, actor, id=f"{label} as {actor}")


def _build_world() -> World:
    from django.utils import timezone

    from apps.forum import services as forum
    from apps.media.models import MediaAsset
    from apps.moderation.services import report_create
    from apps.wallet.models import WalletConnection
    from tests.forum.factories import CategoryFactory, CommentFactory, PostFactory
    from tests.market.factories import MarketMilestoneFactory, PriceAlertFactory
    from tests.moderation.factories import WatchedWordFactory
    from tests.notifications.factories import NotificationFactory, SubscriptionFactory

    owner = UserFactory(username="owner")
    people = {
        "owner": owner,
        "user": UserFactory(username="stranger"),
        "mod": UserFactory(username="moddy", role="moderator"),
        "admin": UserFactory(username="admina", role="admin"),
    }
    third = UserFactory(username="third")
    owner_tokens = issue_token_pair(owner)
    category = CategoryFactory(slug="general", name="General")
    post = PostFactory(author=owner, category=category, title="The owner's post")
    third_post = PostFactory(author=third, category=category, title="Someone else's post")
    report = report_create(reporter=owner, target_type="post", target_id=third_post.pk, reason="spam").report
    return World(
        people=people,
        owner_tokens=owner_tokens,
        category=category,
        post=post,
        comment=CommentFactory(post=post, author=owner),
        draft=forum.draft_create(author=owner, title="Draft", body="Draft body.", category_slug=category.slug),
        alert=PriceAlertFactory(user=owner),
        wallet=WalletConnection.objects.create(
            user=owner, address=str(Keypair().pubkey()), verified=True, verified_at=timezone.now(), is_primary=True
        ),
        notification=NotificationFactory(user=owner),
        subscription=SubscriptionFactory(user=owner, target_type="category", target_id=category.pk),
        media=MediaAsset.objects.create(
            owner=owner,
            status="ready",
            file="media/x.png",
            format="PNG",
            content_type="image/png",
            width=1,
            height=1,
            bytes=1,
            original_bytes=1,
            sha256="0" * 64,
        ),
        reviewable=report.reviewable,
        watched_word=WatchedWordFactory(word="rugpull"),
        milestone=MarketMilestoneFactory(reached_at=datetime.now(UTC)),
        session=AuthSession.objects.filter(user=owner).first(),
        third=third,
    )


def _fill(template: str, world: World, op: Op) -> str:
    import re

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name in op.params:
            chosen = op.params[name]
            if chosen == "me":
                return chosen
            obj = world
            for part in chosen.split("."):
                obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
            return str(obj.pk)
        assert name in DEFAULT_PARAMS, f"no fixture for path parameter {{{name}}} in {template}: add `params=`"
        return str(DEFAULT_PARAMS[name](world))

    return re.sub(r"\{(\w+)\}", value, template)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once and committed; each case runs inside its own transaction that is rolled back, so
    every case sees the same untouched objects (a DELETE in one case is gone for the next). Torn
    down afterwards, and checked: no table may hold a row more or less than before."""
    # Outside any test, so the fixture acts as the system itself (row-level security: private
    # rows of every user are built, counted and removed).
    from apps.core import limits

    # Limit counters are written outside every transaction by design (a refused request must still
    # count), so they are not rows the matrix could leave behind: start and end with none.
    with django_db_blocker.unblock(), rls.system_context("test:authz-matrix-world"):
        limits.reset_all()
        before = _row_counts()
        built_from = datetime.now(UTC)
        built = _build_world()
    yield built
    with django_db_blocker.unblock(), rls.system_context("test:authz-matrix-world"):
        _tear_down(built)
        # The events the world's writes emitted (and their deliveries) go with the world.
        from apps.core.models import OutboxEvent

        OutboxEvent.objects.filter(created_at__gte=built_from).delete()
        limits.reset_all()
        after = _row_counts()
    leaked = {table: (before.get(table), n) for table, n in after.items() if before.get(table) != n}
    assert not leaked, f"the matrix left rows behind (table: before, after): {leaked}"


def _row_counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        tables = [t for t in connection.introspection.table_names(cursor) if not t.startswith("django_")]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def _tear_down(w: World) -> None:
    from apps.accounts.models import User
    from apps.forum.models import Comment, Post
    from apps.moderation.models import AuditLogEntry, Reviewable

    users = [*w.people.values(), w.third]
    Reviewable.objects.filter(target_user__in=users).delete()
    AuditLogEntry.objects.filter(actor__in=users).delete()
    Comment.objects.filter(post__category=w.category).delete()
    Post.objects.filter(category=w.category).delete()
    w.category.delete()
    w.watched_word.delete()
    w.milestone.delete()
    User.objects.filter(pk__in=[u.pk for u in users]).delete()


@pytest.fixture
def offline(settings, tmp_path, monkeypatch):
    """No outside world: the Solana RPC answers an empty wallet, anything else is refused."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_CLAMAV_URL = ""
    settings.SOLANA_RPC_BACKOFF_SECONDS = 0
    settings.WALLET_REFRESH_PAUSE_SECONDS = 0
    empty = {"jsonrpc": "2.0", "id": 1, "result": {"context": {"slot": 1}, "value": []}}
    no_history = {"jsonrpc": "2.0", "id": 1, "result": []}

    def node(request):
        method = json.loads(request.content)["method"]
        return httpx2.Response(200, json=no_history if method == "getSignaturesForAddress" else empty)

    monkeypatch.setattr(solana_rpc, "default_transport", lambda: httpx2.MockTransport(node))
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route().mock(side_effect=httpx.ConnectError("offline"))
        yield


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "actor"), _cases())
def test_authorisation(key, actor, world, offline):
    method, template = key[0], key[1]
    op = MATRIX[key]
    acting = world.people.get(actor)
    client = APIClient()
    if acting is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token_pair(acting)['access']}")
    if op.setup is not None:
        op.setup(world)
    url = _fill(template, world, op)
    body = op.body(world, acting) if callable(op.body) else op.body
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": body, "format": op.fmt}
    if op.query:
        assert method == "GET"
        kwargs = {"data": op.query}
    response = getattr(client, method.lower())(url, **kwargs)

    expected = op.expect[actor]
    allowed = expected if isinstance(expected, frozenset) else {expected}
    detail = response.content[:400]
    assert response.status_code in allowed, (
        f"{method} {url} as {actor}: got {response.status_code}, expected {sorted(allowed)}"
        + (f" ({op.why})" if op.why else "")
        + f"\n{detail!r}"
    )
    if response.status_code >= 400:
        assert "error" in response.json(), detail
    if op.check is not None:
        op.check(response, world, actor)
