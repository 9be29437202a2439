"""Media: the images the user uploaded. Erasure deletes the rows now and the files (original and
variants) from storage once the transaction commits. Kept posts that embedded them show broken
images: the image is the person's upload, and may show them."""

from __future__ import annotations

import contextlib

from django.core.files.storage import default_storage
from django.db import transaction

from apps.media.models import MediaAsset
from apps.privacy.shaping import deleted, rows

SECTION = "media"
MODELS = ["media.MediaAsset"]


def export(user) -> dict:
    from apps.media.services import public_url

    assets = list(MediaAsset.objects.filter(owner=user).order_by("created_at", "id"))
    shaped = rows(
        MediaAsset.objects.filter(owner=user).order_by("created_at", "id"),
        "key", "purpose", "status", "format", "content_type", "width", "height", "bytes", "attached_to", "created_at",
    )  # fmt: skip
    for row, asset in zip(shaped, assets, strict=True):
        row["url"] = public_url(asset)
    return {"assets": shaped}


def erase(user) -> dict:
    from apps.media.services import _files

    assets = list(MediaAsset.objects.filter(owner=user))
    names = [name for asset in assets for name in _files(asset)]
    removed = deleted(MediaAsset.objects.filter(pk__in=[a.pk for a in assets]))

    def _remove() -> None:
        for name in names:
            with contextlib.suppress(OSError):  # already gone: a retry, or a variant never written
                default_storage.delete(name)

    transaction.on_commit(_remove)
    return {"assets": removed, "files": len(names)}
