"""Django admin for accounts: find a user, see their ways in (providers, wallets), sessions, role
history and audit trail; change roles and suspend through the same services as the API, so every
change lands in the audit log. Moderators (staff by role) may view and suspend; admins may also
change roles; only superusers delete.

Other apps add inlines to the user page with `register_user_inline(MyInline)` (the wallet app
adds its wallets this way)."""

from __future__ import annotations

from datetime import timedelta

from allauth.socialaccount.models import SocialAccount
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone

from apps.accounts import services
from apps.accounts.access import user_can
from apps.accounts.models import AccountAuditLog, AuthSession, Profile, Role, RoleAssignment, User
from apps.core.client_address import client_address
from apps.core.exceptions import ApplicationError, RateLimited

_extra_user_inlines: list[type[admin.options.InlineModelAdmin]] = []


def register_user_inline(inline: type[admin.options.InlineModelAdmin]) -> None:
    if inline not in _extra_user_inlines:
        _extra_user_inlines.append(inline)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_moderator(request)


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["display_name", "bio", "links", "avatar_url", "visibility", "show_wallets", "points", "level"]
    readonly_fields = ["points", "level"]

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_moderator(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return _is_moderator(request)


class SocialAccountInline(ReadOnlyInline):
    model = SocialAccount
    fields = ["provider", "uid", "last_login", "date_joined"]
    readonly_fields = fields
    verbose_name_plural = "OAuth providers"


class SessionInline(ReadOnlyInline):
    model = AuthSession
    fields = ["method", "device", "ip", "created_at", "last_used_at", "revoked_at", "revoked_reason"]
    readonly_fields = fields
    ordering = ["-last_used_at"]
    verbose_name_plural = "Sessions (refresh-token families)"


class RoleAssignmentInline(ReadOnlyInline):
    model = RoleAssignment
    fk_name = "user"
    fields = ["created_at", "previous_role", "role", "assigned_by", "reason"]
    readonly_fields = fields
    verbose_name_plural = "Role history"


class AuditInline(ReadOnlyInline):
    model = AccountAuditLog
    fk_name = "target"
    fields = ["created_at", "action", "actor", "data", "reason", "ip"]
    readonly_fields = fields
    verbose_name_plural = "Audit log"


def _is_moderator(request) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.in_good_standing and (user.is_superuser or user.is_moderator))


def _ip(request) -> str | None:
    return client_address(request, default=None)


def _apply(modeladmin, request, queryset, fn, done: str) -> None:
    ok = 0
    for user in queryset:
        try:
            fn(user)
            ok += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{user.username}: {exc.message}", messages.ERROR)
    if ok:
        modeladmin.message_user(request, f"{done}: {ok} account(s).", messages.SUCCESS)


def _suspend_action(hours: int | None, label: str):
    def action(modeladmin, request, queryset):
        until = None if hours is None else timezone.now() + timedelta(hours=hours)
        _apply(
            modeladmin,
            request,
            queryset,
            lambda u: services.user_suspend(user=u, by=request.user, until=until, reason="admin", ip=_ip(request)),
            label,
        )

    action.__name__ = f"suspend_{hours or 'forever'}"
    return admin.action(description=label, permissions=["suspend"])(action)


def _role_action(role: str):
    def action(modeladmin, request, queryset):
        _apply(
            modeladmin,
            request,
            queryset,
            lambda u: services.role_assign(user=u, role=role, by=request.user, reason="admin", ip=_ip(request)),
            f"Role set to {role}",
        )

    action.__name__ = f"make_{role}"
    return admin.action(description=f"Set role: {role}", permissions=["assign_role"])(action)


@admin.action(description="Lift suspension", permissions=["suspend"])
def lift_suspension(modeladmin, request, queryset):
    _apply(
        modeladmin,
        request,
        queryset,
        lambda u: services.user_unsuspend(user=u, by=request.user, ip=_ip(request)),
        "Suspension lifted",
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "role", "email_verified", "suspended_until", "is_active", "date_joined"]
    list_filter = ["role", "email_verified", "is_active", "is_staff", "date_joined"]
    search_fields = ["username", "email", "=id", "socialaccount__uid", "profile__display_name"]
    ordering = ["-date_joined"]
    readonly_fields = [
        "role",
        "suspended_until",
        "suspension_reason",
        "token_version",
        "last_login",
        "date_joined",
        "is_superuser",
    ]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Contact", {"fields": ["email", "email_verified", "first_name", "last_name"]}),
        (
            "Standing (change with the actions: every change is audited)",
            {"fields": ["role", "suspended_until", "suspension_reason", "is_active", "is_staff", "is_superuser"]},
        ),
        ("Tokens and dates", {"fields": ["token_version", "last_login", "date_joined"]}),
    ]
    actions = [
        _suspend_action(24, "Suspend for 24 hours"),
        _suspend_action(24 * 7, "Suspend for 7 days"),
        _suspend_action(None, "Ban (permanent)"),
        lift_suspension,
        _role_action(Role.USER),
        _role_action(Role.MODERATOR),
        _role_action(Role.ADMIN),
    ]
    base_inlines = [ProfileInline, SocialAccountInline, SessionInline, RoleAssignmentInline, AuditInline]

    def get_inlines(self, request, obj):
        if obj is None:
            return []
        return [*self.base_inlines, *_extra_user_inlines]

    def has_module_permission(self, request) -> bool:
        return _is_moderator(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_moderator(request)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return user_can(request.user, "users.assign_role") or request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_suspend_permission(self, request) -> bool:
        return user_can(request.user, "users.suspend") or request.user.is_superuser

    def has_assign_role_permission(self, request) -> bool:
        return user_can(request.user, "users.assign_role") or request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_staff", "is_active"]
        return fields


@admin.register(AccountAuditLog)
class AccountAuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "action", "target", "actor", "reason", "ip"]
    list_filter = ["action", "created_at"]
    search_fields = ["target__username", "actor__username", "reason"]
    list_select_related = ["target", "actor"]
    date_hierarchy = "created_at"

    def has_module_permission(self, request) -> bool:
        return user_can(request.user, "audit.read") or request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = ["user", "method", "device", "ip", "last_used_at", "revoked_at", "revoked_reason"]
    list_filter = ["method", "revoked_reason"]
    search_fields = ["user__username", "ip"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in AuthSession._meta.fields]

    def has_module_permission(self, request) -> bool:
        return _is_moderator(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _is_moderator(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LimitedAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's password form signs in through the same service as the API, so it shares the
    per-account and per-IP failed-login lockouts (apps.core.limits) and the account standing."""

    def clean(self):
        login = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if login is not None and password:
            try:
                user = services.authenticate_login(login=login, password=password, request=self.request)
            except RateLimited as exc:
                raise forms.ValidationError(
                    "Too many failed sign-in attempts. Try again in %(seconds)s s.",
                    code="rate_limited",
                    params={"seconds": exc.retry_after},
                ) from None
            except ApplicationError as exc:
                if exc.status == 401:
                    raise self.get_invalid_login_error() from None
                raise forms.ValidationError(exc.message, code=exc.code) from None
            user.backend = "django.contrib.auth.backends.ModelBackend"
            self.user_cache = user
            self.confirm_login_allowed(user)
        return self.cleaned_data


admin.site.login_form = LimitedAdminAuthenticationForm
_admin_has_permission = admin.AdminSite.has_permission


def _admin_needs_good_standing(request) -> bool:
    """A suspended or banned staff member's open admin session stops at the next page."""
    user = request.user
    return _admin_has_permission(admin.site, request) and bool(getattr(user, "in_good_standing", False))


admin.site.has_permission = _admin_needs_good_standing
