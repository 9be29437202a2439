"""The forum's content rules that need no database: titles, bodies, tag and title slugs. Services
validate writes with them and selectors normalise tag queries with them."""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.utils.text import slugify

from apps.core.exceptions import ApplicationError, ValidationFailed

_TAG_JUNK = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


class ContentGone(ApplicationError):
    status, code, message = 400, "bad_request", "This content was deleted."


def clean_title(title: str | None) -> str:
    title = " ".join((title or "").split())
    lo, hi = settings.FORUM_TITLE_MIN_LENGTH, settings.FORUM_TITLE_MAX_LENGTH
    if not title:
        raise ValidationFailed("Title is required.", details={"title": ["This field is required."]})
    if len(title) < lo or len(title) > hi:
        msg = f"Title must be {lo} to {hi} characters."
        raise ValidationFailed(msg, details={"title": [msg]})
    return title


def clean_body(body: str | None, *, maximum: int, field: str = "body") -> str:
    body = (body or "").replace("\r\n", "\n").replace("\x00", "")
    if not body.strip():
        raise ValidationFailed("Body is required.", details={field: ["This field is required."]})
    if len(body) > maximum:
        msg = f"Body must be at most {maximum} characters."
        raise ValidationFailed(msg, details={field: [msg]})
    return body


def normalise_tag(raw: str) -> str:
    """'  Diamond Hands! ' -> 'diamond-hands'. Accents are folded, anything else becomes a dash."""
    text = unicodedata.normalize("NFKD", str(raw)).encode("ascii", "ignore").decode().lower().strip()
    text = text.replace("_", "-").replace(" ", "-")
    text = _DASHES.sub("-", _TAG_JUNK.sub("-", text)).strip("-")
    return text


def post_slug(title: str) -> str:
    """The URL slug of a title; a title of only emoji or punctuation still gets one."""
    return slugify(title)[:120] or "post"
