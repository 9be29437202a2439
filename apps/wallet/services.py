"""Every write of the wallet area: challenges, sign-in, links, balances, holder tiers, transactions."""

from __future__ import annotations

import logging
import random
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts import identity
from apps.accounts import services as account_services
from apps.accounts.models import Profile, User
from apps.core import limits, rls
from apps.core.events import emit
from apps.core.exceptions import ApplicationError, Conflict, NotFound
from apps.core.realtime import broadcast
from apps.wallet import siws, tiers
from apps.wallet.clients.solana_rpc import RpcError, SolanaRpcClient, TokenHolding, get_client
from apps.wallet.events import HolderTierChanged, WalletUnlinked, WalletVerified
from apps.wallet.models import (
    BalanceHistory,
    ChallengePurpose,
    HolderStatus,
    SiwsChallenge,
    TokenBalance,
    Transaction,
    WalletConnection,
    WalletSyncCursor,
)
from apps.wallet.transactions import owner_token_accounts, token_movement

logger = logging.getLogger(__name__)

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
        user=user,
        address=address,
        verified=True,
        verified_at=now,
        is_primary=not has_primary,
        next_refresh_at=now,
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


# --- balances ---------------------------------------------------------------------------------------


def _holding(client: SolanaRpcClient, address: str, mint: str, *, use_cache: bool) -> TokenHolding:
    key = f"wallet:holding:{mint}:{address}"
    if use_cache:
        cached = cache.get(key)
        if isinstance(cached, dict):
            return TokenHolding(**cached)
    holding = client.get_token_holding(address, mint)
    cache.set(key, holding.__dict__, timeout=settings.SOLANA_RPC_BALANCE_CACHE_SECONDS)
    return holding


@dataclass
class BalanceCheck:
    balance: TokenBalance
    ok: bool  # the chain answered (or a fresh cached answer was used)
    changed: bool = False


def wallet_balance_refresh(
    *,
    wallet: WalletConnection,
    client: SolanaRpcClient | None = None,
    use_cache: bool = True,
    skip_reason: str = "",
) -> BalanceCheck:
    """Ask the chain for the wallet's TOKEN_MINT balance. On any RPC failure (or when told to skip
    the chain because it just failed for another wallet) the last good value is kept and marked stale;
    never an exception to the caller."""
    mint = settings.TOKEN_MINT
    error: str = skip_reason
    holding: TokenHolding | None = None
    if not skip_reason:
        own_client = client is None
        client = client or get_client()
        try:
            holding = _holding(client, wallet.address, mint, use_cache=use_cache)
        except RpcError as exc:
            error = str(exc)[:300]
            logger.warning("balance check for %s failed: %s", wallet.address, error)
        finally:
            if own_client:
                client.close()
    now = timezone.now()
    with transaction.atomic():
        balance, _ = TokenBalance.objects.select_for_update().get_or_create(
            wallet=wallet, mint=mint, defaults={"decimals": settings.TOKEN_DECIMALS}
        )
        if holding is None:
            balance.stale, balance.last_error, balance.last_error_at = True, error, now
            balance.save(update_fields=["stale", "last_error", "last_error_at"])
            return BalanceCheck(balance=balance, ok=False)
        if holding.slot is not None and balance.slot is not None and holding.slot < balance.slot:
            # An endpoint lagging behind the one we read last: an older view, not a change.
            logger.info("ignoring balance at slot %s older than %s for %s", holding.slot, balance.slot, wallet.address)
            return BalanceCheck(balance=balance, ok=True)
        decimals = holding.decimals if holding.decimals is not None else balance.decimals
        changed = balance.amount is None or Decimal(holding.amount) != balance.amount or decimals != balance.decimals
        balance.amount = Decimal(holding.amount)
        balance.decimals = decimals
        balance.token_accounts = holding.accounts
        balance.slot = holding.slot
        balance.checked_at = now
        balance.stale = False
        balance.last_error = ""
        balance.save()
        if changed:
            BalanceHistory.objects.create(
                wallet=wallet, mint=mint, amount=balance.amount, decimals=decimals, slot=holding.slot, recorded_at=now
            )
            broadcast(
                f"user:{wallet.user_id}",
                "wallet.balance_changed",
                {"address": wallet.address, "balance": str(balance.ui_amount), "balance_checked_at": now},
            )
    return BalanceCheck(balance=balance, ok=True, changed=changed)


