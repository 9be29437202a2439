"""Profiles, privacy, settings, avatars; mass assignment changes nothing."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from apps.accounts.models import Profile, User
from apps.media.models import MediaAsset
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(username="olive")


def test_public_profile_hides_private_fields(api_client, owner, make_client):
    r = api_client.get(f"/api/users/{owner.pk}")
    assert r.status_code == 200
    data = r.json()["data"]
    assert {"id", "username", "display_name", "avatar_url", "level", "points", "holder_tier", "created_at"} <= set(data)
    assert "email" not in data and "email_verified" not in data
    own = make_client(owner).get("/api/users/me").json()["data"]
    assert own["email"] == owner.email and own["email_verified"] is True


@pytest.mark.parametrize(
    ("visibility", "anon", "member", "admin"),
    [("everyone", 200, 200, 200), ("members", 404, 200, 200), ("nobody", 404, 404, 200)],
)
def test_visibility(api_client, owner, make_client, visibility, anon, member, admin):
    Profile.objects.filter(user=owner).update(visibility=visibility)
    assert api_client.get(f"/api/users/{owner.pk}").status_code == anon
    assert make_client(UserFactory()).get(f"/api/users/{owner.pk}").status_code == member
    admin_user = UserFactory(role="admin")
    r = make_client(admin_user).get(f"/api/users/{owner.pk}")
    assert r.status_code == admin and r.json()["data"]["email"] == owner.email
    assert make_client(owner).get(f"/api/users/{owner.pk}").status_code == 200


def test_update_profile_and_mass_assignment_ignored(owner, make_client):
    client = make_client(owner)
    r = client.put(
        "/api/users/me",
        {
            "display_name": "  Olive Oyl ",
            "bio": "gm",
            "links": ["https://example.com/olive"],
            "visibility": "members",
            "show_wallets": True,
            "role": "admin",
            "is_staff": True,
            "points": 10**6,
            "email_verified": False,
            "email": "x@evil.test",
            "level": 99,
        },
        format="json",
    )
    assert r.status_code == 200, r.content
    data = r.json()["data"]
    assert data["display_name"] == "Olive Oyl" and data["links"] == ["https://example.com/olive"]
    owner.refresh_from_db()
    assert owner.role == "user" and not owner.is_staff and owner.email_verified and owner.email == "olive@example.com"
    assert owner.profile.points == 0 and owner.profile.level == 1 and owner.profile.visibility == "members"


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "x" * 51},
        {"links": ["javascript:alert(1)"]},
        {"links": [f"https://e.com/{i}" for i in range(6)]},
        {"visibility": "public"},
        {"bio": "a" * 1001},
        {"display_name": "bad\x07bell"},
    ],
)
def test_bad_profile_input(owner, make_client, body):
    r = make_client(owner).put("/api/users/me", body, format="json")
    assert r.status_code == 400, body
    owner.profile.refresh_from_db()
    assert owner.profile.display_name == "" and owner.profile.links == []


def test_cannot_edit_another_users_profile_or_settings(owner, make_client, api_client):
    other = make_client(UserFactory())
    assert other.put(f"/api/users/{owner.pk}", {"bio": "hacked"}, format="json").status_code == 403
    assert other.get(f"/api/users/{owner.pk}/settings").status_code == 403
    assert other.put(f"/api/users/{owner.pk}/settings", {"theme": "dark"}, format="json").status_code == 403
    Profile.objects.filter(user=owner).update(visibility="nobody")
    assert other.put(f"/api/users/{owner.pk}", {"bio": "hacked"}, format="json").status_code == 404
    assert api_client.put("/api/users/me", {"bio": "x"}, format="json").status_code == 401
    owner.profile.refresh_from_db()
    assert owner.profile.bio == ""
    # An admin may.
    admin = make_client(UserFactory(role="admin"))
    assert admin.put(f"/api/users/{owner.pk}", {"bio": "cleaned"}, format="json").status_code == 200


def test_settings_roundtrip_and_validation(owner, make_client):
    client = make_client(owner)
    r = client.get(f"/api/users/{owner.pk}/settings")
    assert r.status_code == 200 and r.json()["data"]["theme"] == "system"
    r = client.put(
        f"/api/users/{owner.pk}/settings",
        {"locale": "pt-BR", "timezone": "America/Sao_Paulo", "theme": "dark", "content": {"show_nsfw": True}},
        format="json",
    )
    assert r.status_code == 200, r.content
    data = r.json()["data"]
    assert data["locale"] == "pt-BR" and data["theme"] == "dark" and data["content"]["show_nsfw"] is True
    assert client.put("/api/users/me/settings", {"timezone": "Mars/Olympus"}, format="json").status_code == 400
    assert client.put("/api/users/me/settings", {"theme": "neon"}, format="json").status_code == 400
    assert client.get("/api/users/me/settings").json()["data"]["timezone"] == "America/Sao_Paulo"


def _png(size=(300, 200), fmt="PNG", **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt, **save)
    return buf.getvalue()


def test_avatar_upload_goes_through_the_media_pipeline(owner, make_client, settings, tmp_path):
    """Absolute URL (an <img> on the SPA's origin loads it), served without DEBUG, metadata
    stripped, one cross-origin policy, and the previous avatar deleted."""
    settings.MEDIA_ROOT = tmp_path
    settings.DEBUG = False
    client = make_client(owner)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    upload = SimpleUploadedFile("me.jpg", _png(fmt="JPEG", exif=exif.tobytes()), content_type="image/jpeg")
    r = client.post("/api/users/me/avatar", {"file": upload}, format="multipart")
    assert r.status_code == 200, r.content
    url = r.json()["data"]["avatar_url"]
    assert url.startswith("http://testserver/api/media/files/"), url
    assert client.get(f"/api/users/{owner.pk}").json()["data"]["avatar_url"] == url
    served = client.get(url.removeprefix("http://testserver"))
    assert served.status_code == 200 and served["Cross-Origin-Resource-Policy"] == "cross-origin"
    body = b"".join(served.streaming_content)
    assert b"SpyCam" not in body and b"Exif" not in body
    first = MediaAsset.objects.get(owner=owner, purpose="avatar")
    assert first.attached_to == f"avatar:{owner.pk}"
    again = client.post("/api/users/me/avatar", {"file": SimpleUploadedFile("b.png", _png())}, format="multipart")
    assert again.status_code == 200
    assert not MediaAsset.objects.filter(pk=first.pk).exists()


def test_media_public_base_url_makes_every_image_url_absolute_on_it(owner, make_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.MEDIA_PUBLIC_BASE_URL = "https://api.example.com"
    r = make_client(owner).post(
        "/api/users/me/avatar", {"file": SimpleUploadedFile("me.png", _png())}, format="multipart"
    )
    assert r.json()["data"]["avatar_url"].startswith("https://api.example.com/api/media/files/")


def test_avatar_rejects_non_images_and_oversized(owner, make_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.AVATAR_MAX_BYTES = 10_000
    client = make_client(owner)
    fake = SimpleUploadedFile("x.png", b"<?php echo 1; ?>" * 10, content_type="image/png")
    r = client.post("/api/users/me/avatar", {"file": fake}, format="multipart")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    big = SimpleUploadedFile("big.bmp", b"\0" * 20_000, content_type="image/bmp")
    r = client.post("/api/users/me/avatar", {"file": big}, format="multipart")
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    settings.AVATAR_MAX_BYTES = 10**6
    bmp = SimpleUploadedFile("x.bmp", _png(fmt="BMP"), content_type="image/bmp")
    assert client.post("/api/users/me/avatar", {"file": bmp}, format="multipart").status_code == 415
    assert User.objects.get(pk=owner.pk).profile.avatar_url == ""
    assert not MediaAsset.objects.filter(owner=owner).exists()


def test_profile_lookup_is_one_query(owner, make_client, django_assert_max_num_queries):
    client = make_client(owner)
    # auth (user+profile+session), the RLS user context, and nothing more per view
    with django_assert_max_num_queries(3):
        assert client.get(f"/api/users/{owner.pk}").status_code == 200


def test_close_account_stops_tokens_and_scrubs(owner, make_client, api_client):
    from apps.accounts.tokens import issue_token_pair
    from tests.factories import DEFAULT_PASSWORD

    tokens = issue_token_pair(owner)
    client = make_client(owner)
    assert client.delete("/api/users/me", {"password": "wrong"}, format="json").status_code == 400
    assert make_client(UserFactory()).delete(f"/api/users/{owner.pk}", {}, format="json").status_code == 403
    r = client.delete("/api/users/me", {"password": DEFAULT_PASSWORD}, format="json")
    assert r.status_code == 204
    assert client.get("/api/users/me").status_code == 401
    assert api_client.post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    owner.refresh_from_db()
    assert not owner.is_active and owner.email == "" and owner.username == f"deleted_{owner.pk}"
    assert api_client.get(f"/api/users/{owner.pk}").status_code == 404
    assert api_client.post("/api/auth/login", {"login": "olive", "password": DEFAULT_PASSWORD}).status_code == 401


def test_show_holdings_privacy_flag(owner, make_client):
    r = make_client(owner).put("/api/users/me", {"show_holdings": True}, format="json")
    assert r.status_code == 200 and r.json()["data"]["show_holdings"] is True


def test_out_of_range_ids_are_404_not_500(make_client, api_client):
    admin = make_client(UserFactory(role="admin"))
    huge = "9" * 25
    assert api_client.get(f"/api/users/{huge}").status_code == 404
    assert admin.get(f"/api/users/{huge}/settings").status_code == 404
    assert admin.post(f"/api/users/{huge}/role", {"role": "user"}, format="json").status_code == 404
    assert admin.get(f"/api/users/{huge}/audit").status_code == 404
