"""Accounts endpoints, thin views over services and selectors: `auth` (register, login, tokens,
sessions, OAuth exchange), `credentials` (email verification, passwords, email change, identities),
`users` (profiles, settings, avatar, roles, suspensions, audit); `cookies` issues the token pair."""

from .auth import (
    CsrfView,
    LoginView,
    LogoutView,
    OAuthLinkTokenView,
    OAuthSessionExchangeView,
    RefreshView,
    RegisterView,
    SessionDetailView,
    SessionListView,
)
from .cookies import CSRF_HEADER, OK, auth_response, cookie_mode, presented_refresh
from .credentials import (
    EmailChangeView,
    IdentityDetailView,
    IdentityListView,
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetRequestView,
    ResendVerificationView,
    VerifyEmailView,
)
from .users import AuditView, AvatarView, RoleView, SuspendView, UserDetailView, UserSettingsView

__all__ = [
    "AuditView",
    "AvatarView",
    "CSRF_HEADER",
    "CsrfView",
    "EmailChangeView",
    "IdentityDetailView",
    "IdentityListView",
    "LoginView",
    "LogoutView",
    "OAuthLinkTokenView",
    "OAuthSessionExchangeView",
    "OK",
    "PasswordChangeView",
    "PasswordResetConfirmView",
    "PasswordResetRequestView",
    "RefreshView",
    "RegisterView",
    "ResendVerificationView",
    "RoleView",
    "SessionDetailView",
    "SessionListView",
    "SuspendView",
    "UserDetailView",
    "UserSettingsView",
    "VerifyEmailView",
    "auth_response",
    "cookie_mode",
    "presented_refresh",
]
