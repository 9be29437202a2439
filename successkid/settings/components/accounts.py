"""Accounts: sign-up, sign-in (password, OAuth through django-allauth headless), JWT sessions,
abuse limits. Every value can be set from the environment."""

from successkid.settings.env import env

# --- Where links in emails point (the SPA) ---------------------------------------------------
FRONTEND_URL = env("FRONTEND_URL", default="http://localhost:3000")
EMAIL_VERIFY_URL = env("EMAIL_VERIFY_URL", default=FRONTEND_URL + "/verify-email?key={key}")
PASSWORD_RESET_URL = env("PASSWORD_RESET_URL", default=FRONTEND_URL + "/reset-password?uid={uid}&token={token}")
EMAIL_CODE_TTL_SECONDS = env.int("EMAIL_CODE_TTL_SECONDS", default=3600)

# --- Cookie mode (X-Auth-Mode: cookie) -------------------------------------------------------
# The refresh token lives in an httpOnly cookie on the API's host; the SPA gets the CSRF value in
# the body (`csrf_token`) and the exposed `X-CSRFToken` header. The defaults work for an SPA on
# another port of localhost and for an app./api. pair of one site (README "Browser clients").
AUTH_REFRESH_COOKIE = env("AUTH_REFRESH_COOKIE", default="sk_refresh")
AUTH_CSRF_COOKIE = env("AUTH_CSRF_COOKIE", default="sk_csrf")
AUTH_COOKIE_PATH = env("AUTH_COOKIE_PATH", default="/api/auth/")
# Unset: a host-only cookie (sent to the API host only), right for app./api. of one site.
AUTH_COOKIE_DOMAIN = env("AUTH_COOKIE_DOMAIN", default="") or None
# Strict is enough for same-site SPAs (subdomains, localhost ports); "None" (with Secure) only when
# the SPA is on another site, where browsers that block third-party cookies still refuse it.
AUTH_COOKIE_SAMESITE = env("AUTH_COOKIE_SAMESITE", default="Strict")
# Browsers accept Secure cookies from http://localhost, so this stays on in development too.
AUTH_COOKIE_SECURE = env.bool("AUTH_COOKIE_SECURE", default=True)
# A refresh token rotated away less than this long ago is answered with the current one instead of
# ending the session (two tabs refreshing together, a lost response). 0 turns the window off.
AUTH_REFRESH_GRACE_SECONDS = env.int("AUTH_REFRESH_GRACE_SECONDS", default=20)

# --- Abuse limits: name -> (requests, window seconds) ----------------------------------------
AUTH_RATE_LIMITS = {
    "login_ip": (env.int("RL_LOGIN_IP", default=30), 300),  # failed logins per client IP
    "login_account": (env.int("RL_LOGIN_ACCOUNT", default=5), 900),  # failed logins per account
    "register_ip": (env.int("RL_REGISTER_IP", default=5), 3600),
    "reset_address": (env.int("RL_RESET_ADDRESS", default=3), 3600),  # reset requests per email
    "reset_ip": (env.int("RL_RESET_IP", default=20), 3600),
    "verify_code": (env.int("RL_VERIFY_CODE", default=5), 900),  # wrong email codes per user
    "verify_send": (env.int("RL_VERIFY_SEND", default=3), 3600),
    "refresh_ip": (env.int("RL_REFRESH_IP", default=120), 60),
}

# --- Avatars: uploads through apps.media like every image, with a smaller byte limit ---------
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=2 * 1024 * 1024)

# --- django-allauth (headless only: no server-rendered pages) -------------------------------
HEADLESS_ONLY = True
HEADLESS_CLIENTS = ("browser", "app")
HEADLESS_TOKEN_STRATEGY = "apps.accounts.oauth.JWTPairTokenStrategy"
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": FRONTEND_URL + "/verify-email?key={key}",
    "account_reset_password_from_key": FRONTEND_URL + "/reset-password?key={key}",
    "account_signup": FRONTEND_URL + "/signup",
    "socialaccount_login_error": FRONTEND_URL + "/login/error",
}
ACCOUNT_ADAPTER = "apps.accounts.oauth.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "apps.accounts.oauth.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USERNAME_MIN_LENGTH = 3
# Our own gate (apps.accounts.access) decides what an unverified account may do; allauth must
# not block an OAuth sign-in on it.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = False  # an X account has no email; the user can add one later
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never join accounts on an email claim alone
# Nothing we do calls a provider after sign-in, so its tokens are not kept; an operator who needs
# them turns this on, and they are stored encrypted (apps.core.crypto.encrypt_at_rest).
SOCIALACCOUNT_STORE_TOKENS = env.bool("SOCIALACCOUNT_STORE_TOKENS", default=False)
SOCIALACCOUNT_REQUESTS_TIMEOUT = 5
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "APPS": [
            {
                "client_id": env("GOOGLE_CLIENT_ID", default="google-client-id"),
                "secret": env("GOOGLE_CLIENT_SECRET", default=""),
            }
        ],
        "SCOPE": ["profile", "email"],
        "OAUTH_PKCE_ENABLED": True,
    },
    "github": {
        "APPS": [
            {
                "client_id": env("GITHUB_CLIENT_ID", default="github-client-id"),
                "secret": env("GITHUB_CLIENT_SECRET", default=""),
            }
        ],
        "SCOPE": ["read:user", "user:email"],
    },
    "twitter_oauth2": {
        "APPS": [
            {
                "client_id": env("X_CLIENT_ID", default="x-client-id"),
                "secret": env("X_CLIENT_SECRET", default=""),
            }
        ],
        "OAUTH_PKCE_ENABLED": True,
    },
}
EXTRA_INSTALLED_APPS = [
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.twitter_oauth2",
]
SOCIALACCOUNT_QUERY_EMAIL = True

BEAT_SCHEDULE = {
    "accounts.purge_sessions": {"task": "accounts.purge_sessions", "schedule": 6 * 3600},
}

# Queues by kind of work (see CELERY_TASK_ROUTES in base.py).
TASK_ROUTES = {"accounts.*": {"queue": "batch"}}
