from django.urls import path, re_path

from apps.wallet.api import views

urlpatterns = [
    path("auth/wallet/challenge", views.WalletChallengeView.as_view(), name="wallet-challenge"),
    path("auth/wallet", views.WalletLoginView.as_view(), name="wallet-login"),
    path("wallet", views.WalletListView.as_view(), name="wallet-list"),
    path("wallet/connect", views.WalletConnectView.as_view(), name="wallet-connect"),
    path("wallet/verify", views.WalletVerifyView.as_view(), name="wallet-verify"),
    path("wallet/balance", views.WalletBalanceView.as_view(), name="wallet-balance"),
    path("wallet/refresh", views.WalletRefreshView.as_view(), name="wallet-refresh"),
    path("wallet/transactions", views.TransactionListView.as_view(), name="wallet-transactions"),
    path("wallet/transactions/summary", views.TransactionSummaryView.as_view(), name="wallet-transactions-summary"),
    # A Solana address is 32-44 base58 characters: "transactions" and the like are never one.
    re_path(
        r"^wallet/(?P<address>[1-9A-HJ-NP-Za-km-z]{32,44})$", views.WalletDetailView.as_view(), name="wallet-detail"
    ),
]
