"""Identity: one account, many ways in (email/password, OAuth providers, wallets)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

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
    suspended_until = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=500, blank=True, default="")
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
    (points and level by gamification, holder tier by wallet) so a user renders in one join."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    display_name = models.CharField(max_length=50, blank=True, default="")
    bio = models.TextField(max_length=1000, blank=True, default="")
    links = models.JSONField(default=list, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    visibility = models.CharField(max_length=16, choices=ProfileVisibility.choices, default=ProfileVisibility.EVERYONE)
    show_wallets = models.BooleanField(default=False)
    points = models.BigIntegerField(default=0, db_index=True)
    level = models.PositiveSmallIntegerField(default=1)
    holder_tier = models.CharField(max_length=32, blank=True, default="none")
    settings = models.JSONField(default=dict, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "profiles"

    def __str__(self) -> str:
        return f"profile of {self.user_id}"
