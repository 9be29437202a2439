"""Accounts: the account itself, profile and settings, sessions, ways in, role history.

Erasure keeps the `users` row as an anonymous tombstone (other areas' rows that must survive,
such as votes or moderation history, still point at it) and runs last, after every other area."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import transaction

from apps.accounts import identity
from apps.accounts.models import AccountAuditLog, AuthSession, Profile, Role, RoleAssignment, User
from apps.privacy.shaping import deleted, one, rows

SECTION = "accounts"
MODELS = [
    "accounts.Profile",
    "accounts.AuthSession",
    "accounts.RoleAssignment",
    "accounts.AccountAuditLog",
    "account.EmailAddress",
    "socialaccount.SocialAccount",
]
ERASE_ORDER = 90  # last: the other areas still see the account as it was


def export(user: User) -> dict:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    profile = Profile.objects.filter(user=user).first()
    return {
        "account": one(
            user,
            "id",
            "username",
            "email",
            "email_verified",
            "first_name",
            "last_name",
            "role",
            "date_joined",
            "last_login",
            "suspended_until",
            "suspension_reason",
        ),  # fmt: skip
        "profile": one(
            profile,
            "display_name",
            "bio",
            "links",
            "avatar_url",
            "visibility",
            "show_wallets",
            "show_holdings",
            "points",
            "level",
            "public_points",
            "public_level",
            "holder_tier",
            "last_seen_at",
            "updated_at",
        ),  # fmt: skip
        "settings": (profile.settings if profile else {}) or {},
        # Session metadata only: the token ids (`current_jti`) are credentials and stay out.
        "sessions": rows(
            AuthSession.objects.filter(user=user).order_by("created_at"),
            "id",
            "method",
            "device",
            "user_agent",
            "ip",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "revoked_reason",
        ),  # fmt: skip
        "identities": [
            {"kind": i.kind, "uid": i.uid, "label": i.label, "verified": i.verified}
            for i in identity.identities_of(user)
        ],
        # Linked OAuth accounts without their tokens or the provider's raw profile.
        "oauth_accounts": rows(SocialAccount.objects.filter(user=user), "provider", "uid", "date_joined", "last_login"),
        "email_addresses": rows(EmailAddress.objects.filter(user=user), "email", "verified", "primary"),
        # Who changed a role is a moderator's identity, not the user's data: left out.
        "role_assignments": rows(
            RoleAssignment.objects.filter(user=user).order_by("created_at", "id"),
            "role",
            "previous_role",
            "reason",
            "created_at",
        ),  # fmt: skip
        "moderation_history": rows(
            AccountAuditLog.objects.filter(target=user).order_by("created_at", "id"), "action", "reason", "created_at"
        ),
    }


def erase(user: User) -> dict:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    from apps.accounts.services.registration import _code_key

    user = User.objects.select_for_update().get(pk=user.pk)
    avatar = Profile.objects.filter(user=user).values_list("avatar_url", flat=True).first() or ""
    counts = {
        # Deleted, not just revoked: they hold IPs and user agents. An access token names its
        # session, so deleting them also ends every access token at once (with token_version).
        "sessions": deleted(AuthSession.objects.filter(user=user)),
        "oauth_accounts": deleted(SocialAccount.objects.filter(user=user)),  # tokens cascade
        "email_addresses": deleted(EmailAddress.objects.filter(user=user)),
        "role_assignments": deleted(RoleAssignment.objects.filter(user=user)),
    }
    user.username = f"deleted_{user.pk}"  # frees the name; stable, so a retry writes the same
    user.email = ""
    user.email_verified = False
    user.first_name = user.last_name = ""
    user.is_active = user.is_staff = user.is_superuser = False
    user.role = Role.USER
    user.suspension_reason = ""
    user.last_login = None
    user.set_unusable_password()
    user.token_version += 1
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    counts["profile"] = Profile.objects.filter(user=user).update(
        display_name="",
        bio="",
        links=[],
        avatar_url="",
        settings={},
        visibility="nobody",
        show_wallets=False,
        show_holdings=False,
        points=0,
        level=1,
        public_points=0,
        public_level=1,
        holder_tier="none",
        last_seen_at=None,
    )
    cache.delete(_code_key(user.pk))
    prefix = f"{settings.MEDIA_URL}avatars/{user.pk}/"
    if avatar.startswith(prefix):
        name = avatar[len(settings.MEDIA_URL) :]
        transaction.on_commit(lambda: default_storage.delete(name))
    return counts
