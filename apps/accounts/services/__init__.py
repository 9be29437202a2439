"""Every write of the accounts area, one module per seam: `rules` (input rules shared by the others),
`registration` (sign-up, email verification), `login` (login, logout, sessions, standing checks),
`credentials` (password and email changes, resets, unlinking a way in), `profiles` (profile, settings,
avatar) and `roles` (roles, suspensions, the audit trail). Callers import from `apps.accounts.services`."""

from .credentials import (
    RECENT_LOGIN,
    email_change,
    identity_unlink,
    password_change,
    password_reset_confirm,
    password_reset_request,
)
from .login import (
    SESSION_RETENTION,
    authenticate_login,
    logout,
    password_matches,
    profile_seen,
    require_good_standing,
    session_revoke,
    sessions_purge,
)
from .profiles import avatar_set, profile_update, settings_update
from .registration import (
    resend_verification,
    send_verification_email,
    user_register,
    verify_email_code,
    verify_email_key,
)
from .roles import role_assign, user_suspend, user_unsuspend
from .rules import PERMANENT, RESERVED_USERNAMES, AccountSuspendedError, clean_username, email_taken, normalize_email

__all__ = [
    "AccountSuspendedError",
    "PERMANENT",
    "RECENT_LOGIN",
    "RESERVED_USERNAMES",
    "SESSION_RETENTION",
    "authenticate_login",
    "avatar_set",
    "clean_username",
    "email_change",
    "email_taken",
    "identity_unlink",
    "logout",
    "normalize_email",
    "password_change",
    "password_matches",
    "password_reset_confirm",
    "password_reset_request",
    "profile_seen",
    "profile_update",
    "require_good_standing",
    "resend_verification",
    "role_assign",
    "send_verification_email",
    "session_revoke",
    "sessions_purge",
    "settings_update",
    "user_register",
    "user_suspend",
    "user_unsuspend",
    "verify_email_code",
    "verify_email_key",
]
