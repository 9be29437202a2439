"""Demo wallets for `manage.py seed --demo`: some demo users hold the token, a few are whales.
Addresses are derived from the username (stable across runs); nothing asks the chain."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from solders.keypair import Keypair

from apps.accounts.models import Profile, User
from apps.core.seeding import DemoContext
from apps.wallet import tiers
from apps.wallet.models import BalanceHistory, HolderStatus, TokenBalance, WalletConnection


def demo_address(username: str) -> str:
    return str(Keypair.from_seed(hashlib.sha256(f"successkid-demo:{username}".encode()).digest()).pubkey())


def make_demo_wallets(ctx: DemoContext) -> None:
    decimals = settings.TOKEN_DECIMALS
    now = timezone.now()
    users = list(
        User.objects.filter(username__startswith="demo_", wallets__isnull=True)
        .order_by("id")
        .values_list("id", "username")
    )
    made = 0
    with transaction.atomic():
        for user_id, username in ctx.progress(users, desc="demo wallets"):
            rng = random.Random(f"wallet:{username}")  # per user, so a second run decides the same
            if rng.random() > 0.35:
                continue
            # Log-uniform holdings from 1 token to a few hundred million: most small, some whales.
            whole = int(10 ** rng.uniform(0, 8.6))
            amount = Decimal(whole) * (Decimal(10) ** decimals)
            wallet = WalletConnection.objects.create(
                user_id=user_id,
                address=demo_address(username),
                verified=True,
                verified_at=now,
                is_primary=True,
                # Demo addresses hold nothing on the real chain: keep beat from asking for a month.
                next_refresh_at=now + timedelta(days=30),
                tx_synced_at=now,
            )
            TokenBalance.objects.create(
                wallet=wallet,
                mint=settings.TOKEN_MINT,
                amount=amount,
                decimals=decimals,
                token_accounts=1,
                checked_at=now,
            )
            BalanceHistory.objects.create(
                wallet=wallet, mint=settings.TOKEN_MINT, amount=amount, decimals=decimals, recorded_at=now
            )
            tier = tiers.tier_for(amount, decimals)
            HolderStatus.objects.update_or_create(
                user_id=user_id,
                defaults={
                    "tier": tier,
                    "total_amount": amount,
                    "decimals": decimals,
                    "computed_at": now,
                    "changed_at": now,
                },
            )
            Profile.objects.filter(user_id=user_id).update(holder_tier=tier)
            made += 1
    ctx.stdout.write(f"demo wallets: {made} new")
