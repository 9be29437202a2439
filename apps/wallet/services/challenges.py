"""Sign In With Solana challenges: issue a message, accept its signature exactly once, purge old ones."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.wallet import siws
from apps.wallet.models import ChallengePurpose, SiwsChallenge

NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 24


def _now() -> datetime:
    now = timezone.now()
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)  # the message carries milliseconds


# --- challenges -------------------------------------------------------------------------------------


@transaction.atomic
def challenge_create(*, address: str, purpose: str, user: User | None = None) -> SiwsChallenge:
    """Issue a SIWS message for `address`: login (anonymous) or link (bound to `user`)."""
    if not siws.is_valid_address(address):
        raise ApplicationError(
            "That is not a valid Solana address (base58, 32 bytes).",
            code="invalid_address",
            details={"address": ["Not a base58 Solana address."]},
        )
    issued_at = _now()
    expires_at = issued_at + timedelta(seconds=settings.SIWS_CHALLENGE_TTL_SECONDS)
    nonce = "".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))
    message = siws.build_message(
        domain=settings.SIWS_DOMAIN,
        address=address,
        statement=settings.SIWS_STATEMENT,
        uri=settings.SIWS_URI,
        chain_id=settings.SIWS_CHAIN_ID,
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=expires_at,
    )
    return SiwsChallenge.objects.create(
        nonce=nonce,
        address=address,
        purpose=purpose,
        user=user if purpose == ChallengePurpose.LINK else None,
        domain=settings.SIWS_DOMAIN,
        uri=settings.SIWS_URI,
        chain_id=settings.SIWS_CHAIN_ID,
        statement=settings.SIWS_STATEMENT,
        message=message,
        issued_at=issued_at,
        expires_at=expires_at,
    )


def _refuse(code: str, message: str) -> siws.SiwsError:
    return siws.SiwsError(message, code=code)


def siws_accept(*, address: str, message: str, signature: str, purpose: str, user: User | None = None) -> SiwsChallenge:
    """Check a signed SIWS message against the challenge we issued and consume its nonce.

    Must run inside a transaction (the callers' @transaction.atomic): the challenge row is locked, so
    two requests racing with one nonce cannot both pass; a refusal consumes nothing.
    """
    if not siws.is_valid_address(address):
        raise _refuse("invalid_address", "That is not a valid Solana address (base58, 32 bytes).")
    raw_signature = siws.decode_signature(signature)
    parsed = siws.parse_message(message)
    if parsed.address != address:
        raise _refuse("siws_address_mismatch", "The message was written for another address.")
    if parsed.domain != settings.SIWS_DOMAIN:
        raise _refuse("siws_domain_mismatch", "The message was written for another site.")
    if parsed.uri != settings.SIWS_URI:
        raise _refuse("siws_uri_mismatch", "The message names another URI.")
    if parsed.version != "1":
        raise _refuse("siws_version_unsupported", "Only version 1 Sign In With Solana messages are accepted.")
    if parsed.chain_id != settings.SIWS_CHAIN_ID:
        raise _refuse("siws_chain_mismatch", f"The message is for another chain (expected {settings.SIWS_CHAIN_ID}).")

    challenge = SiwsChallenge.objects.select_for_update().filter(nonce=parsed.nonce).first()
    if (
        challenge is None
        or challenge.address != address
        or challenge.purpose != purpose
        or (purpose == ChallengePurpose.LINK and (user is None or challenge.user_id != user.pk))
    ):
        raise _refuse("siws_nonce_unknown", "This sign-in request was not issued here. Ask for a new one.")
    if challenge.consumed_at is not None:
        raise _refuse("siws_nonce_used", "This sign-in request was already used. Ask for a new one.")
    now = timezone.now()
    if challenge.expires_at <= now or (parsed.expiration_time is not None and parsed.expiration_time <= now):
        raise _refuse("siws_expired", "This sign-in request has expired. Ask for a new one.")
    if parsed.not_before is not None and parsed.not_before > now:
        raise _refuse("siws_not_yet_valid", "This sign-in request is not valid yet.")
    skew = timedelta(seconds=settings.SIWS_ISSUED_AT_SKEW_SECONDS)
    if abs(parsed.issued_at - now) > skew:
        raise _refuse("siws_issued_at_invalid", "The message's issue time is too far from now.")
    if (
        parsed.issued_at != challenge.issued_at
        or parsed.expiration_time != challenge.expires_at
        or (parsed.statement or "") != challenge.statement
        or parsed.request_id is not None
        or parsed.resources
    ):
        raise _refuse("siws_field_mismatch", "The message differs from the one issued. Sign it unchanged.")
    if not siws.verify_signature(address=address, message=message.encode("utf-8"), signature=raw_signature):
        raise _refuse("siws_signature_invalid", "The signature does not match this message and address.")
    challenge.consumed_at = now
    challenge.save(update_fields=["consumed_at"])
    return challenge


def purge_expired_challenges() -> int:
    deleted, _ = SiwsChallenge.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted
