import functools
import zoneinfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import USERNAME_RULE, User, username_validator
from apps.accounts.selectors import public_user_fields


class PublicUserSerializer(serializers.ModelSerializer):
    """API.md "user (public)". Every app renders authors and members with this serializer;
    querysets should `select_related("profile")` so it costs no extra query."""

    display_name = serializers.CharField(source="profile.display_name", read_only=True)
    avatar_url = serializers.CharField(source="profile.avatar_url", read_only=True)
    # The public standing (apps.core.access.counts_publicly): the same for every viewer.
    level = serializers.IntegerField(
        source="profile.public_level", read_only=True, help_text="The level of the public standing (see points)."
    )
    points = serializers.IntegerField(
        source="profile.public_points",
        read_only=True,
        help_text="The public standing: points earned in categories anyone may read, and points tied to no "
        "category. Points from restricted categories count only on those categories' own leaderboards; "
        "the owner's full total is in GET /api/users/me.",
    )
    holder_tier = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="date_joined", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "avatar_url", "level", "points", "holder_tier", "created_at"]
        read_only_fields = fields

    def get_holder_tier(self, instance: User) -> str:
        """ "none" unless the owner shows their holdings."""
        return public_user_dict(instance)["holder_tier"]

    def to_representation(self, instance: User) -> dict:
        # Built directly: this runs for every author and leaderboard row, and DRF's per-field
        # machinery was half the cost of a 100-row leaderboard. The declared fields above still
        # document the shape; tests compare both. Subclasses add fields: they take DRF's path.
        if type(self) is not PublicUserSerializer:
            return super().to_representation(instance)
        return public_user_dict(instance)


def public_user_dict(user: User) -> dict:
    p = user.profile
    return public_user_fields(
        user.pk,
        user.username,
        user.date_joined,
        p.display_name,
        p.avatar_url,
        p.public_level,
        p.public_points,
        p.holder_tier,
        p.show_holdings,
    )


# --- what only the owner (and admins) see ----------------------------------------------------
class ProfileUserSerializer(PublicUserSerializer):
    """A profile page: the public user plus bio, links and role badge."""

    bio = serializers.CharField(source="profile.bio", read_only=True)
    links = serializers.ListField(source="profile.links", child=serializers.CharField(), read_only=True)
    role = serializers.CharField(read_only=True)
    wallets = serializers.SerializerMethodField()

    class Meta(PublicUserSerializer.Meta):
        fields = [*PublicUserSerializer.Meta.fields, "bio", "links", "role", "wallets"]
        read_only_fields = fields

    def get_wallets(self, instance: User) -> list[str]:
        """Verified wallets, shortened ("7xKX…9fQe"), only when the owner shows them."""
        if not instance.profile.show_wallets:
            return []
        from apps.accounts import identity
        from apps.core import rls

        # Wallet links are private rows; the owner chose to publish their short form.
        with rls.system_context("accounts:public_wallets"):
            return [i.label for i in identity.identities_of(instance) if i.kind == "wallet" and i.verified]


class OwnerUserSerializer(ProfileUserSerializer):
    """The account as its owner (or an admin) sees it: adds email, verification and privacy."""

    holder_tier = serializers.CharField(source="profile.holder_tier", read_only=True)  # their own, always
    level = serializers.IntegerField(source="profile.level", read_only=True)  # everything they earned
    points = serializers.IntegerField(source="profile.points", read_only=True)
    visibility = serializers.CharField(source="profile.visibility", read_only=True)
    show_wallets = serializers.BooleanField(source="profile.show_wallets", read_only=True)
    show_holdings = serializers.BooleanField(source="profile.show_holdings", read_only=True)
    is_suspended = serializers.BooleanField(read_only=True)
    has_password = serializers.SerializerMethodField()

    class Meta(ProfileUserSerializer.Meta):
        fields = [
            *ProfileUserSerializer.Meta.fields,
            "email",
            "email_verified",
            "visibility",
            "show_wallets",
            "show_holdings",
            "is_suspended",
            "suspended_until",
            "has_password",
        ]
        read_only_fields = fields

    def get_has_password(self, obj: User) -> bool:
        return obj.has_usable_password()


