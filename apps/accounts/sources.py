"""The ways in that accounts itself provides: a password (by username or email) and OAuth
providers. Registered with `apps.accounts.identity` in AccountsConfig.ready()."""

from __future__ import annotations

from apps.accounts.identity import Identity

# allauth provider id -> the name clients see
PROVIDER_KINDS = {"google": "google", "github": "github", "twitter_oauth2": "x"}
KIND_PROVIDERS = {v: k for k, v in PROVIDER_KINDS.items()}


def password_identities(user) -> list[Identity]:
    if not getattr(user, "pk", None) or not user.has_usable_password():
        return []
    label = user.email or user.username
    return [Identity(kind="password", uid=str(user.pk), label=label, verified=True)]


def oauth_identities(user) -> list[Identity]:
    if not getattr(user, "pk", None):
        return []
    from allauth.socialaccount.models import SocialAccount

    found = []
    for account in SocialAccount.objects.filter(user_id=user.pk).order_by("id"):
        kind = PROVIDER_KINDS.get(account.provider, account.provider)
        extra = account.extra_data or {}
        label = str(extra.get("email") or extra.get("login") or extra.get("username") or account.uid)[:100]
        found.append(Identity(kind=kind, uid=str(account.uid), label=label, verified=True))
    return found