def user_balances_refresh(
    *, user_id: int, client: SolanaRpcClient | None = None, use_cache: bool = True, sync_transactions: bool = False
) -> HolderStatus:
    """Refresh every verified wallet of the account, then its tier and its next refresh time."""
    own_client = client is None
    client = client or get_client()
    try:
        skip_reason = ""
        for wallet in WalletConnection.objects.filter(user_id=user_id, verified=True).order_by("id"):
            check = wallet_balance_refresh(wallet=wallet, client=client, use_cache=use_cache, skip_reason=skip_reason)
            if not check.ok:
                # The RPC just failed after its retries: don't make every other wallet wait for it too.
                skip_reason = skip_reason or "not asked: the RPC was unavailable for this account's previous wallet"
                continue
            if sync_transactions or check.changed or wallet.tx_synced_at is None:
                try:
                    wallet_transactions_sync(wallet=wallet, client=client)
                except RpcError as exc:
                    logger.warning("transaction sync for %s failed: %s", wallet.address, exc)
    finally:
        if own_client:
            client.close()
    status = holder_tier_recompute(user_id=user_id)
    schedule_next_refresh(user_id=user_id, status=status)
    return status


def request_refresh(*, user: User) -> HolderStatus:
    """`POST /api/wallet/refresh`: on demand, at most once per WALLET_REFRESH_COOLDOWN_SECONDS."""
    if settings.WALLET_REFRESH_COOLDOWN_SECONDS > 0:
        limits.hit("wallet_refresh", f"u{user.pk}")
    with get_client(interactive=True) as client:
        status = user_balances_refresh(user_id=user.pk, client=client, use_cache=False, sync_transactions=False)
    # History can take many calls: a worker fetches it, the user does not wait for it.
    from apps.wallet.tasks import sync_transactions

    for wallet_id in WalletConnection.objects.filter(user=user, verified=True).values_list("id", flat=True):
        transaction.on_commit(lambda wallet_id=wallet_id: _safe_delay(sync_transactions, wallet_id))
    return status


def schedule_next_refresh(*, user_id: int, status: HolderStatus | None = None) -> None:
    """More often near a tier threshold, in a grace period, or for active users; jittered to spread load."""
    status = status or HolderStatus.objects.filter(user_id=user_id).first()
    interval = settings.WALLET_REFRESH_INTERVAL_SECONDS
    if status is not None and (
        status.below_since is not None
        or tiers.near_threshold(status.total_amount, status.decimals, settings.WALLET_NEAR_THRESHOLD_PCT)
    ):
        interval = settings.WALLET_REFRESH_NEAR_SECONDS
    else:
        last_seen = Profile.objects.filter(user_id=user_id).values_list("last_seen_at", flat=True).first()
        if last_seen and last_seen > timezone.now() - timedelta(days=1):
            interval = settings.WALLET_REFRESH_ACTIVE_SECONDS
    if status is not None and status.below_since is not None:
        grace_end = status.below_since + timedelta(seconds=settings.HOLDER_TIER_GRACE_SECONDS)
        interval = min(interval, max(60, int((grace_end - timezone.now()).total_seconds()) + 5))
    seconds = interval * random.uniform(0.85, 1.15)
    WalletConnection.objects.filter(user_id=user_id, verified=True).update(
        next_refresh_at=timezone.now() + timedelta(seconds=seconds)
    )