# --- auth input ------------------------------------------------------------------------------
class AuthPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(required=False, help_text="Left out in cookie mode.")
    csrf_token = serializers.CharField(
        required=False, help_text="Cookie mode only: send it as X-CSRFToken on refresh and logout."
    )
    user = OwnerUserSerializer()


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    username = serializers.RegexField(
        username_validator.regex.pattern,
        max_length=30,
        error_messages={"invalid": USERNAME_RULE},
        help_text=USERNAME_RULE,
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class LoginSerializer(serializers.Serializer):
    login = serializers.CharField(max_length=254, help_text="Email or username.")
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(required=False, max_length=2000, help_text="Omit in cookie mode.")


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(required=False, max_length=2000, help_text="Omit in cookie mode.")
    all = serializers.BooleanField(default=False, help_text="End every session of the account.")


class VerifyEmailSerializer(serializers.Serializer):
    key = serializers.CharField(required=False, max_length=500, help_text="From the emailed link.")
    code = serializers.CharField(required=False, max_length=12, help_text="The emailed 6-digit code (signed in).")

    def validate(self, attrs):
        if not attrs.get("key") and not attrs.get("code"):
            raise serializers.ValidationError({"key": ["Send the key from the link or the code."]})
        return attrs


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class EmailChangeSerializer(serializers.Serializer):
    new_email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        write_only=True,
        required=False,
        help_text="Required when the account has a password; otherwise a sign-in from the last 10 minutes.",
    )


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    device = serializers.CharField()
    user_agent = serializers.CharField()
    ip = serializers.IPAddressField(allow_null=True)
    method = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField()

    def get_current(self, obj) -> bool:
        return str(obj.pk) == str(self.context.get("current_session_id"))


class IdentitySerializer(serializers.Serializer):
    kind = serializers.CharField()
    uid = serializers.CharField()
    label = serializers.CharField()
    verified = serializers.BooleanField()


class OAuthLinkTokenSerializer(serializers.Serializer):
    session_token = serializers.CharField(help_text="Send as X-Session-Token to allauth's app endpoints.")
    expires_in = serializers.IntegerField()


# --- profile, settings ----------------------------------------------------------------------
def _no_controls(value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise serializers.ValidationError("Control characters are not allowed.")
    return value


@extend_schema_field({"type": "string", "pattern": r"^[^\x00-\x08\x0b-\x1f]*$"})
class PlainTextField(serializers.CharField):
    """Text without control characters (newlines and tabs are fine), checked before trimming."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            _no_controls(data)
        return super().to_internal_value(data)


class ProfileUpdateSerializer(serializers.Serializer):
    """Only these fields can change; anything else in the body (role, points, is_staff,
    email_verified...) is ignored."""

    display_name = PlainTextField(max_length=50, allow_blank=True, required=False)
    bio = PlainTextField(max_length=1000, allow_blank=True, required=False, trim_whitespace=False)
    links = serializers.ListField(
        child=serializers.URLField(max_length=300), max_length=5, required=False, allow_empty=True
    )
    visibility = serializers.ChoiceField(choices=["everyone", "members", "nobody"], required=False)
    show_wallets = serializers.BooleanField(required=False)
    show_holdings = serializers.BooleanField(required=False)

    def validate_links(self, value: list[str]) -> list[str]:
        for url in value:
            if not url.lower().startswith(("https://", "http://")):
                raise serializers.ValidationError("Links must be http(s) URLs.")
        return value


class ContentPreferencesSerializer(serializers.Serializer):
    show_nsfw = serializers.BooleanField(default=False)
    hidden_categories = serializers.ListField(child=serializers.SlugField(max_length=64), max_length=100, default=list)
    hidden_tags = serializers.ListField(child=serializers.SlugField(max_length=64), max_length=100, default=list)
    autoplay_media = serializers.BooleanField(default=True)


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA names this machine's zoneinfo knows (read once, on first use: ~40 ms of disk)."""
    return frozenset(zoneinfo.available_timezones())


class TimeZoneField(serializers.CharField):
    @property
    def _spectacular_annotation(self):  # read by drf-spectacular: the schema lists every name
        return {"field": {"type": "string", "enum": sorted(time_zones()), "example": "Europe/Berlin"}}


class UserSettingsSerializer(serializers.Serializer):
    locale = serializers.RegexField(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$", max_length=12, required=False)
    timezone = TimeZoneField(max_length=64, required=False)
    theme = serializers.ChoiceField(choices=["system", "light", "dark"], required=False)
    content = ContentPreferencesSerializer(required=False)

    def validate_timezone(self, value: str) -> str:
        if value not in time_zones():
            raise serializers.ValidationError("Unknown time zone.")
        return value


SETTINGS_DEFAULTS = {
    "locale": "en",
    "timezone": "UTC",
    "theme": "system",
    "content": {"show_nsfw": False, "hidden_categories": [], "hidden_tags": [], "autoplay_media": True},
}


class AvatarSerializer(serializers.Serializer):
    file = serializers.FileField()


# --- roles, suspensions, audit ---------------------------------------------------------------
class RoleAssignSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "moderator", "admin"])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class SuspendSerializer(serializers.Serializer):
    until = serializers.DateTimeField(required=False, help_text="End of the suspension (UTC).")
    hours = serializers.IntegerField(required=False, min_value=1, max_value=24 * 365 * 10)
    permanent = serializers.BooleanField(default=False, help_text="A ban without end.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        given = sum(1 for k in ("until", "hours") if attrs.get(k)) + (1 if attrs.get("permanent") else 0)
        if given != 1:
            raise serializers.ValidationError({"until": ["Give exactly one of until, hours or permanent."]})
        return attrs


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    actor = PublicUserSerializer(allow_null=True)
    target_id = serializers.IntegerField()
    data = serializers.JSONField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
