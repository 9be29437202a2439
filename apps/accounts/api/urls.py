from django.urls import path, re_path

from apps.accounts.api import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/csrf", views.CsrfView.as_view(), name="auth-csrf"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/sessions", views.SessionListView.as_view(), name="auth-sessions"),
    path("auth/sessions/<str:session_id>", views.SessionDetailView.as_view(), name="auth-session"),
    path("auth/verify-email", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    path("auth/verify-email/resend", views.ResendVerificationView.as_view(), name="auth-verify-resend"),
    path("auth/password/reset", views.PasswordResetRequestView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm", views.PasswordResetConfirmView.as_view(), name="auth-password-confirm"),
    path("auth/password/change", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/email/change", views.EmailChangeView.as_view(), name="auth-email-change"),
    path("auth/identities", views.IdentityListView.as_view(), name="auth-identities"),
    path("auth/identities/<str:kind>/<str:uid>", views.IdentityDetailView.as_view(), name="auth-identity"),
    path("auth/oauth/session", views.OAuthSessionExchangeView.as_view(), name="auth-oauth-session"),
    path("auth/oauth/link-token", views.OAuthLinkTokenView.as_view(), name="auth-oauth-link-token"),
    re_path(r"^users/(?P<user_id>me|\d+)$", views.UserDetailView.as_view(), name="user-detail"),
    re_path(r"^users/(?P<user_id>me|\d+)/settings$", views.UserSettingsView.as_view(), name="user-settings"),
    re_path(r"^users/(?P<user_id>me|\d+)/avatar$", views.AvatarView.as_view(), name="user-avatar"),
    re_path(r"^users/(?P<user_id>\d+)/role$", views.RoleView.as_view(), name="user-role"),
    re_path(r"^users/(?P<user_id>\d+)/suspend$", views.SuspendView.as_view(), name="user-suspend"),
    re_path(r"^users/(?P<user_id>\d+)/audit$", views.AuditView.as_view(), name="user-audit"),
]
