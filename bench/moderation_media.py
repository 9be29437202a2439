"""Moderation queue and image upload figures. Not part of the test run.

    DATABASE_URL=postgres://... .venv/bin/python bench/moderation_media.py [--items 10000]

Migrates the database it is pointed at, fills it with N pending reviewables (one report each,
through a bulk insert), then times: the first queue page (GET /api/moderation/queue, 50 items) and
page 20 by cursor, each with its query count; one report through the service; and uploads of a
12-megapixel JPEG with EXIF and a 1000x1000 PNG (sniff, re-encode, store) plus their variants task.
Everything it creates is deleted at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "successkid.settings.test")


def timed(fn, runs=5):
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="sk-bench-media-")

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import ExifTags, Image
    from rest_framework.test import APIClient

    from apps.accounts.models import User
    from apps.accounts.tokens import issue_token_pair
    from apps.forum.models import Category, Post
    from apps.media import services as media
    from apps.media.models import MediaAsset
    from apps.moderation import services
    from apps.moderation.models import Report, Reviewable

    tag = f"bench{int(time.time())}"
    mod = User.objects.create(username=f"{tag}m", role="moderator", email_verified=True)
    author = User.objects.create(username=f"{tag}a", email_verified=True)
    reporter = User.objects.create(username=f"{tag}r", email_verified=True)
    cat = Category.objects.create(name=tag, slug=tag)
    try:
        posts = Post.objects.bulk_create(
            [Post(author=author, category=cat, title=f"post {i}", body="x" * 400) for i in range(args.items)]
        )
        reviewables = Reviewable.objects.bulk_create(
            [
                Reviewable(
                    target_type="post",
                    target_id=p.pk,
                    target_user=author,
                    category=cat,
                    score=(i % 97) / 10,
                    report_count=1,
                    reasons=["spam"],
                )
                for i, p in enumerate(posts)
            ]
        )
        Report.objects.bulk_create(
            [
                Report(reviewable=r, reporter=reporter, target_type="post", target_id=r.target_id, reason="spam")
                for r in reviewables
            ]
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token_pair(mod)['access']}")
        seen: list[str] = []

        def count(execute, sql, params, many, context):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            res = client.get("/api/moderation/queue?limit=50")
        first_ms, _ = timed(lambda: client.get("/api/moderation/queue?limit=50"))
        cursor = None
        for _ in range(19):
            url = "/api/moderation/queue?limit=50" + (f"&cursor={cursor}" if cursor else "")
            cursor = client.get(url).json()["meta"]["pagination"]["next_cursor"]
        page20_ms, _ = timed(lambda: client.get(f"/api/moderation/queue?limit=50&cursor={cursor}"))
        print(
            f"queue: {args.items} pending items; first page (50) {first_ms:.1f} ms median, {len(seen)} queries; "
            f"page 20 by cursor {page20_ms:.1f} ms"
        )
        extra = User.objects.create(username=f"{tag}x", email_verified=True)
        start = time.perf_counter()
        services.report_create(reporter=extra, target_type="post", target_id=posts[0].pk, reason="spam")
        print(f"report_create (existing item): {(time.perf_counter() - start) * 1000:.1f} ms")
        assert res.status_code == 200

        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = 6
        buf = io.BytesIO()
        Image.effect_noise((4000, 3000), 40).convert("RGB").save(buf, "JPEG", quality=90, exif=exif.tobytes())
        jpeg = buf.getvalue()
        buf = io.BytesIO()
        Image.effect_noise((1000, 1000), 40).convert("RGB").save(buf, "PNG")
        png = buf.getvalue()
        from apps.media import tasks

        tasks.generate_variants.delay = lambda *a, **k: None  # time the upload and the task apart
        settings.MEDIA_DAILY_UPLOADS = 10_000
        settings.MEDIA_DAILY_BYTES = 10**12
        for label, data in (("12 MP JPEG", jpeg), ("1 MP PNG", png)):
            up_ms, asset = timed(
                lambda data=data: media.media_upload(owner=author, upload=SimpleUploadedFile("x", data)), runs=3
            )
            var_ms, _ = timed(
                lambda asset=asset: (
                    MediaAsset.objects.filter(pk=asset.pk).update(status="processing", variants={}),
                    media.media_generate_variants(asset_id=asset.pk),
                ),
                runs=3,
            )
            print(f"upload {label} ({len(data) / 1e6:.1f} MB): {up_ms:.0f} ms median; variants task {var_ms:.0f} ms")
    finally:
        MediaAsset.objects.filter(owner__username__startswith=tag).delete()
        Reviewable.objects.filter(category=cat).delete()
        Post.objects.filter(category=cat).delete()
        cat.delete()
        User.objects.filter(username__startswith=tag).delete()


if __name__ == "__main__":
    main()
