"""Markdown source → sanitised HTML, excerpt and mentions.

markdown-it-py renders CommonMark (raw HTML disabled, so `<script>` is text), then nh3 (the Rust
ammonia sanitiser) keeps an allow-list of tags and attributes, only http/https/mailto links, and
sets `rel="nofollow ugc noopener"` on every link. Nothing here is a hand-written sanitiser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from django.conf import settings
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
LINK_REL = "nofollow ugc noopener"

MENTION_RE = re.compile(r"(?<![\w@/.])@([A-Za-z0-9][A-Za-z0-9_]{2,29})\b")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Rendered:
    html: str
    excerpt: str
    mentions: list[str]  # usernames as written, first occurrence order, deduplicated (case-insensitively)


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render(source: str) -> Rendered:
    tokens = _md.parse(source)
    html = sanitise(_md.renderer.render(tokens, _md.options, {}))
    texts: list[str] = []
    mentions: list[str] = []
    seen: set[str] = set()
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        in_link = 0
        for child in token.children:
            if child.type == "link_open":
                in_link += 1
            elif child.type == "link_close":
                in_link = max(0, in_link - 1)
            elif child.type in ("text", "code_inline"):
                texts.append(child.content)
                if child.type == "text" and not in_link:
                    for name in MENTION_RE.findall(child.content):
                        if name.lower() not in seen:
                            seen.add(name.lower())
                            mentions.append(name)
            elif child.type in ("softbreak", "hardbreak"):
                texts.append(" ")
        texts.append(" ")
    return Rendered(html=html, excerpt=make_excerpt(" ".join(texts)), mentions=mentions)


def make_excerpt(text: str, length: int | None = None) -> str:
    length = length or settings.FORUM_EXCERPT_LENGTH
    text = _WS.sub(" ", text).strip()
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    if " " in cut[length // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…"
