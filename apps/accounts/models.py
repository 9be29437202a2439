"""Identity: one account, many ways in (email/password, OAuth providers, wallets)."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core.access import tier_choices

USERNAME_RULE = "3–30 characters: letters, digits and underscores, starting with a letter or digit."
username_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9_]{2,29}$", USERNAME_RULE, code="invalid_username")


class Role(models.TextChoices):
    USER = "user", "User"
    MODERATOR = "moderator", "Moderator"
    ADMIN = "admin", "Admin"


class AccountManager(UserManager):
    def get_by_natural_key(self, username):
        # Log-in and lookups ignore case, as the unique constraint does.
        return self.get(username__iexact=username)


class User(AbstractUser):
    username = models.CharField(max_length=30, validators=[username_validator], help_text=USERNAME_RULE)
    email = models.EmailField(blank=True, default="")
    email_verified = models.BooleanField(default=False)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER, db_index=True)
    # Account standing, the one model of suspensions and bans (apps.accounts.services.user_suspend /
    # user_unsuspend write it, with an audit row each): a ban is `suspended_until` = PERMANENT.
    # `is_active` is not a ban: it is False only for deleted accounts (tombstones, `[deleted]`).
    suspended_until = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=500, blank=True, default="")
    suspended_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Bumped to revoke every access token at once (suspension, password change, logout-all).
    token_version = models.PositiveIntegerField(default=0)

    objects = AccountManager()

    class Meta:
        db_table = "users"
        constraints = [
            models.UniqueConstraint(Lower("username"), name="users_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""), name="users_email_ci_unique"),
        ]

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > timezone.now()

    @property
    def is_banned(self) -> bool:
        return self.suspended_until is not None and self.suspended_until.year >= 9999

    @property
    def in_good_standing(self) -> bool:
        """May this account act (sign in, post, vote, hold a socket)? Not deleted, not suspended."""
        return self.is_active and not self.is_suspended

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN) or self.is_superuser

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser


class ProfileVisibility(models.TextChoices):
    EVERYONE = "everyone", "Everyone"
    MEMBERS = "members", "Members"
    NOBODY = "nobody", "Nobody"


class Profile(models.Model):
    """Public face of an account, plus the denormalised standing other apps keep current
    (points and level, public and full, by gamification; holder tier by wallet) so a user renders in one join."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    display_name = models.CharField(max_length=50, blank=True, default="")
    bio = models.TextField(max_length=1000, blank=True, default="")
    links = models.JSONField(default=list, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    visibility = models.CharField(max_length=16, choices=ProfileVisibility.choices, default=ProfileVisibility.EVERYONE)
    show_wallets = models.BooleanField(default=False)
    show_holdings = models.BooleanField(default=False)  # balances / holder tier details on the profile
    points = models.BigIntegerField(default=0, db_index=True)
    level = models.PositiveSmallIntegerField(default=1)
    # What others see (apps.core.access.counts_publicly): points earned where everyone may read
    # or tied to no category, and their level. `points`/`level` (everything) are the owner's.
    # (db_default too: code deployed before these columns still inserts profiles)
    public_points = models.BigIntegerField(default=0, db_default=0, db_index=True)
    public_level = models.PositiveSmallIntegerField(default=1, db_default=1)
    holder_tier = models.CharField(max_length=32, choices=tier_choices, default="none")
    settings = models.JSONField(default=dict, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "profiles"

    def __str__(self) -> str:
        return f"profile of {self.user_id}"

    def save(self, *args, **kwargs) -> None:
        # The wallet app computes tiers from settings.HOLDER_TIERS; anything else is a mistake.
        self.clean_fields(exclude=[f.name for f in self._meta.concrete_fields if f.name != "holder_tier"])
        super().save(*args, **kwargs)


class AuthSession(models.Model):
    """One login = one refresh-token family. Every refresh token of the family carries the session
    id (`sid`); only the newest one (`current_jti`) may be used. Presenting an older one is a
    replay: the whole family is revoked (API.md). Access tokens carry the same `sid`, so revoking
    the session ends them at once too."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    method = models.CharField(max_length=32, default="password")  # password | google | github | x | wallet ...
    current_jti = models.CharField(max_length=64)
    # The token rotated away last, accepted again (answered with the current one) for
    # AUTH_REFRESH_GRACE_SECONDS after `rotated_at`: concurrent tabs and lost responses.
    previous_jti = models.CharField(max_length=64, blank=True, default="")
    rotated_at = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveIntegerField(default=0)
    device = models.CharField(max_length=120, blank=True, default="")
    user_agent = models.CharField(max_length=400, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        db_table = "sessions"
        indexes = [
            models.Index(fields=["user", "-last_used_at"], name="sessions_user_last_used"),
            models.Index(fields=["user"], condition=models.Q(revoked_at__isnull=True), name="sessions_user_live"),
        ]

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class RoleAssignment(models.Model):
    """Role history: one row per role a user was given (the current one is `User.role`)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=16, choices=Role.choices)
    previous_role = models.CharField(max_length=16, choices=Role.choices, blank=True, default="")
    assigned_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "role_assignments"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="role_assign_user_created")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.previous_role or '-'} -> {self.role}"


class AuditAction(models.TextChoices):
    ROLE_CHANGED = "role_changed", "Role changed"
    SUSPENDED = "suspended", "Suspended"
    BANNED = "banned", "Banned"
    UNSUSPENDED = "unsuspended", "Suspension lifted"


class AccountAuditLog(models.Model):
    """Append-only record of every role change and suspension: who, whom, what, when, from where."""

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target = models.ForeignKey(User, on_delete=models.CASCADE, related_name="audit_entries")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    data = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "account_audit_log"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target", "-created_at", "-id"], name="audit_target_created")]

    def __str__(self) -> str:
        return f"{self.action} of {self.target_id} by {self.actor_id}"
