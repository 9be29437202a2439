"""Thin views: validate shape, call one service or selector, shape the answer."""

from __future__ import annotations

import inspect

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.tokens import issue_token_pair
from apps.core.exceptions import ValidationFailed
from apps.core.filters import FilteredView
from apps.core.pagination import KeysetPagination
from apps.core.throttling import LimitThrottle
from apps.wallet import selectors, services, siws
from apps.wallet.api import serializers as s
from apps.wallet.api.filters import TransactionFilter
from apps.wallet.models import ChallengePurpose

TAGS = ["wallet"]
SIWS_REFUSALS = (
    "Refusals are 400 with a specific `code`: `invalid_address`, `siws_signature_malformed`, "
    "`siws_malformed_message`, `siws_address_mismatch`, `siws_domain_mismatch`, `siws_uri_mismatch`, "
    "`siws_chain_mismatch`, `siws_version_unsupported`, `siws_nonce_unknown`, `siws_nonce_used`, `siws_expired`, "
    "`siws_not_yet_valid`, `siws_issued_at_invalid`, `siws_field_mismatch`, `siws_signature_invalid`; "
    "a body carrying a private key or seed phrase: `secret_material_refused`."
)


class SiwsThrottle(LimitThrottle):
    """Challenges and sign-ins per client (user id when signed in, else IP): SIWS_CHALLENGE_RATE."""

    limit_name = "siws"


