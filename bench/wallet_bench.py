"""Wallet benchmarks: SIWS parse+verify throughput, and a beat refresh batch against a replayed RPC.

    DATABASE_URL=postgres://.../sk_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://.../sk_bench .venv/bin/python bench/wallet_bench.py [--wallets 500]

The batch part writes demo rows into that database (users named bench_wallet_*) and removes them after.
RPC answers are replayed in-process through the Solana client's HTTP transport (no network), so the figure is our own overhead
per wallet: HTTP client, parsing, row locks, history, tier recompute, scheduling.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.test")


def bench_siws(n: int) -> None:
    from solders.keypair import Keypair

    from apps.wallet import siws

    kp = Keypair()
    address = str(kp.pubkey())
    now = datetime.now(UTC)
    messages = []
    for i in range(n):
        text = siws.build_message(
            domain="successkid.test",
            address=address,
            statement="Sign in to the Success Kid community.",
            uri="https://successkid.test",
            chain_id="mainnet",
            nonce=f"bench{i:019d}",
            issued_at=now,
            expiration_time=now + timedelta(minutes=5),
        )
        messages.append((text, bytes(kp.sign_message(text.encode()))))
    start = time.perf_counter()
    for text, sig in messages:
        siws.parse_message(text)
        assert siws.verify_signature(address=address, message=text.encode(), signature=sig)
    elapsed = time.perf_counter() - start
    print(f"siws parse+verify: {n} messages in {elapsed:.3f}s = {n / elapsed:,.0f}/s ({elapsed / n * 1e6:.0f} µs each)")


def bench_batch(wallets: int) -> None:
    import django

    django.setup()
    import httpx2
    from django.conf import settings
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.wallet.models import WalletConnection
    from apps.wallet.tasks import refresh_due_batch

    settings.SOLANA_RPC_URLS = ["http://rpc-1.bench"]
    settings.WALLET_REFRESH_PAUSE_SECONDS = 0
    from solders.keypair import Keypair

    User.objects.filter(username__startswith="bench_wallet_").delete()
    users = User.objects.bulk_create([User(username=f"bench_wallet_{i}") for i in range(wallets)])
    now = timezone.now()
    WalletConnection.objects.bulk_create(
        [
            WalletConnection(
                user=u, address=str(Keypair().pubkey()), verified=True, is_primary=True, next_refresh_at=now
            )
            for u in users
        ]
    )

    def answer(request: httpx2.Request) -> httpx2.Response:
        import json

        body = json.loads(request.content)
        if body["method"] == "getSignaturesForAddress":
            return httpx2.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": []})
        owner = body["params"][0]
        account = {
            "pubkey": owner,
            "account": {
                "owner": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
                "lamports": 2039280,
                "executable": False,
                "rentEpoch": 18446744073709551615,
                "space": 165,
                "data": {
                    "space": 165,
                    "program": "spl-token",
                    "parsed": {
                        "type": "account",
                        "info": {
                            "mint": settings.TOKEN_MINT,
                            "owner": owner,
                            "tokenAmount": {"amount": "1500000000000", "decimals": 6},
                        },
                    },
                },
            },
        }
        result = {"context": {"slot": 1}, "value": [account]}
        return httpx2.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})

    try:
        from apps.wallet.clients import solana_rpc

        solana_rpc.default_transport = lambda: httpx2.MockTransport(answer)
        start = time.perf_counter()
        done = 0
        while True:
            result = refresh_due_batch(limit=100)
            if not result["claimed"]:
                break
            done += result["refreshed"]
        elapsed = time.perf_counter() - start
        print(
            f"beat refresh: {done} accounts in {elapsed:.2f}s = {done / elapsed:,.0f} accounts/s "
            f"({elapsed / max(done, 1) * 1000:.1f} ms each, RPC replayed in-process)"
        )
    finally:
        User.objects.filter(username__startswith="bench_wallet_").delete()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--wallets", type=int, default=500)
    args = parser.parse_args()
    bench_siws(args.messages)
    bench_batch(args.wallets)