def claim_due_wallet_users(*, limit: int) -> list[int]:
    """Claim up to `limit` accounts with a wallet due for a refresh (FOR UPDATE SKIP LOCKED, so two
    beat workers never take the same rows) and push their next time back while they are worked on."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WalletConnection.objects.select_for_update(skip_locked=True)
            .filter(verified=True)
            .filter(Q(next_refresh_at__lte=now) | Q(next_refresh_at__isnull=True))
            .order_by(F("next_refresh_at").asc(nulls_first=True), "id")
            .values_list("id", "user_id")[:limit]
        )
        WalletConnection.objects.filter(id__in=[i for i, _ in due]).update(
            next_refresh_at=now + timedelta(seconds=settings.WALLET_REFRESH_NEAR_SECONDS)
        )
    seen: list[int] = []
    for _, user_id in due:
        if user_id not in seen:
            seen.append(user_id)
    return seen


def grace_expired_user_ids() -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=settings.HOLDER_TIER_GRACE_SECONDS)
    return list(HolderStatus.objects.filter(below_since__lte=cutoff).values_list("user_id", flat=True)[:500])


def purge_expired_challenges() -> int:
    deleted, _ = SiwsChallenge.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted


# --- holder tiers -----------------------------------------------------------------------------------


@transaction.atomic
def holder_tier_recompute(*, user_id: int, immediate: bool = False, now: datetime | None = None) -> HolderStatus:
    """Tier from the total over verified wallets (last good values). Upgrades at once; a downgrade
    waits HOLDER_TIER_GRACE_SECONDS (unless `immediate`), and is dropped if the total recovers."""
    now = now or timezone.now()
    status, _ = HolderStatus.objects.select_for_update().get_or_create(user_id=user_id)
    rows = list(
        TokenBalance.objects.filter(
            wallet__user_id=user_id, wallet__verified=True, mint=settings.TOKEN_MINT, amount__isnull=False
        ).values_list("amount", "decimals")
    )
    decimals = rows[0][1] if rows else settings.TOKEN_DECIMALS
    total = sum((Decimal(a) * (Decimal(10) ** (decimals - d)) for a, d in rows), Decimal(0))
    status.total_amount, status.decimals, status.computed_at = total, decimals, now
    target = status.exempt_tier or tiers.tier_for(total, decimals)
    old = status.tier
    new = old
    if tiers.rank(target) >= tiers.rank(old) or immediate or status.exempt_tier:
        new = target
        status.below_since, status.pending_tier = None, ""
    elif status.below_since is None:
        status.below_since, status.pending_tier = now, target
    elif now - status.below_since >= timedelta(seconds=settings.HOLDER_TIER_GRACE_SECONDS):
        new = target
        status.below_since, status.pending_tier = None, ""
    else:
        status.pending_tier = target
    if new != old:
        status.tier, status.changed_at = new, now
    status.save()
    Profile.objects.filter(user_id=user_id).exclude(holder_tier=new).update(holder_tier=new)
    if new != old:
        emit(HolderTierChanged(user_id=user_id, old_tier=old, new_tier=new))
        broadcast(
            f"user:{user_id}",
            "holder_tier.changed",
            {"old_tier": old, "new_tier": new, "total": str(_scale(total, decimals))},
        )
    return status


def _scale(amount: Decimal, decimals: int) -> Decimal:
    from apps.wallet.models import scale

    return scale(amount, decimals)


@transaction.atomic
def holder_exemption_set(*, user_id: int, tier: str, reason: str = "") -> HolderStatus:
    """Admin exemption: the account keeps `tier` whatever it holds ("" lifts the exemption)."""
    if tier and tier not in tiers.names():
        raise ApplicationError(f"Unknown tier {tier!r}.", code="validation_error")
    status, _ = HolderStatus.objects.select_for_update().get_or_create(user_id=user_id)
    status.exempt_tier, status.exempt_reason = tier, reason[:200]
    status.save(update_fields=["exempt_tier", "exempt_reason"])
    return holder_tier_recompute(user_id=user_id, immediate=True)


# --- transactions -----------------------------------------------------------------------------------


def _block_time(value: object) -> datetime:
    if isinstance(value, (int, float)) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return timezone.now()


def _signatures_since(client: SolanaRpcClient, address: str, cursor: str) -> tuple[list[dict], bool]:
    """`address`'s signatures newer than `cursor`, newest first; and whether the list is whole (a
    busy address, an exchange or a bot, keeps only its newest WALLET_TX_MAX_PAGES pages here)."""
    found: list[dict] = []
    before = None
    page_size = settings.WALLET_TX_PAGE_SIZE
    for _page in range(max(1, settings.WALLET_TX_MAX_PAGES)):
        page = client.get_signatures(address, limit=page_size, before=before, until=cursor or None)
        found.extend(page)
        if len(page) < page_size:
            return found, True
        before = page[-1]["signature"]
    logger.info("%s: more than %d signatures since the last sync; older ones skipped", address, len(found))
    return found, False


def wallet_transactions_sync(*, wallet: WalletConnection, client: SolanaRpcClient | None = None) -> int:
    """Store this token's movements in the wallet since the last sync. Returns how many rows were added.

    A transfer into an existing token account lists the token account, not the owner, among its
    keys: so the signatures of every token account the wallet holds for the mint (Token and
    Token-2022) are read, plus the owner's own (they carry account creation and closing), plus any
    token account of the owner's found in those transactions (a closed one). They are merged by slot
    and signature, each transaction is asked for once, failed ones are skipped (they move nothing),
    and each address keeps its own cursor, advanced only when everything after it was read."""
    own_client = client is None
    client = client or get_client()
    mint = settings.TOKEN_MINT
    owner = wallet.address
    cursors = {c.address: c for c in WalletSyncCursor.objects.filter(wallet=wallet)}
    rows: list[Transaction] = []
    newest: dict[str, dict] = {}
    roles: dict[str, str] = {}
    complete, stopped = True, False
    try:
        roles[owner] = "owner"
        for account in client.get_token_accounts(owner, mint):
            roles.setdefault(account.pubkey, account.program)
        queue = list(roles)
        examined: set[str] = set()
        while queue:
            found: dict[str, dict] = {}
            for address in queue:
                cursor = cursors[address].signature if address in cursors else ""
                page, whole = _signatures_since(client, address, cursor)
                complete = complete and whole
                if page:
                    newest[address] = page[0]
                for info in page:
                    found.setdefault(info["signature"], info)
            queue = []
            # Oldest first by (slot, signature): one order whatever address listed it.
            ordered = sorted(
                (i for sig, i in found.items() if sig not in examined),
                key=lambda i: (i.get("slot") or 0, i["signature"]),
            )
            known = set(
                Transaction.objects.filter(wallet=wallet, signature__in=[i["signature"] for i in ordered]).values_list(
                    "signature", flat=True
                )
            )
            for info in ordered:
                sig = info["signature"]
                examined.add(sig)
                if sig in known or info.get("err") is not None:
                    continue  # stored already, or failed: a failed transaction moves nothing
                try:
                    tx = client.get_transaction(sig)
                except RpcError as exc:
                    # Keep what was read; the cursors stay put, so the rest is asked for next time
                    # (and what is stored now is never asked for again).
                    logger.warning("transaction sync for %s stopped at %s: %s", owner, sig, exc)
                    complete, stopped = False, True
                    break
                if tx is None:
                    continue  # not available on this node (pruned or not yet): not a movement we can read
                try:
                    movement = token_movement(tx, owner=owner, mint=mint, default_decimals=settings.TOKEN_DECIMALS)
                    accounts = owner_token_accounts(tx, owner=owner, mint=mint)
                except (KeyError, TypeError, ValueError, IndexError) as exc:
                    logger.warning("skipping malformed transaction %s: %s", sig, exc)
                    continue
                for account in accounts - set(roles):  # a token account no longer listed (closed)
                    roles[account] = "closed"
                    queue.append(account)
                if movement is None:
                    continue
                rows.append(
                    Transaction(
                        wallet=wallet,
                        user_id=wallet.user_id,
                        signature=sig,
                        slot=int(tx.get("slot") or info.get("slot") or 0),
                        block_time=_block_time(tx.get("blockTime") or info.get("blockTime")),
                        kind=movement.kind,
                        mint=mint,
                        amount=Decimal(movement.amount),
                        decimals=movement.decimals,
                        counterparty=movement.counterparty,
                        token_accounts=",".join(movement.token_accounts)[:200],
                        fee_lamports=movement.fee_lamports,
                    )
                )
            if stopped:
                break
    finally:
        if own_client:
            client.close()
    now = timezone.now()
    with transaction.atomic():
        before = Transaction.objects.filter(wallet=wallet).count()
        Transaction.objects.bulk_create(rows, ignore_conflicts=True)
        added = Transaction.objects.filter(wallet=wallet).count() - before
        if complete:
            for address, role in roles.items():
                values = {"role": role, "synced_at": now}
                if address in newest:
                    values |= {"signature": newest[address]["signature"], "slot": newest[address].get("slot")}
                WalletSyncCursor.objects.update_or_create(wallet=wallet, address=address, defaults=values)
        WalletConnection.objects.filter(pk=wallet.pk).update(tx_synced_at=now)
        wallet.tx_synced_at = now
    return added
