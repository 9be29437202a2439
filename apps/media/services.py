"""Uploads: limits, quota, malware scan, content sniffing, re-encoding, storage, variants, cleanup."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.accounts.models import Profile, User
from apps.core.exceptions import ApplicationError, PayloadTooLarge, ValidationFailed
from apps.forum.models import Comment, Post
from apps.media import images
from apps.media.models import MediaAsset, MediaStatus
from apps.media.scanning import ScannerUnavailable, scan_bytes

logger = logging.getLogger(__name__)
VARIANTS = ("thumbnail", "medium", "webp")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _human(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def _check_quota(owner: User, size: int) -> None:
    with connection.cursor() as cursor:  # two uploads at once cannot both squeeze under the quota
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"media-quota:{owner.pk}"])
    start = timezone.make_aware(datetime.combine(timezone.now().date(), time.min), timezone.get_current_timezone())
    used = MediaAsset.objects.filter(owner=owner, created_at__gte=start).aggregate(
        n=Count("id"), b=Sum("original_bytes")
    )
    count, total = used["n"] or 0, used["b"] or 0
    if count >= settings.MEDIA_DAILY_UPLOADS:
        raise PayloadTooLarge(f"Daily upload quota reached: the limit is {settings.MEDIA_DAILY_UPLOADS} files a day.")
    if total + size > settings.MEDIA_DAILY_BYTES:
        raise PayloadTooLarge(
            f"Daily upload quota reached: the limit is {settings.MEDIA_DAILY_BYTES} bytes "
            f"({_human(settings.MEDIA_DAILY_BYTES)}) a day."
        )


def _scan(data: bytes) -> None:
    try:
        result = scan_bytes(data)
    except ScannerUnavailable:
        if settings.MEDIA_CLAMAV_FAIL_OPEN:
            logger.warning("malware scanner unavailable; accepting upload unscanned (MEDIA_CLAMAV_FAIL_OPEN)")
            return
        raise ApplicationError(
            "Uploads cannot be checked right now; try again in a minute.", code="server_error", status=503
        ) from None
    if result is not None and not result.clean:
        logger.warning("upload refused by malware scanner: %s", result.signature)
        raise ValidationFailed(
            "The file was refused by the malware scanner.",
            details={"file": [f"Malware detected ({result.signature})."]},
        )


def _name(key: uuid.UUID, suffix: str, ext: str) -> str:
    now = timezone.now()
    return f"media/{now:%Y/%m}/{key}{suffix}.{ext}"


@transaction.atomic
def media_upload(*, owner: User, upload: UploadedFile, purpose: str = "post") -> MediaAsset:
    limit = settings.MEDIA_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(f"The file is larger than the limit of {limit} bytes ({_human(limit)}).")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than the limit of {limit} bytes ({_human(limit)}).")
    if not data:
        raise ValidationFailed("The file is empty.", details={"file": ["The submitted file is empty."]})
    _check_quota(owner, len(data))
    _scan(data)  # before any parser touches the bytes
    processed = images.process(data)

    import hashlib

    key = uuid.uuid4()
    ext = images.EXTENSIONS[processed.format]
    stored = default_storage.save(_name(key, "", ext), ContentFile(processed.data))
    asset = MediaAsset.objects.create(
        key=key,
        owner=owner,
        purpose=purpose if purpose in ("post", "avatar") else "post",
        file=stored,
        format=processed.format,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        frames=processed.frames,
        bytes=len(processed.data),
        original_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    from apps.media.tasks import generate_variants

    transaction.on_commit(lambda: generate_variants.delay(asset.pk))
    return asset


def media_generate_variants(*, asset_id: int) -> MediaAsset | None:
    """Idempotent: a ready asset is left alone; a re-run replaces what a failed run left."""
    asset = MediaAsset.objects.filter(pk=asset_id).first()
    if asset is None or (asset.status == MediaStatus.READY and asset.variants):
        return asset
    try:
        with default_storage.open(asset.file, "rb") as fh:
            original = fh.read()
        made: dict[str, dict] = {}
        encoded = images.make_variants(
            original, medium=settings.MEDIA_MEDIUM_SIZE, thumbnail=settings.MEDIA_THUMBNAIL_SIZE
        )
        for name, (data, out_fmt, width, height) in encoded.items():
            old = (asset.variants or {}).get(name, {}).get("file")
            if old:
                default_storage.delete(old)
            stored = default_storage.save(_name(asset.key, f"_{name}", images.EXTENSIONS[out_fmt]), ContentFile(data))
            made[name] = {
                "file": stored,
                "width": width,
                "height": height,
                "content_type": images.ALLOWED[out_fmt],
                "bytes": len(data),
            }
        MediaAsset.objects.filter(pk=asset.pk).update(variants=made, status=MediaStatus.READY)
    except Exception:
        logger.exception("variants failed for media %s", asset_id)
        MediaAsset.objects.filter(pk=asset.pk).update(status=MediaStatus.FAILED)
        raise
    asset.refresh_from_db()
    return asset


def _files(asset: MediaAsset) -> list[str]:
    return [asset.file, *[v["file"] for v in (asset.variants or {}).values() if v.get("file")]]


@transaction.atomic
def media_delete(*, asset: MediaAsset) -> None:
    names = _files(asset)
    asset.delete()

    def _remove() -> None:
        for name in names:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("could not delete %s", name)

    transaction.on_commit(_remove)


def media_attach(*, owner: User, keys: list[str], target: str) -> int:
    """Mark the owner's uploads as used by `target` (e.g. "post:42", "avatar:7"): they are no
    longer orphans. The forum and profile services call this (or media_attach_from_text)."""
    valid = [k for k in keys if UUID_RE.fullmatch(str(k))]
    return MediaAsset.objects.filter(owner=owner, key__in=valid, attached_at__isnull=True).update(
        attached_at=timezone.now(), attached_to=target[:64]
    )


def media_attach_from_text(*, owner: User, text: str, target: str) -> int:
    return media_attach(owner=owner, keys=list(set(UUID_RE.findall(text or ""))), target=target)


def _referenced(asset: MediaAsset) -> str:
    key = str(asset.key)
    if Post.objects.filter(body__contains=key).exists():
        return "post"
    if Comment.objects.filter(body__contains=key).exists():
        return "comment"
    if Profile.objects.filter(avatar_url__contains=key).exists():
        return "avatar"
    return ""


def cleanup_orphans(*, batch: int = 200) -> int:
    """Delete uploads never attached within MEDIA_ORPHAN_HOURS. An upload that a post, comment or
    avatar does reference (a caller forgot media_attach) is marked attached instead. Returns how
    many were deleted."""
    cutoff = timezone.now() - timedelta(hours=settings.MEDIA_ORPHAN_HOURS)
    deleted = 0
    for asset in MediaAsset.objects.filter(attached_at__isnull=True, created_at__lt=cutoff).order_by("created_at")[
        :batch
    ]:
        used_by = _referenced(asset)
        if used_by:
            MediaAsset.objects.filter(pk=asset.pk).update(attached_at=timezone.now(), attached_to=used_by)
            continue
        media_delete(asset=asset)
        deleted += 1
    return deleted


def file_for(asset: MediaAsset, variant: str) -> tuple[str, str]:
    """(storage name, content type) of a variant, falling back to the original until it exists."""
    info = (asset.variants or {}).get(variant)
    if variant != "original" and info:
        return info["file"], info["content_type"]
    return asset.file, asset.content_type


def public_url(asset: MediaAsset, variant: str = "original", *, request=None) -> str:
    """The one media URL policy: always absolute, so an <img> on the SPA's origin loads it.
    Local storage: our own file route (headers we control), on MEDIA_PUBLIC_BASE_URL or else the
    request's host. Object storage: the storage's (absolute) URL."""
    if isinstance(default_storage, FileSystemStorage):
        from django.urls import reverse

        return absolute_url(reverse("media-file", kwargs={"key": asset.key, "variant": variant}), request=request)
    name, _ = file_for(asset, variant)
    return absolute_url(default_storage.url(name), request=request)


def absolute_url(url: str, *, request=None) -> str:
    """`url` made absolute: MEDIA_PUBLIC_BASE_URL when set (the API's public origin, right in
    tasks and events too), else the request's scheme and host; an absolute URL is left as is."""
    if not url or "://" in url or url.startswith("//"):
        return url
    base = settings.MEDIA_PUBLIC_BASE_URL.rstrip("/")
    if base:
        return base + url
    return request.build_absolute_uri(url) if request is not None else url


def avatar_replaced(*, owner: User, old_url: str, keep: MediaAsset) -> None:
    """Delete the avatar upload a profile pointed at before (not one used elsewhere)."""
    for asset in MediaAsset.objects.filter(owner=owner, purpose="avatar").exclude(pk=keep.pk):
        if old_url and str(asset.key) in old_url:
            media_delete(asset=asset)
