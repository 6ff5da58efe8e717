"""An article's Markdown as safe HTML, and as the plain text search reads.

markdown-it-py renders CommonMark (plus tables and strikethrough); raw HTML in the source is
escaped by the renderer, and nh3 (the Ammonia sanitizer) then keeps only the tags and
attributes of ALLOWED_TAGS / ALLOWED_ATTRIBUTES, so neither a <script> nor an onerror=
survives whatever a renderer bug let through. Links get rel="noopener nofollow".
"""

import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
SUMMARY_CHARS = 160

# "commonmark" with html off: an author's <script> is text, not markup. h1 is the page's
# title, so a body's headings start one level lower.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
_HEADING = re.compile(r"<(/?)h([1-5])>")
_INLINE_TAG = re.compile(r"</?(?:strong|em|s|del|code|a)(?:\s[^>]*)?>")  # inside a word run
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def render_markdown(source: str) -> str:
    """Sanitized HTML of an article body."""
    rendered = _markdown.render(source)
    rendered = _HEADING.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}>", rendered)
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener nofollow",
    )


def plain_text(body_html: str) -> str:
    """The words of rendered HTML, one space between them (blocks stay apart, inline
    formatting leaves no gap: "the **number**." is "the number.")."""
    spaced = _TAG.sub(" ", _INLINE_TAG.sub("", body_html))
    return _SPACE.sub(" ", html.unescape(spaced)).strip()


def summarize(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first `limit` characters of `text`, cut at a word, with … when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"
