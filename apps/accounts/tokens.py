"""Issuing the platform's own JWT pair. Every way in (password, OAuth, wallet) ends here:
`issue_token_pair(user, request=request)`; keep this signature stable."""

from __future__ import annotations

from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User


def issue_token_pair(user: User, *, request=None) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    refresh["ver"] = user.token_version
    access = refresh.access_token
    access["ver"] = user.token_version
    return {"access": str(access), "refresh": str(refresh)}
