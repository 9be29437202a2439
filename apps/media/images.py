"""Deciding what an upload is (by its bytes, never its name or declared type) and re-encoding it.

Only JPEG, PNG, GIF and WebP are accepted. The pixel count is checked from the header before any
pixel is decoded, so a decompression bomb costs nothing. Every accepted image is re-encoded from its
pixels: EXIF (GPS included), XMP, comments and text chunks are dropped, the EXIF orientation is
applied first, and anything after the image data (a polyglot's second payload) is gone.
Animated GIF and WebP keep their animation.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from apps.core.exceptions import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
# Markup inside an "image" means someone hopes a browser will sniff it as a document.
MARKUP = re.compile(rb"<\s*(?:script|svg|html|iframe|body|object|embed)\b", re.IGNORECASE)
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError)
KEEP_INFO = ("icc_profile", "transparency", "duration", "loop", "background")


def sniff(data: bytes) -> str | None:
    """The format named by the file's magic bytes, if it is one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


@dataclass
class Processed:
    data: bytes
    format: str
    content_type: str
    width: int
    height: int
    frames: int


def _refuse_unsupported() -> UnsupportedMediaType:
    return UnsupportedMediaType("Only JPEG, PNG, GIF and WebP images are accepted.")


def _corrupt() -> ValidationFailed:
    return ValidationFailed("The image is corrupt or truncated.", details={"file": ["The image could not be decoded."]})


def check_pixels(width: int, height: int, frames: int = 1) -> None:
    limit, side = settings.MEDIA_MAX_PIXELS, settings.MEDIA_MAX_DIMENSION
    if width > side or height > side:
        raise PayloadTooLarge(f"The image is {width}×{height}; the limit is {side} pixels on each side.")
    if width * height * frames > limit:
        raise PayloadTooLarge(f"The image has {width * height * frames:,} pixels; the limit is {limit:,} pixels.")


def open_checked(data: bytes) -> tuple[Image.Image, str, int]:
    fmt = sniff(data)
    if fmt is None:
        raise _refuse_unsupported()
    if MARKUP.search(data):
        raise UnsupportedMediaType("The file contains markup (HTML/SVG/script) and is not accepted as an image.")
    try:
        im = Image.open(io.BytesIO(data), formats=[fmt])
    except UnidentifiedImageError:
        raise _refuse_unsupported() from None
    except Image.DecompressionBombError:
        raise PayloadTooLarge(f"The image has too many pixels; the limit is {settings.MEDIA_MAX_PIXELS:,}.") from None
    except DECODE_ERRORS:
        raise _corrupt() from None
    if im.format != fmt:
        raise _refuse_unsupported()
    # Header only so far: refuse bombs before decoding a single pixel.
    check_pixels(*im.size)
    try:
        frames = getattr(im, "n_frames", 1) if fmt in ("GIF", "WEBP") else 1
    except DECODE_ERRORS:
        raise _corrupt() from None
    if frames > settings.MEDIA_MAX_FRAMES:
        raise PayloadTooLarge(f"The animation has {frames} frames; the limit is {settings.MEDIA_MAX_FRAMES}.")
    check_pixels(im.size[0], im.size[1], frames)
    return im, fmt, frames


def _clean(im: Image.Image) -> Image.Image:
    im.info = {k: v for k, v in im.info.items() if k in KEEP_INFO}
    return im


def reencode(im: Image.Image, fmt: str, frames: int) -> Processed:
    out = io.BytesIO()
    try:
        if frames > 1:
            pictures, durations = [], []
            for frame in ImageSequence.Iterator(im):
                durations.append(int(frame.info.get("duration", 100) or 100))
                pictures.append(_clean(frame.convert("RGBA")))
            first = pictures[0]
            options = {
                "save_all": True,
                "append_images": pictures[1:],
                "duration": durations,
                "loop": im.info.get("loop", 0),
            }
            if fmt == "GIF":
                options["disposal"] = 2
            first.save(out, format=fmt, **options)
            width, height = first.size
        else:
            im.load()
            pic = ImageOps.exif_transpose(im)
            pic = _clean(pic if pic is not None else im)
            if fmt == "JPEG":
                if pic.mode not in ("RGB", "L"):
                    pic = pic.convert("RGB")
                pic.save(out, format="JPEG", quality=88, icc_profile=pic.info.get("icc_profile"))
            elif fmt == "PNG":
                if pic.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
                    pic = pic.convert("RGBA")
                pic.save(out, format="PNG", compress_level=6)
            elif fmt == "GIF":
                pic.save(out, format="GIF")
            else:
                if pic.mode not in ("RGB", "RGBA"):
                    pic = pic.convert("RGBA")
                pic.save(out, format="WEBP", quality=85)
            width, height = pic.size
    except DECODE_ERRORS:
        raise _corrupt() from None
    return Processed(out.getvalue(), fmt, ALLOWED[fmt], width, height, frames)


def process(data: bytes) -> Processed:
    im, fmt, frames = open_checked(data)
    return reencode(im, fmt, frames)


def _encode_still(pic: Image.Image, fmt: str | None) -> tuple[bytes, str]:
    if fmt is None:
        fmt = "PNG" if pic.mode == "RGBA" else "JPEG"
    out = io.BytesIO()
    if fmt == "JPEG":
        pic.convert("RGB").save(out, format="JPEG", quality=85)
    elif fmt == "WEBP":
        pic.save(out, format="WEBP", quality=80)
    else:
        pic.save(out, format="PNG", compress_level=6)
    return out.getvalue(), fmt


def make_variants(data: bytes, *, medium: int, thumbnail: int) -> dict[str, tuple[bytes, str, int, int]]:
    """Still, downscaled copies (the first frame of an animation), decoded once: "medium" (JPEG or
    PNG with transparency), "thumbnail" (same) and "webp" (the medium size as WebP).
    Returns {name: (bytes, format, width, height)}."""
    with Image.open(io.BytesIO(data)) as im:
        im.seek(0)
        if im.format == "JPEG":
            im.draft("RGB", (medium, medium))  # let the decoder scale down: far less work
        alpha = im.mode in ("P", "LA", "RGBA", "PA") or "transparency" in im.info
        base = im.convert("RGBA" if alpha else "RGB")
    base.thumbnail((medium, medium), Image.Resampling.LANCZOS, reducing_gap=3.0)
    small = base.copy()
    small.thumbnail((thumbnail, thumbnail), Image.Resampling.LANCZOS, reducing_gap=3.0)
    made = {}
    for name, pic, fmt in (("thumbnail", small, None), ("medium", base, None), ("webp", base, "WEBP")):
        encoded, out_fmt = _encode_still(pic, fmt)
        made[name] = (encoded, out_fmt, pic.size[0], pic.size[1])
    return made
