"""OAuth (Google, GitHub, X) through django-allauth's headless API, ending in our JWT pair.

- App clients (native): `POST /_allauth/app/v1/auth/provider/token` with the provider's token;
  allauth verifies it with the provider and answers with `meta.access_token` and
  `meta.refresh_token`: our own pair, minted by `JWTPairTokenStrategy` through `issue_token_pair`.
- Browser clients (SPA): `POST /_allauth/browser/v1/auth/provider/redirect` (form post) sends the
  browser to the provider and back to allauth's callback, which signs the browser into an allauth
  session and redirects to the SPA's `callback_url`; the SPA then calls
  `POST /api/auth/oauth/session` to trade that session for our JWT pair (the session ends).
- Linking: a signed-in user asks `POST /api/auth/oauth/link-token` for a short-lived allauth session
  token and runs the same flows with `process=connect`.

Provider data is never trusted blindly: usernames are rebuilt to our rule, names are trimmed and
stripped of control characters, avatar URLs must be https, and an email address is only ever taken
as verified when the provider says so and no other account uses it.
"""

from __future__ import annotations

import re
import secrets
from importlib import import_module
from urllib.parse import urlparse

from allauth.account.adapter import DefaultAccountAdapter
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

from apps.accounts.events import UserRegistered
from apps.accounts.models import Profile, User
from apps.accounts.sources import PROVIDER_KINDS
from apps.core.events import emit
from apps.core.exceptions import ApplicationError, NotAuthenticated

LINK_TOKEN_TTL = 600


def _clean_text(value, limit: int) -> str:
    text = "".join(c for c in str(value or "") if c.isprintable()).strip()
    return text[:limit]


def username_candidate(text: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "", (text or "").split("@")[0].replace(".", "_").replace("-", "_"))
    base = base.lstrip("_")[:24]
    return base


def unique_username(candidates: list[str | None]) -> str:
    from apps.accounts.services import RESERVED_USERNAMES

    for raw in [*candidates, "user"]:
        base = username_candidate(raw or "")
        if len(base) < 3:
            continue
        if base.lower() not in RESERVED_USERNAMES and not User.objects.filter(username__iexact=base).exists():
            return base
        for _ in range(20):
            candidate = f"{base[:24]}_{secrets.randbelow(10**5)}"
            if not User.objects.filter(username__iexact=candidate).exists():
                return candidate
    return f"user_{secrets.token_hex(6)}"


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class AccountAdapter(DefaultAccountAdapter):
    def is_safe_url(self, url) -> bool:
        """The SPA lives on its own origin: FRONTEND_URL and the CORS origins may be returned to."""
        from django.conf import settings

        if url and _origin(url) in {_origin(settings.FRONTEND_URL), *map(_origin, settings.CORS_ALLOWED_ORIGINS)}:
            return True
        return super().is_safe_url(url)

    def generate_unique_username(self, txts, regex=None) -> str:
        return unique_username(list(txts))

    def send_mail(self, template_prefix, email, context) -> None:
        # Our own emails (verification, reset) are sent by apps.accounts.services; allauth's
        # account mails are not part of the headless OAuth flows we use.
        return None


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        # Called just before allauth decides between auto sign-up and a pending sign-up form:
        # drop addresses other accounts hold, so a taken address never blocks (or joins) anything.
        _drop_taken_addresses(sociallogin)
        return True

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.first_name = _clean_text(user.first_name, 150)
        user.last_name = _clean_text(user.last_name, 150)
        user.username = ""  # rebuilt to our rule in save_user
        return user

    def save_user(self, request, sociallogin, form=None):
        user = sociallogin.user
        extra = sociallogin.account.extra_data or {}
        user.username = unique_username(
            [extra.get("login"), extra.get("username"), extra.get("screen_name"), extra.get("name"), user.email]
        )
        user = super().save_user(request, sociallogin, form)
        verified = any(
            a.verified and a.email.lower() == (user.email or "").lower() for a in sociallogin.email_addresses
        )
        if verified and not user.email_verified:
            User.objects.filter(pk=user.pk).update(email_verified=True)
            user.email_verified = True
        name = _clean_text(extra.get("name") or f"{user.first_name} {user.last_name}", 50)
        avatar = sociallogin.account.get_avatar_url() or ""
        if urlparse(str(avatar)).scheme != "https" or len(str(avatar)) > 500:
            avatar = ""
        Profile.objects.filter(user=user).update(display_name=name, avatar_url=avatar)
        emit(UserRegistered(user_id=user.pk, method=PROVIDER_KINDS.get(sociallogin.account.provider, "oauth")))
        return user