class WalletView(APIView):
    """Every wallet endpoint refuses a body that names or holds a private key or seed phrase,
    before anything else reads it."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            siws.refuse_secret_material(request.data)


def _challenge_body(challenge) -> dict:
    return {
        "message": challenge.message,
        "nonce": challenge.nonce,
        "expires_at": challenge.expires_at,
        "issued_at": challenge.issued_at,
        "address": challenge.address,
    }


class WalletChallengeView(WalletView):
    permission_classes = [AllowAny]
    throttle_classes = [SiwsThrottle]

    @extend_schema(
        summary="Sign In With Solana challenge (login)",
        request=s.AddressInput,
        responses={201: s.ChallengeSerializer},
        tags=["auth"],
        auth=[],
    )
    def post(self, request):
        data = s.AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = services.challenge_create(address=data.validated_data["address"], purpose=ChallengePurpose.LOGIN)
        return Response(s.ChallengeSerializer(_challenge_body(challenge)).data, status=201)


class WalletLoginView(WalletView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [SiwsThrottle]

    @extend_schema(
        summary="Sign in with a wallet (creates the account on first sight)",
        description="The signed SIWS message from /auth/wallet/challenge. " + SIWS_REFUSALS,
        request=s.SignedMessageInput,
        responses={200: s.WalletLoginSerializer},
        tags=["auth"],
        auth=[],
    )
    def post(self, request):
        data = s.SignedMessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.wallet_login(**data.validated_data)
        tokens = _issue_tokens(result.user, request)
        try:  # accounts' shared answer (cookie mode: refresh token in an httpOnly cookie), when present
            from apps.accounts.api.views import auth_response
        except ImportError:
            auth_response = None
        if auth_response is not None:
            response = auth_response(request, result.user, tokens, status=200)
            response.data["created"] = result.created
            return response
        body = {
            "access": tokens["access"],
            "refresh": tokens["refresh"],
            "user": s.OwnUserSerializer(result.user).data,
            "created": result.created,
        }
        return Response(body, status=200)


def _issue_tokens(user, request) -> dict[str, str]:
    # `issue_token_pair(user, request=request)` is the stable signature; where accounts labels the
    # session by how it was opened, say it was a wallet.
    if "method" in inspect.signature(issue_token_pair).parameters:
        return issue_token_pair(user, request=request, method="wallet")
    return issue_token_pair(user, request=request)


class WalletConnectView(WalletView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [SiwsThrottle]

    @extend_schema(
        summary="Sign In With Solana challenge (link a wallet to this account)",
        request=s.AddressInput,
        responses={201: s.ChallengeSerializer},
        tags=TAGS,
    )
    def post(self, request):
        data = s.AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = services.challenge_create(
            address=data.validated_data["address"], purpose=ChallengePurpose.LINK, user=request.user
        )
        return Response(s.ChallengeSerializer(_challenge_body(challenge)).data, status=201)


def _wallet_data(request, wallet) -> dict:
    status = selectors.holder_status(user=request.user)
    return s.WalletSerializer(wallet, context={"holder_tier": status.tier}).data


class WalletVerifyView(WalletView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [SiwsThrottle]

    @extend_schema(
        summary="Link a wallet: the signed challenge from /wallet/connect",
        description="409 `wallet_already_linked` if another account has it, `wallet_limit` past the maximum. "
        + SIWS_REFUSALS,
        request=s.SignedMessageInput,
        responses={201: s.WalletSerializer, 200: s.WalletSerializer},
        tags=TAGS,
    )
    def post(self, request):
        data = s.SignedMessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        wallet, created = services.wallet_link(user=request.user, **data.validated_data)
        return Response(_wallet_data(request, wallet), status=201 if created else 200)


class WalletListView(WalletView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="The caller's linked wallets", responses=s.WalletSerializer(many=True), tags=TAGS)
    def get(self, request):
        paginator = KeysetPagination()
        rows = paginator.paginate_queryset(
            selectors.wallet_list(user=request.user), request, ordering=("created_at", "id")
        )
        status = selectors.holder_status(user=request.user)
        data = s.WalletSerializer(rows, many=True, context={"holder_tier": status.tier}).data
        return paginator.get_paginated_response(data)


class WalletDetailView(WalletView):
    partial_patch = False  # PATCH validates the whole body, like PUT (apps.core.schema)
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Unlink a wallet (not the last way into the account)", responses={204: None}, tags=TAGS)
    def delete(self, request, address: str):
        services.wallet_unlink(user=request.user, address=address)
        return Response(status=204)

    @extend_schema(
        summary="Make this the primary wallet", request=s.PrimaryInput, responses=s.WalletSerializer, tags=TAGS
    )
    def patch(self, request, address: str):
        data = s.PrimaryInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["is_primary"]:
            raise ValidationFailed(
                "Make another wallet primary instead.",
                details={"is_primary": ["Only true is accepted: make another wallet primary instead."]},
            )
        wallet = services.wallet_set_primary(user=request.user, address=address)
        return Response(_wallet_data(request, wallet))


class WalletBalanceView(WalletView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Balance per wallet and in total, with the holder tier", responses=s.BalanceSerializer, tags=TAGS
    )
    def get(self, request):
        return Response(s.BalanceSerializer(selectors.balance_summary(user=request.user)).data)


class WalletRefreshView(WalletView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Check balances on the chain now (rate-limited)", request=None, responses=s.BalanceSerializer, tags=TAGS
    )
    def post(self, request):
        services.request_refresh(user=request.user)
        return Response(s.BalanceSerializer(selectors.balance_summary(user=request.user)).data)


class TransactionListView(FilteredView, WalletView):
    permission_classes = [IsAuthenticated]
    filterset_class = TransactionFilter

    @extend_schema(
        summary="Token transactions of the caller's wallets, newest first",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
        responses=s.TransactionSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request):
        qs = self.filter_queryset(selectors.transaction_list(user=request.user))
        paginator = KeysetPagination()
        rows = paginator.paginate_queryset(qs, request, ordering=("-block_time", "-id"))
        return paginator.get_paginated_response(s.TransactionSerializer(rows, many=True).data)


class TransactionSummaryView(WalletView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="First acquired, totals in and out, 30-day net, holding duration",
        responses=s.TransactionSummarySerializer,
        tags=TAGS,
    )
    def get(self, request):
        return Response(s.TransactionSummarySerializer(selectors.transaction_summary(user=request.user)).data)
