"""The ways into an account, from every app that provides one.

Accounts provides the password and OAuth providers; the wallet app registers verified wallets.
"Never remove the last way in" asks `ways_in(user)` before unlinking anything.

    identity.register_source(wallet_identities)   # in WalletConfig.ready()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    kind: str  # "password" | "google" | "github" | "x" | "wallet" ...
    uid: str  # stable id within its kind (provider uid, wallet address, email)
    label: str  # what to show the user
    verified: bool = True


IdentitySource = Callable[[object], list[Identity]]
_sources: list[IdentitySource] = []


def register_source(source: IdentitySource) -> None:
    if source not in _sources:
        _sources.append(source)


def identities_of(user) -> list[Identity]:
    found: list[Identity] = []
    for source in _sources:
        found.extend(source(user))
    return found


def ways_in(user) -> int:
    return sum(1 for i in identities_of(user) if i.verified)