def _drop_taken_addresses(sociallogin) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from apps.accounts.services import email_taken

    def valid(value: str) -> bool:
        try:
            validate_email(value)
        except ValidationError:
            return False  # a provider sent garbage: skip that address
        return True

    kept = [a for a in sociallogin.email_addresses if valid(a.email) and not email_taken(a.email)]
    sociallogin.email_addresses = kept
    user = sociallogin.user
    if user.email and not any(a.email.lower() == user.email.lower() for a in kept):
        user.email = ""


class JWTPairTokenStrategy(SessionTokenStrategy):
    """allauth's app client: after a sign-in, expose our own JWT pair (not allauth's tokens)."""

    def create_access_token_payload(self, request):
        from apps.accounts.tokens import issue_token_pair

        user = request.user
        if not user.is_authenticated or not user.in_good_standing:
            return None
        pair = issue_token_pair(user, request=request, method=last_method(user))
        return {"access_token": pair["access"], "refresh_token": pair["refresh"]}

    def refresh_token(self, refresh_token: str):
        from apps.accounts.tokens import rotate_refresh_token

        try:
            rotated = rotate_refresh_token(refresh_token)
        except Exception:
            return None
        return rotated.tokens["access"], rotated.tokens["refresh"]


def last_method(user: User) -> str:
    from allauth.socialaccount.models import SocialAccount

    account = SocialAccount.objects.filter(user=user).order_by("-last_login", "-id").first()
    return PROVIDER_KINDS.get(account.provider, account.provider) if account else "password"


def _session_store():
    from allauth.headless.internal import sessionkit

    return sessionkit.session_store()


def _enforce_csrf(request) -> None:
    from django.middleware.csrf import CsrfViewMiddleware

    check = CsrfViewMiddleware(lambda req: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise ApplicationError("CSRF check failed.", code="csrf_failed", status=403)


def browser_session(request):
    """The Django session the browser's session cookie names. /api/ requests skip the session
    middleware (apps.core.middleware.BrowserOnly): this exchange is the one API call that reads it."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return import_module(settings.SESSION_ENGINE).SessionStore(key) if key else None


def forget_browser_session(request, response) -> None:
    """Drop the cookie of a session the exchange ended, as the session middleware would."""
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        response.delete_cookie(
            settings.SESSION_COOKIE_NAME,
            path=settings.SESSION_COOKIE_PATH,
            domain=settings.SESSION_COOKIE_DOMAIN,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )


def exchange_allauth_session(request) -> User:
    """The user signed into the allauth session (X-Session-Token, else the session cookie with
    Django's CSRF check); the session is ended so it cannot be exchanged twice."""
    token = request.headers.get("X-Session-Token")
    if token:
        session = SessionTokenStrategy().lookup_session(token)
    else:
        session = browser_session(request)
        if session is not None and session.get(SESSION_KEY):
            _enforce_csrf(request._request if hasattr(request, "_request") else request)
    if session is None or not session.get(SESSION_KEY):
        raise NotAuthenticated("No finished sign-in to exchange.")
    user = User.objects.select_related("profile").filter(pk=session.get(SESSION_KEY)).first()
    if (
        user is None
        or not user.is_active
        or not constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())
    ):
        session.flush()
        raise NotAuthenticated("No finished sign-in to exchange.")
    session.flush()
    if user.is_suspended:
        from apps.accounts.services.login import _raise_suspended

        _raise_suspended(user)
    return user


def link_session_token(request, user: User) -> tuple[str, int]:
    session = _session_store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.set_expiry(LINK_TOKEN_TTL)
    session.create()
    return session.session_key, LINK_TOKEN_TTL
