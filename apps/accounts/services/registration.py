"""Registration and email verification (link or code)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.core.cache import cache
from django.db import IntegrityError, transaction

from apps.accounts.events import UserRegistered
from apps.accounts.models import User
from apps.core import limits, rls
from apps.core.client_address import client_address
from apps.core.events import emit
from apps.core.exceptions import Conflict, ValidationFailed

from .rules import _check_password, clean_username, email_taken, normalize_email


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
