"""Storage is Django's storage API: local by default, S3-compatible (django-storages) when configured."""

import importlib

import pytest
from django.core.files.storage import InMemoryStorage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.media import services
from tests.media.conftest import image_bytes


def test_s3_storage_when_a_bucket_is_named(monkeypatch):
    import successkid.settings.components.moderation as component

    monkeypatch.setenv("MEDIA_S3_BUCKET", "sk-media")
    monkeypatch.setenv("MEDIA_S3_ENDPOINT_URL", "http://minio.local:9000")
    try:
        configured = importlib.reload(component)
        default = configured.STORAGES["default"]
        assert default["BACKEND"] == "storages.backends.s3.S3Storage"
        assert default["OPTIONS"]["bucket_name"] == "sk-media"
        assert default["OPTIONS"]["endpoint_url"] == "http://minio.local:9000"
        assert default["OPTIONS"]["object_parameters"]["ContentDisposition"] == "inline"
        assert "staticfiles" in configured.STORAGES
    finally:
        monkeypatch.delenv("MEDIA_S3_BUCKET")
        monkeypatch.delenv("MEDIA_S3_ENDPOINT_URL")
        if hasattr(component, "STORAGES"):
            del component.STORAGES  # reload keeps old names; leave the module as imported
        assert importlib.reload(component).MEDIA_S3_BUCKET == ""
        assert not hasattr(component, "STORAGES")


@pytest.mark.django_db
def test_remote_storage_urls_come_from_the_storage(monkeypatch, user, django_capture_on_commit_callbacks):
    remote = InMemoryStorage(base_url="https://cdn.example/")
    monkeypatch.setattr(services, "default_storage", remote)
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.media_upload(owner=user, upload=SimpleUploadedFile("a.png", image_bytes()))
    asset.refresh_from_db()
    assert remote.exists(asset.file)
    assert services.public_url(asset) == f"https://cdn.example/{asset.file}"
    assert services.public_url(asset, "thumbnail").startswith(
        "https://cdn.example/"
    ) and "_thumbnail" in services.public_url(asset, "thumbnail")
