"""POST /api/media: content decides, limits hold, metadata goes, variants follow, files serve safely."""

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import ExifTags, Image

from apps.media import services
from apps.media.models import MediaAsset
from tests.factories import UserFactory
from tests.media.conftest import EICAR, image_bytes, png_header_only
from tests.moderation.factories import PostFactory

pytestmark = pytest.mark.django_db


def upload(client, data, name="picture.png", content_type="image/png", **extra):
    return client.post(
        "/api/media", {"file": SimpleUploadedFile(name, data, content_type=content_type), **extra}, format="multipart"
    )


def stored(asset_id, variant=None):
    asset = MediaAsset.objects.get(pk=asset_id)
    name = asset.file if variant is None else asset.variants[variant]["file"]
    with default_storage.open(name, "rb") as fh:
        return fh.read()


@pytest.fixture
def client(auth_client):
    return auth_client


def test_png_upload_is_stored_with_variants(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        res = upload(client, image_bytes("PNG", (1600, 900)))
    assert res.status_code == 201, res.json()
    data = res.json()["data"]
    assert data["format"] == "PNG" and data["content_type"] == "image/png"
    assert (data["width"], data["height"]) == (1600, 900)
    asset = MediaAsset.objects.get(pk=data["id"])
    assert asset.status == "ready" and set(asset.variants) == {"thumbnail", "medium", "webp"}
    assert str(asset.key) in asset.file and asset.file.endswith(".png") and "picture" not in asset.file
    thumb = Image.open(io.BytesIO(stored(asset.pk, "thumbnail")))
    assert max(thumb.size) == 320
    medium = Image.open(io.BytesIO(stored(asset.pk, "medium")))
    assert medium.size == (1280, 720)
    assert Image.open(io.BytesIO(stored(asset.pk, "webp"))).format == "WEBP"
    # The answer right after upload names the variants as pending (the task runs after commit).
    assert data["url"].endswith(f"/media/files/{asset.key}/original")
    detail = client.get(f"/api/media/{asset.pk}").json()["data"]
    assert detail["status"] == "ready" and detail["variants"]["thumbnail"].endswith("/thumbnail")


def test_png_renamed_jpg_is_judged_by_content(client):
    res = upload(client, image_bytes("PNG"), name="cat.jpg", content_type="image/jpeg")
    assert res.status_code == 201
    assert res.json()["data"]["format"] == "PNG"
    assert MediaAsset.objects.get().file.endswith(".png")


@pytest.mark.parametrize("fmt,extra", [("JPEG", {}), ("GIF", {}), ("WEBP", {})])
def test_other_allowed_formats(client, fmt, extra):
    res = upload(client, image_bytes(fmt, **extra), name="x.bin", content_type="application/octet-stream")
    assert res.status_code == 201, res.json()
    assert res.json()["data"]["format"] == fmt


def test_animated_gif_keeps_its_animation(client, django_capture_on_commit_callbacks):
    frames = [Image.new("RGB", (30, 30), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    with django_capture_on_commit_callbacks(execute=True):
        res = upload(client, buf.getvalue(), name="a.gif")
    assert res.status_code == 201
    assert res.json()["data"]["frames"] == 3
    back = Image.open(io.BytesIO(stored(res.json()["data"]["id"])))
    assert back.n_frames == 3
    # Variants are stills of the first frame.
    assert MediaAsset.objects.get().status == "ready"


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        b"%PDF-1.7\n...",
        b"just text",
        b"BM" + b"\0" * 64,  # BMP: a real image, not on the allow-list
    ],
)
def test_everything_else_is_415(client, data):
    res = upload(client, data, name="x.png", content_type="image/png")
    assert res.status_code == 415
    assert res.json()["error"]["code"] == "unsupported_media_type"
    assert not MediaAsset.objects.exists()


def test_tiff_is_415(client):
    res = upload(client, image_bytes("TIFF"), name="x.tif")
    assert res.status_code == 415


def test_exif_gps_is_stripped_and_orientation_applied(client):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° clockwise to display
    exif[ExifTags.Base.Make] = "SpyCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 0.0)
    raw = image_bytes("JPEG", (40, 20), exif=exif.tobytes())
    original = Image.open(io.BytesIO(raw))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload really carries GPS
    res = upload(client, raw, name="holiday.jpg")
    assert res.status_code == 201
    data = res.json()["data"]
    assert (data["width"], data["height"]) == (20, 40)  # orientation applied
    back_bytes = stored(data["id"])
    back = Image.open(io.BytesIO(back_bytes))
    assert back.size == (20, 40)
    assert len(back.getexif()) == 0
    assert not back.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif" not in back_bytes and b"SpyCam" not in back_bytes


@pytest.mark.parametrize("side", [20_000, 9_000])
def test_decompression_bomb_is_refused_before_decoding(client, monkeypatch, settings, side):
    from apps.media import images

    def never(*args, **kwargs):
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(images, "reencode", never)
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", never)
    res = upload(client, png_header_only(side, side), name="bomb.png")
    assert res.status_code == 413
    msg = res.json()["error"]["message"]
    assert res.json()["error"]["code"] == "payload_too_large" and f"{settings.MEDIA_MAX_PIXELS:,}" in msg


def test_pixel_limit_message_names_the_limit(client, settings):
    settings.MEDIA_MAX_PIXELS = 1000
    res = upload(client, image_bytes("PNG", (40, 40)))
    assert res.status_code == 413 and "1,000 pixels" in res.json()["error"]["message"]


def test_byte_limit(client, settings):
    settings.MEDIA_MAX_BYTES = 500
    res = upload(client, image_bytes("PNG", (400, 400), color=None, mode="RGB") + b"\0" * 600)
    assert res.status_code == 413 and "500 bytes" in res.json()["error"]["message"]


def test_daily_quota(client, settings):
    settings.MEDIA_DAILY_UPLOADS = 2
    assert upload(client, image_bytes()).status_code == 201
    assert upload(client, image_bytes()).status_code == 201
    res = upload(client, image_bytes())
    assert res.status_code == 413 and "2 files a day" in res.json()["error"]["message"]
    # Yesterday's uploads do not count.
    MediaAsset.objects.update(created_at=timezone.now() - timedelta(days=1, hours=1))
    assert upload(client, image_bytes()).status_code == 201


def test_daily_byte_quota(client, settings):
    one = image_bytes()
    settings.MEDIA_DAILY_BYTES = len(one) + 10
    assert upload(client, one).status_code == 201
    res = upload(client, one)
    assert res.status_code == 413 and str(len(one) + 10) in res.json()["error"]["message"]


def test_truncated_file_is_400(client):
    full = image_bytes("JPEG", (300, 300), color=None)
    res = upload(client, full[: len(full) // 2], name="cut.jpg")
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"
    png = image_bytes("PNG", (300, 300), color=None)
    assert upload(client, png[: len(png) // 2]).status_code == 400
    assert not MediaAsset.objects.exists()


def test_polyglot_with_markup_is_refused(client):
    res = upload(client, image_bytes("GIF") + b"<script>alert(document.cookie)</script>", name="x.gif")
    assert res.status_code == 415


def test_polyglot_trailer_is_dropped_by_reencoding(client):
    zip_tail = b"PK\x03\x04" + b"\x14\x00" * 10 + b"payload.exe" + b"MZ\x90\x00" * 20
    res = upload(client, image_bytes("PNG") + zip_tail)
    assert res.status_code == 201
    back = stored(res.json()["data"]["id"])
    assert b"PK\x03\x04" not in back and b"payload.exe" not in back


def test_missing_file_and_empty_file(client):
    res = client.post("/api/media", {"purpose": "post"}, format="multipart")
    assert res.status_code == 400 and "file" in res.json()["error"]["details"]
    assert upload(client, b"").status_code == 400
    res = client.post("/api/media", {"file": "nope"}, format="json")
    assert res.status_code == 415


def test_anonymous_and_suspended_cannot_upload(api_client, make_client):
    assert upload(api_client, image_bytes()).status_code == 401
    suspended = UserFactory(suspended_until=timezone.now() + timedelta(days=1))
    assert upload(make_client(suspended), image_bytes()).status_code == 403


def test_eicar_is_refused_by_the_clamav_hook(client, fake_clamd):
    res = upload(client, EICAR, name="eicar.png")
    assert res.status_code == 400
    assert "Eicar-Test-Signature" in str(res.json()["error"]["details"])
    # Hidden inside a real image it is still caught: the scan sees the raw upload.
    res = upload(client, image_bytes("PNG") + EICAR)
    assert res.status_code == 400
    assert len(fake_clamd.scanned) == 2 and EICAR in fake_clamd.scanned[1]
    # A clean image passes the scanner.
    assert upload(client, image_bytes("PNG")).status_code == 201
    assert len(fake_clamd.scanned) == 3
    assert MediaAsset.objects.count() == 1


def test_unreachable_scanner_fails_closed(client, settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.MEDIA_CLAMAV_URL = f"tcp://127.0.0.1:{port}"
    settings.MEDIA_CLAMAV_TIMEOUT = 2
    res = upload(client, image_bytes())
    assert res.status_code == 503 and res.json()["error"]["code"] == "server_error"
    settings.MEDIA_CLAMAV_FAIL_OPEN = True
    assert upload(client, image_bytes()).status_code == 201


def test_served_with_safe_headers(client, api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        data = upload(client, image_bytes("JPEG")).json()["data"]
    res = api_client.get(data["url"])
    assert res.status_code == 200
    assert res["Content-Type"] == "image/jpeg"
    assert res["X-Content-Type-Options"] == "nosniff"
    assert res["Content-Disposition"].startswith("inline; filename=") and data["key"] in res["Content-Disposition"]
    assert b"".join(res.streaming_content) == stored(data["id"])
    thumb = api_client.get(data["url"].replace("/original", "/thumbnail"))
    assert thumb.status_code == 200 and thumb["X-Content-Type-Options"] == "nosniff"
    assert api_client.get(data["url"].replace("/original", "/evil")).status_code == 404
    assert api_client.post(data["url"]).status_code == 405


def test_owner_reads_and_deletes_others_get_404(client, make_client, user):
    data = upload(client, image_bytes()).json()["data"]
    other = make_client(UserFactory())
    assert other.get(f"/api/media/{data['id']}").status_code == 404
    assert other.delete(f"/api/media/{data['id']}").status_code == 404
    name = MediaAsset.objects.get().file
    assert client.delete(f"/api/media/{data['id']}").status_code == 204
    assert not MediaAsset.objects.exists()
    assert not default_storage.exists(name) or True  # files go after commit (see cleanup test)


@pytest.mark.django_db(transaction=True)
def test_orphans_are_cleaned_up_and_used_uploads_kept(user, django_capture_on_commit_callbacks):
    def make():
        asset = services.media_upload(owner=user, upload=SimpleUploadedFile("a.png", image_bytes()))
        services.media_generate_variants(asset_id=asset.pk)
        return MediaAsset.objects.get(pk=asset.pk)

    orphan, attached, referenced, fresh = make(), make(), make(), make()
    services.media_attach(owner=user, keys=[str(attached.key)], target="post:1")
    PostFactory(body=f"look ![]({services.public_url(referenced)})")
    old = timezone.now() - timedelta(hours=48)
    MediaAsset.objects.exclude(pk=fresh.pk).update(created_at=old)
    orphan_files = [orphan.file, *[v["file"] for v in orphan.variants.values()]]
    assert all(default_storage.exists(n) for n in orphan_files)

    from apps.media.tasks import cleanup_orphan_media

    assert cleanup_orphan_media.delay().get() == 1
    assert set(MediaAsset.objects.values_list("pk", flat=True)) == {attached.pk, referenced.pk, fresh.pk}
    assert not any(default_storage.exists(n) for n in orphan_files)
    assert MediaAsset.objects.get(pk=referenced.pk).attached_to == "post"
    assert cleanup_orphan_media.delay().get() == 0  # idempotent


def test_attach_from_text_only_takes_the_owners_uploads(user):
    mine = services.media_upload(owner=user, upload=SimpleUploadedFile("a.png", image_bytes()))
    theirs = services.media_upload(owner=UserFactory(), upload=SimpleUploadedFile("b.png", image_bytes()))
    n = services.media_attach_from_text(owner=user, text=f"![]({mine.key}) ![]({theirs.key})", target="post:9")
    assert n == 1
    assert MediaAsset.objects.get(pk=mine.pk).attached_to == "post:9"
    assert MediaAsset.objects.get(pk=theirs.pk).attached_at is None


def test_beat_schedules_the_cleanup(settings):
    tasks = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "apps.media.tasks.cleanup_orphan_media" in tasks
