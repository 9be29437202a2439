"""Changing or resetting a password or the email, and unlinking an identity: each re-checks who asks."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from apps.accounts import identity
from apps.accounts.models import AuthSession, User
from apps.accounts.sources import KIND_PROVIDERS
from apps.accounts.tokens import revoke_sessions
from apps.core import limits, rls
from apps.core.client_address import client_address
from apps.core.exceptions import Conflict, NotFound, PermissionDeniedError, ValidationFailed

from .login import password_matches
from .registration import _code_key, _set_primary_email, send_verification_email
from .rules import _check_password, _fail, email_taken, normalize_email

# --- passwords and email ---------------------------------------------------------------------
RECENT_LOGIN = dt.timedelta(minutes=10)


def _confirm_identity(*, user: User, password: str | None, session_id: str | None, action: str) -> None:
    """Sensitive changes need the password again; an account without one (OAuth or wallet only)
    needs a sign-in from the last 10 minutes instead."""
    if user.has_usable_password():
        if not password_matches(user=user, password=password):
            raise _fail("password", "Your password is wrong.")
        return
    session = AuthSession.objects.filter(pk=session_id, user=user).first() if session_id else None
    if session is None or session.created_at < timezone.now() - RECENT_LOGIN:
        raise PermissionDeniedError(f"Sign in again (within 10 minutes) to {action}.")


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str) -> int:
    keep = getattr(user, "auth_session_id", None)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not password_matches(user=user, password=current_password):
        raise _fail("current_password", "Your current password is wrong.")
    _check_password(new_password, user, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return revoke_sessions(user=user, reason="password_changed", except_session_id=keep)


def password_reset_request(*, email: str, request=None) -> None:
    """Always answers the same way, whether or not an account has this address."""
    email = normalize_email(email)
    limits.hit("reset_ip", client_address(request))
    limits.hit("reset_address", email)
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(str(user.pk).encode())
    token = default_token_generator.make_token(user)
    link = settings.PASSWORD_RESET_URL.format(uid=uid, token=token)
    transaction.on_commit(
        lambda: mail.send_mail(
            "Reset your Success Kid password",
            f"Hi {user.username},\n\nSomeone asked to reset your password. If it was you, open:\n{link}\n\n"
            "If not, ignore this email; your password stays as it is.\n",
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
        )
    )


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    invalid = ValidationFailed("This reset link is invalid or has expired.", details={"token": ["Invalid or expired."]})
    try:
        pk = int(urlsafe_base64_decode(uid or "").decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        raise invalid from None
    user = User.objects.select_for_update().filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token or ""):
        raise invalid
    rls.set_user(user.pk)  # a valid reset token proves the account: its sessions can be ended
    _check_password(new_password, user)
    user.set_password(new_password)
    user.token_version += 1
    # Following a link from the inbox proves the address.
    fields = ["password", "token_version"]
    if user.email and not user.email_verified:
        user.email_verified = True
        fields.append("email_verified")
    user.save(update_fields=fields)
    revoke_sessions(user=user, reason="password_reset")
    return user


@transaction.atomic
def email_change(*, user: User, new_email: str, password: str | None = None) -> User:
    sid = getattr(user, "auth_session_id", None)
    user = User.objects.select_for_update().get(pk=user.pk)
    _confirm_identity(user=user, password=password, session_id=sid, action="change your email")
    new_email = normalize_email(new_email)
    if new_email.lower() == user.email.lower():
        raise _fail("new_email", "This is already your email address.")
    if email_taken(new_email, exclude_user_id=user.pk):
        raise Conflict(
            "An account with this email already exists.",
            details={"new_email": ["An account with this email already exists."]},
        )
    old_email = user.email
    user.email = new_email
    user.email_verified = False
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified"])
    except IntegrityError:
        raise Conflict("An account with this email already exists.") from None
    _set_primary_email(user=user, email=new_email)
    cache.delete(_code_key(user.pk))
    transaction.on_commit(lambda: send_verification_email(user_id=user.pk))
    if old_email:
        transaction.on_commit(
            lambda: mail.send_mail(
                "Your Success Kid email address was changed",
                f"Hi {user.username},\n\nThe email address of your account was changed to {new_email}.\n"
                "If you did not do this, reset your password and contact support.\n",
                settings.DEFAULT_FROM_EMAIL,
                [old_email],
            )
        )
    return user


# --- identities ------------------------------------------------------------------------------
@transaction.atomic
def identity_unlink(*, user: User, kind: str, uid: str) -> None:
    from allauth.socialaccount.models import SocialAccount

    user = User.objects.select_for_update().get(pk=user.pk)  # serialise concurrent unlinks
    mine = [i for i in identity.identities_of(user) if i.kind == kind and i.uid == uid]
    if not mine:
        raise NotFound()
    if kind == "wallet":
        raise Conflict("Unlink wallets through DELETE /api/wallet/<address>.")
    if identity.ways_in(user) <= 1:
        raise Conflict("You can't remove your last way to sign in. Add another one first.")
    if kind == "password":
        user.set_unusable_password()
        user.save(update_fields=["password"])
        return
    provider = KIND_PROVIDERS.get(kind)
    if provider is None:
        raise NotFound()
    SocialAccount.objects.filter(user=user, provider=provider, uid=uid).delete()
