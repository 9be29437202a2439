"""Reads of media: one upload as its owner (or a moderator) sees it, and the row a file is served from."""

from __future__ import annotations

import uuid

from apps.core.exceptions import NotFound
from apps.media.models import MediaAsset


def media_owned(*, user, pk: int) -> MediaAsset:
    """The upload, for its owner or a moderator; anyone else gets the same 404 as for a missing id."""
    asset = MediaAsset.objects.filter(pk=pk).first()
    if asset is None or (asset.owner_id != user.pk and not user.is_moderator):
        raise NotFound()
    return asset


def media_for_file(*, key: uuid.UUID | str) -> MediaAsset | None:
    """Only the columns needed to serve the file."""
    return MediaAsset.objects.filter(key=key).only("key", "file", "content_type", "format", "variants").first()
