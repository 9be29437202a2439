"""Profile fields, settings and the avatar."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from apps.accounts.models import Profile, User
from apps.core.exceptions import ApplicationError


# --- profiles and settings -------------------------------------------------------------------
@transaction.atomic
def profile_update(*, user: User, data: dict[str, Any]) -> Profile:
    profile = Profile.objects.select_for_update().get(user=user)
    allowed = {"display_name", "bio", "links", "visibility", "show_wallets", "show_holdings"}
    fields = [k for k in data if k in allowed]
    for key in fields:
        setattr(profile, key, data[key])
    if fields:
        profile.save(update_fields=[*fields, "updated_at"])
    return profile


@transaction.atomic
def settings_update(*, user: User, data: dict[str, Any]) -> dict[str, Any]:
    profile = Profile.objects.select_for_update().get(user=user)
    merged = {**(profile.settings or {}), **data}
    profile.settings = merged
    profile.save(update_fields=["settings", "updated_at"])
    return merged


def avatar_set(*, user: User, upload, request=None) -> Profile:
    """An avatar is an uploaded image like any other (apps.media: judged by content, size and
    pixel limits, metadata stripped, scanned when a scanner is configured), at most
    AVATAR_MAX_BYTES; the profile points at its thumbnail by an absolute URL (the original until
    the thumbnail exists). The previous avatar is deleted."""
    from apps.media import services as media

    if upload.size is not None and upload.size > settings.AVATAR_MAX_BYTES:
        raise ApplicationError(
            f"The avatar is larger than {settings.AVATAR_MAX_BYTES} bytes.", code="payload_too_large", status=413
        )
    with transaction.atomic():
        asset = media.media_upload(owner=user, upload=upload, purpose="avatar")
        media.media_attach(owner=user, keys=[str(asset.key)], target=f"avatar:{user.pk}")
        profile = Profile.objects.select_for_update().get(user=user)
        old = profile.avatar_url
        profile.avatar_url = media.public_url(asset, "thumbnail", request=request)
        profile.save(update_fields=["avatar_url", "updated_at"])
        media.avatar_replaced(owner=user, old_url=old, keep=asset)
    return profile
