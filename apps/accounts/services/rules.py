"""Input rules every accounts service applies: email and username normalisation, password validation."""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from apps.accounts.models import User, username_validator
from apps.core import rls
from apps.core.exceptions import ApplicationError, ValidationFailed

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
