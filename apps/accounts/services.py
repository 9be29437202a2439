"""Every write of the accounts area. Keyword-only, typed, atomic; side effects leave as events."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from apps.accounts import identity
from apps.accounts.events import RoleChanged, UserRegistered, UserReinstated, UserSuspended
from apps.accounts.models import (
    AccountAuditLog,
    AuditAction,
    AuthSession,
    Profile,
    Role,
    RoleAssignment,
    User,
    username_validator,
)
from apps.accounts.permissions import ROLE_RANK, role_of
from apps.accounts.sources import KIND_PROVIDERS
from apps.accounts.tokens import revoke_sessions, session_ended
from apps.core import autocommit, limits, rls
from apps.core.client_address import client_address
from apps.core.events import emit
from apps.core.exceptions import (
    ApplicationError,
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDeniedError,
    ValidationFailed,
)

RESERVED_USERNAMES = {
    "admin",
    "administrator",
    "root",
    "system",
    "support",
    "moderator",
    "mod",
    "staff",
    "api",
    "me",
    "null",
    "undefined",
    "successkid",
    "success_kid",
}
PERMANENT = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


class AccountSuspendedError(ApplicationError):
    status, code, message = 403, "account_suspended", "This account is suspended."


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


# --- input rules -----------------------------------------------------------------------------
def normalize_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise _fail("email", "Enter a valid email address.") from None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_username(username: str) -> str:
    username = unicodedata.normalize("NFKC", (username or "").strip())
    try:
        username_validator(username)
    except DjangoValidationError as exc:
        raise _fail("username", exc.messages[0]) from None
    if username.lower() in RESERVED_USERNAMES:
        raise _fail("username", "This username is reserved.")
    return username


def _check_password(password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.messages[0], details={field: exc.messages}) from None


def email_taken(email: str, *, exclude_user_id: int | None = None) -> bool:
    from allauth.account.models import EmailAddress

    users = User.objects.filter(email__iexact=email)
    addresses = EmailAddress.objects.filter(email__iexact=email)
    if exclude_user_id:
        users = users.exclude(pk=exclude_user_id)
        addresses = addresses.exclude(user_id=exclude_user_id)
    if users.exists():
        return True
    # Addresses are private (RLS); whether another account holds this one is a yes/no across
    # accounts that sign-up and email change legitimately need.
    with rls.system_context("accounts:email_taken"):
        return addresses.exists()


# --- registration and email verification ------------------------------------------------------
@transaction.atomic
def user_register(*, email: str, username: str, password: str, request=None) -> User:
    if request is not None:
        # Counted first (concurrent sign-ups cannot pass the limit together), given back on failure.
        ip = client_address(request)
        limits.hit("register_ip", ip)
        try:
            return _register(email=email, username=username, password=password)
        except Exception:
            limits.undo("register_ip", ip)
            raise
    return _register(email=email, username=username, password=password)


def _register(*, email: str, username: str, password: str) -> User:
    email = normalize_email(email)
    username = clean_username(username)
    candidate = User(username=username, email=email)
    _check_password(password, candidate)
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("This username is taken.", details={"username": ["This username is taken."]})
    if email_taken(email):
        raise Conflict(
            "An account with this email already exists.",
            details={"email": ["An account with this email already exists."]},
        )
    candidate.password = make_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:  # a concurrent sign-up won the race for the name or address
        raise Conflict("This username or email is taken.") from None
    rls.set_user(candidate.pk)  # the new account acts for itself from here on (its address is private)
    _set_primary_email(user=candidate, email=email)
    transaction.on_commit(lambda: send_verification_email(user_id=candidate.pk))
    emit(UserRegistered(user_id=candidate.pk, method="password"))
    return candidate


def _set_primary_email(*, user: User, email: str, verified: bool = False) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)


def _code_key(user_id: int) -> str:
    return f"accounts:verify-code:{user_id}"


def _code_hash(code: str, email: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{code}:{email.lower()}".encode(), hashlib.sha256).hexdigest()


def send_verification_email(*, user_id: int) -> None:
    """A link (allauth's HMAC key) and a 6-digit code, both for the user's current address."""
    # Often runs after the request's commit: in its own transaction, as that user (RLS).
    with rls.user_context(user_id):
        _send_verification_email(user_id=user_id)


def _send_verification_email(*, user_id: int) -> None:
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC

    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.email or user.email_verified:
        return
    address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
    if address is None:
        address = EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    key = EmailConfirmationHMAC(address).key
    code = f"{secrets.randbelow(10**6):06d}"
    cache.set(_code_key(user.pk), _code_hash(code, user.email), timeout=settings.EMAIL_CODE_TTL_SECONDS)
    link = settings.EMAIL_VERIFY_URL.format(key=key)
    mail.send_mail(
        "Confirm your email for Success Kid",
        f"Hi {user.username},\n\nConfirm your email address by opening this link:\n{link}\n\n"
        f"or enter this code in the app: {code}\n\nIf you did not sign up, ignore this email.\n",
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )


def resend_verification(*, user: User) -> None:
    if user.email_verified:
        raise Conflict("Your email address is already verified.")
    if not user.email:
        raise Conflict("This account has no email address.")
    limits.hit("verify_send", str(user.pk))
    send_verification_email(user_id=user.pk)


@transaction.atomic
def _mark_verified(*, user: User, email: str) -> User:
    from allauth.account.models import EmailAddress

    user = User.objects.select_for_update().get(pk=user.pk)
    if user.email.lower() != email.lower():
        raise ValidationFailed("This verification is for an address the account no longer uses.")
    EmailAddress.objects.filter(user=user, email__iexact=email).update(verified=True)
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
    cache.delete(_code_key(user.pk))
    return user


def verify_email_key(*, key: str) -> User:
    from allauth.account.models import EmailConfirmationHMAC

    # The key is our HMAC over the address id: finding that address (someone's private row) comes
    # before knowing whose it is; a valid key then proves the holder owns it.
    with rls.system_context("accounts:verify_email_key"):
        confirmation = EmailConfirmationHMAC.from_key(key or "")
        address = confirmation.email_address if confirmation is not None else None
        user = address.user if address is not None else None
    if confirmation is None:
        raise ValidationFailed(
            "This verification link is invalid or has expired.", details={"key": ["Invalid or expired."]}
        )
    rls.set_user(user.pk)
    return _mark_verified(user=user, email=address.email)


def verify_email_code(*, user: User, code: str) -> User:
    if user.email_verified:
        return user
    # Every try counts before the code is compared; a right code clears the count.
    limits.hit("verify_code", str(user.pk))
    expected = cache.get(_code_key(user.pk))
    if not expected or not hmac.compare_digest(expected, _code_hash(str(code or "").strip(), user.email)):
        raise ValidationFailed("This code is wrong or has expired.", details={"code": ["Wrong or expired code."]})
    limits.clear("verify_code", str(user.pk))
    return _mark_verified(user=user, email=user.email)


# --- login, logout, sessions -----------------------------------------------------------------
_DUMMY_HASH = None


def _burn_password_time(password: str) -> None:
    # Unknown account: spend the time a real check would, so timing does not enumerate accounts.
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = make_password("not-a-real-password")
    User(password=_DUMMY_HASH).check_password(password)


def password_matches(*, user: User, password: str | None) -> bool:
    """Every password check (sign-in, the re-checks of password change, email change and account
    deletion, the admin's login form) goes through here, so they share one per-account lockout
    (`login_account`): the try is counted before the password is compared (429 once over the
    limit, even for the right password), and a right password clears the count."""
    key = f"user:{user.pk}"
    limits.hit("login_account", key, message="Too many failed sign-in attempts for this account. Try again later.")
    if not user.check_password(password or ""):
        return False
    limits.clear("login_account", key)
    return True


def authenticate_login(*, login: str, password: str, request=None) -> User:
    login = (login or "").strip()
    ip = client_address(request)
    limits.hit("login_ip", ip)
    user = User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login)).order_by("id").first()
    if user is None:
        limits.hit("login_account", f"login:{login.lower()}")
        _burn_password_time(password or "")
        raise NotAuthenticated("Wrong login or password.")
    if not password_matches(user=user, password=password) or not user.is_active:
        raise NotAuthenticated("Wrong login or password.")
    limits.undo("login_ip", ip)  # a sign-in that worked is not a failure from this address
    if user.is_suspended:
        _raise_suspended(user)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return user


def profile_seen(*, user_id: int) -> None:
    """Profile.last_seen_at (active users' wallet refresh, the digest's "came back since"): one
    write per user a minute at most, the first authenticated request of each minute, on the
    limiter's own connection (the visit happened even if the request then fails)."""
    if limits.attempt("last_seen", f"u{user_id}").count == 1:
        # SKIP LOCKED: never wait for a lock (it may be held by this very request's transaction,
        # on the other connection); a skipped minute is written on a later request.
        autocommit.execute(
            "UPDATE profiles SET last_seen_at = now() WHERE user_id = "
            "(SELECT user_id FROM profiles WHERE user_id = %s FOR UPDATE SKIP LOCKED)",
            [user_id],
        )


def require_good_standing(user: User) -> None:
    """Refuse a way in to an account that may not act: deleted, suspended or banned (403
    `account_suspended`, with `until`, `banned` and the reason for a suspension)."""
    if not user.is_active:
        raise AccountSuspendedError("This account is not active.")
    if user.is_suspended:
        _raise_suspended(user)


def _raise_suspended(user: User) -> None:
    until = None if user.suspended_until >= PERMANENT else user.suspended_until.isoformat().replace("+00:00", "Z")
    raise AccountSuspendedError(
        "This account is banned." if until is None else f"This account is suspended until {until}.",
        details={"until": until, "banned": until is None, "reason": user.suspension_reason},
    )


def logout(*, refresh_token: str | None, user: User | None, all_sessions: bool = False) -> int:
    """Revoke the presented refresh token's session, or with all_sessions every session of the
    account (and every access token, by moving the token version on)."""
    from apps.accounts.tokens import parse_refresh

    target_user, sid = user, None
    if refresh_token:
        token = parse_refresh(refresh_token)
        sid = token.get("sid")
        if user is None:  # signed by us: act for its subject (RLS) to find its session
            try:
                rls.set_user(int(token["sub"]))
            except (KeyError, TypeError, ValueError):
                raise NotAuthenticated("The refresh token is invalid.", code="token_invalid") from None
        session = AuthSession.objects.filter(pk=sid).select_related("user").first() if sid else None
        if session is None or (user is not None and session.user_id != user.pk):
            raise NotAuthenticated("The refresh token is invalid.", code="token_invalid")
        target_user = session.user
    if target_user is None:
        raise NotAuthenticated()
    if all_sessions:
        with transaction.atomic():
            User.objects.filter(pk=target_user.pk).update(token_version=F("token_version") + 1)
            return revoke_sessions(user=target_user, reason="logout_all")
    if sid is None:
        sid = getattr(target_user, "auth_session_id", None)
    if sid is None:
        raise ValidationFailed("Send the refresh token to end.", details={"refresh": ["This field is required."]})
    ended = AuthSession.objects.filter(pk=sid, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason="logout"
    )
    session_ended(user_id=target_user.pk, session_id=sid, reason="logout")
    return ended


def session_revoke(*, user: User, session_id: str) -> None:
    try:
        uuid.UUID(str(session_id))
    except ValueError:
        raise NotFound() from None
    updated = AuthSession.objects.filter(pk=session_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason="revoked"
    )
    if not updated:
        raise NotFound()
    session_ended(user_id=user.pk, session_id=session_id, reason="revoked")


SESSION_RETENTION = dt.timedelta(days=30)


def sessions_purge(*, now: dt.datetime | None = None) -> int:
    """Forget sessions that ended (revoked or expired) more than 30 days ago. Idempotent."""
    cutoff = (now or timezone.now()) - SESSION_RETENTION
    deleted, _ = AuthSession.objects.filter(Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)).delete()
    return deleted


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


# --- profiles and settings -------------------------------------------------------------------
@transaction.atomic
def profile_update(*, user: User, data: dict[str, Any]) -> Profile:
    profile = Profile.objects.select_for_update().get(user=user)
    allowed = {"display_name", "bio", "links", "visibility", "show_wallets", "show_holdings"}
    fields = [k for k in data if k in allowed]
    for key in fields:
        setattr(profile, key, data[key])
    if fields:
        profile.save(update_fields=[*fields, "updated_at"])
    return profile


@transaction.atomic
def settings_update(*, user: User, data: dict[str, Any]) -> dict[str, Any]:
    profile = Profile.objects.select_for_update().get(user=user)
    merged = {**(profile.settings or {}), **data}
    profile.settings = merged
    profile.save(update_fields=["settings", "updated_at"])
    return merged


def avatar_set(*, user: User, upload, request=None) -> Profile:
    """An avatar is an uploaded image like any other (apps.media: judged by content, size and
    pixel limits, metadata stripped, scanned when a scanner is configured), at most
    AVATAR_MAX_BYTES; the profile points at its thumbnail by an absolute URL (the original until
    the thumbnail exists). The previous avatar is deleted."""
    from apps.media import services as media

    if upload.size is not None and upload.size > settings.AVATAR_MAX_BYTES:
        raise ApplicationError(
            f"The avatar is larger than {settings.AVATAR_MAX_BYTES} bytes.", code="payload_too_large", status=413
        )
    with transaction.atomic():
        asset = media.media_upload(owner=user, upload=upload, purpose="avatar")
        media.media_attach(owner=user, keys=[str(asset.key)], target=f"avatar:{user.pk}")
        profile = Profile.objects.select_for_update().get(user=user)
        old = profile.avatar_url
        profile.avatar_url = media.public_url(asset, "thumbnail", request=request)
        profile.save(update_fields=["avatar_url", "updated_at"])
        media.avatar_replaced(owner=user, old_url=old, keep=asset)
    return profile


# --- roles, suspensions, audit ---------------------------------------------------------------
def _outranks(actor: User | None, target: User) -> bool:
    if actor is None or actor.is_superuser:
        return True
    return ROLE_RANK.get(role_of(actor), -1) > ROLE_RANK.get(role_of(target), -1)


@transaction.atomic
def role_assign(*, user: User, role: str, by: User | None, reason: str = "", ip: str | None = None) -> User:
    if role not in Role.values:
        raise _fail("role", f"Role must be one of: {', '.join(Role.values)}.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if by is not None and not by.is_superuser and by.pk != user.pk and not _outranks(by, user):
        raise PermissionDeniedError("You can't change the role of someone at or above your own rank.")
    old = user.role
    if old == role:
        return user
    user.role = role
    user.is_staff = role in (Role.MODERATOR, Role.ADMIN) or user.is_superuser
    user.save(update_fields=["role", "is_staff"])
    RoleAssignment.objects.create(user=user, role=role, previous_role=old, assigned_by=by, reason=reason[:500])
    AccountAuditLog.objects.create(
        actor=by,
        target=user,
        action=AuditAction.ROLE_CHANGED,
        data={"from": old, "to": role},
        reason=reason[:500],
        ip=ip,
    )
    emit(RoleChanged(user_id=user.pk, by_user_id=by.pk if by else None, old_role=old, new_role=role))
    return user


@transaction.atomic
def user_suspend(
    *, user: User, by: User | None, until: dt.datetime | None, reason: str = "", ip: str | None = None
) -> User:
    """`until=None` is a permanent ban. Every token of the account stops at once."""
    if by is not None and by.pk == user.pk:
        raise PermissionDeniedError("You can't suspend yourself.")
    if not _outranks(by, user):
        raise PermissionDeniedError("You can't suspend someone at or above your own rank.")
    if until is not None and until <= timezone.now():
        raise _fail("until", "The end of a suspension must be in the future.")
    user = User.objects.select_for_update().get(pk=user.pk)
    user.suspended_until = until or PERMANENT
    user.suspension_reason = reason[:500]
    user.suspended_by = by
    user.token_version += 1
    user.save(update_fields=["suspended_until", "suspension_reason", "suspended_by", "token_version"])
    revoke_sessions(user=user, reason="suspended")
    AccountAuditLog.objects.create(
        actor=by,
        target=user,
        action=AuditAction.BANNED if until is None else AuditAction.SUSPENDED,
        data={"until": None if until is None else until.isoformat()},
        reason=reason[:500],
        ip=ip,
    )
    emit(
        UserSuspended(
            user_id=user.pk,
            by_user_id=by.pk if by else None,
            until=None if until is None else until.isoformat().replace("+00:00", "Z"),
            reason=reason[:500],
        )
    )
    return user


@transaction.atomic
def user_unsuspend(*, user: User, by: User | None, reason: str = "", ip: str | None = None) -> User:
    if not _outranks(by, user):
        raise PermissionDeniedError("You can't change the standing of someone at or above your own rank.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.suspended_until is None:
        return user
    previous = user.suspended_until
    # Only the standing changes: a deleted account (is_active=False) stays deleted.
    user.suspended_until = None
    user.suspension_reason = ""
    user.suspended_by = None
    user.save(update_fields=["suspended_until", "suspension_reason", "suspended_by"])
    AccountAuditLog.objects.create(
        actor=by,
        target=user,
        action=AuditAction.UNSUSPENDED,
        data={"was_until": previous.isoformat()},
        reason=reason[:500],
        ip=ip,
    )
    emit(UserReinstated(user_id=user.pk, by_user_id=by.pk if by else None))
    return user
