"""Signing in with a wallet and linking, unlinking and choosing the primary wallet of an account."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts import identity
from apps.accounts import services as account_services
from apps.accounts.models import Profile, User
from apps.core import rls
from apps.core.events import emit
from apps.core.exceptions import Conflict, NotFound
from apps.core.push import broadcast
from apps.wallet.events import WalletUnlinked, WalletVerified
from apps.wallet.models import ChallengePurpose, WalletConnection

from .challenges import siws_accept
from .holder_tiers import holder_tier_recompute

logger = logging.getLogger("apps.wallet.services")

# --- sign-in and links ------------------------------------------------------------------------------


def _username_for(address: str) -> str:
    for length in (6, 8, 10, 12, 16):
        candidate = f"sol_{address[:length]}"
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    return f"sol_{address[:8]}_{secrets.token_hex(3)}"


def _attach_wallet(*, user: User, address: str, now: datetime) -> WalletConnection:
    has_primary = WalletConnection.objects.filter(user=user, is_primary=True).exists()
    wallet = WalletConnection.objects.create(
        user=user, address=address, verified=True, verified_at=now, is_primary=not has_primary, next_refresh_at=now
    )
    emit(WalletVerified(user_id=user.pk, address=address))
    broadcast(f"user:{user.pk}", "wallet.verified", {"address": address, "is_primary": wallet.is_primary})
    _enqueue_first_sync(wallet.pk)
    return wallet


def _enqueue_first_sync(wallet_id: int) -> None:
    # The first balance check runs right after commit in a worker, not at the next beat tick.
    from apps.wallet.tasks import refresh_wallet

    transaction.on_commit(lambda: _safe_delay(refresh_wallet, wallet_id))


def _safe_delay(task, *args) -> None:
    try:
        task.delay(*args)
    except Exception:  # a lost broker must not fail the sign-in; beat picks the wallet up later
        logger.warning("could not enqueue %s%s", task.name, args, exc_info=True)


@dataclass
class LoginResult:
    user: User
    wallet: WalletConnection
    created: bool


def _wallet_owned_by_anyone(address: str) -> WalletConnection | None:
    """Which account this wallet is linked to: a lookup across accounts (wallet links are private
    under RLS) that signing in with a wallet needs, after the signature has proved control."""
    with rls.system_context("wallet:login_lookup"):
        return WalletConnection.objects.select_related("user").filter(address=address).first()


@transaction.atomic
def wallet_login(*, address: str, message: str, signature: str) -> LoginResult:
    """Sign in with a wallet; an unknown wallet gets a new account (no email, no password)."""
    siws_accept(address=address, message=message, signature=signature, purpose=ChallengePurpose.LOGIN)
    wallet = _wallet_owned_by_anyone(address)
    if wallet is not None:
        rls.set_user(wallet.user_id)  # the signature proved control of the wallet: act as its account
        account_services.require_good_standing(wallet.user)
        if not wallet.verified:
            wallet.verified, wallet.verified_at = True, timezone.now()
            wallet.save(update_fields=["verified", "verified_at"])
        return LoginResult(user=wallet.user, wallet=wallet, created=False)
    now = timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                user = User(username=_username_for(address), email="", email_verified=False)
                user.set_unusable_password()
                user.save()
                rls.set_user(user.pk)
                Profile.objects.filter(user=user).update(display_name=f"{address[:4]}…{address[-4:]}")
                wallet = _attach_wallet(user=user, address=address, now=now)
            return LoginResult(user=user, wallet=wallet, created=True)
        except IntegrityError:
            # Either the username was taken meanwhile (try another) or the same wallet signed in
            # twice at once (the other request won: sign in to its account).
            existing = _wallet_owned_by_anyone(address)
            if existing is not None:
                rls.set_user(existing.user_id)
                return LoginResult(user=existing.user, wallet=existing, created=False)
    raise Conflict("Could not create an account for this wallet; try again.", code="conflict")


@transaction.atomic
def wallet_link(*, user: User, address: str, message: str, signature: str) -> tuple[WalletConnection, bool]:
    """Link a wallet the user proved they control. Returns (wallet, created)."""
    siws_accept(address=address, message=message, signature=signature, purpose=ChallengePurpose.LINK, user=user)
    existing = WalletConnection.objects.select_for_update().filter(address=address).first()
    if existing is not None:
        if existing.user_id != user.pk:
            raise Conflict("This wallet is already linked to another account.", code="wallet_already_linked")
        return existing, False
    # Lock the account row so two links at once cannot pass the limit together.
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    count = WalletConnection.objects.filter(user=user).count()
    if count >= settings.WALLET_MAX_PER_USER:
        raise Conflict(f"An account can link at most {settings.WALLET_MAX_PER_USER} wallets.", code="wallet_limit")
    try:
        with transaction.atomic():
            wallet = _attach_wallet(user=user, address=address, now=timezone.now())
    except IntegrityError:
        raise Conflict("This wallet is already linked to another account.", code="wallet_already_linked") from None
    return wallet, True


@transaction.atomic
def wallet_unlink(*, user: User, address: str) -> None:
    wallets = list(WalletConnection.objects.select_for_update().filter(user=user).order_by("created_at", "id"))
    wallet = next((w for w in wallets if w.address == address), None)
    if wallet is None:
        raise NotFound("No such wallet on this account.")
    if wallet.verified and identity.ways_in(user) <= 1:
        raise Conflict(
            "This wallet is the only way into the account. Add a password or another sign-in method first.",
            code="last_way_in",
        )
    was_primary = wallet.is_primary
    wallet.delete()
    if was_primary:
        successor = next((w for w in wallets if w.pk != wallet.pk and w.verified), None)
        if successor is not None:
            WalletConnection.objects.filter(pk=successor.pk).update(is_primary=True)
    emit(WalletUnlinked(user_id=user.pk, address=address))
    broadcast(f"user:{user.pk}", "wallet.unlinked", {"address": address})
    # A wallet taken away is not a brief transfer: no grace (else one wallet could lend its tier around).
    holder_tier_recompute(user_id=user.pk, immediate=True)


@transaction.atomic
def wallet_set_primary(*, user: User, address: str) -> WalletConnection:
    wallets = list(WalletConnection.objects.select_for_update().filter(user=user))
    wallet = next((w for w in wallets if w.address == address), None)
    if wallet is None:
        raise NotFound("No such wallet on this account.")
    if not wallet.is_primary:
        WalletConnection.objects.filter(user=user, is_primary=True).update(is_primary=False)
        WalletConnection.objects.filter(pk=wallet.pk).update(is_primary=True)
        wallet.is_primary = True
    return wallet
