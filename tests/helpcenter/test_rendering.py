"""An article's Markdown becomes sanitized HTML on save: formatting kept, anything that could
run (script, event handlers, javascript: links) gone, links marked noopener nofollow."""

from html.parser import HTMLParser

import pytest

from helpcenter.rendering import plain_text, render_markdown

pytestmark = pytest.mark.django_db


def test_markdown_formatting_is_rendered():
    html = render_markdown(
        "# Title\n\nSome **bold** and *soft* text.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )

    assert "<h2>Title</h2>" in html  # the page's h1 is the article title
    assert "<strong>bold</strong>" in html and "<em>soft</em>" in html
    assert "<li>one</li>" in html
    assert "<td>1</td>" in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="#" onclick="alert(1)">x</a>',
        "[click](javascript:alert(1))",
        '![x](javascript:alert(1) "t")',
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_nothing_that_runs_survives(source):
    found = elements(render_markdown(source))

    assert not {tag for tag, _ in found} & {"script", "iframe", "img"}
    attributes = {name: value for _, attrs in found for name, value in attrs}
    assert not [name for name in attributes if name.startswith("on")]
    assert "javascript:" not in (attributes.get("href") or "")


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The elements a browser would build from `html` (text that looks like a tag is text)."""
    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_raw_html_is_shown_as_text_not_markup():
    html = render_markdown("Type <b>bold</b> yourself")

    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>" not in html


def test_links_get_noopener_nofollow_and_keep_their_address():
    html = render_markdown("[Track it](https://cargo.example/track?id=1&x=2)")

    assert 'href="https://cargo.example/track?id=1&amp;x=2"' in html
    assert 'rel="noopener nofollow"' in html


def test_the_service_caches_the_rendered_body_and_its_plain_text(make_article):
    article = make_article("Returns", "Send it **back** within <14> days. <script>x()</script>")

    assert article.body_html.startswith("<p>Send it <strong>back</strong>")
    assert "<script>" not in article.body_html
    assert article.body_text == "Send it back within <14> days. <script>x()</script>"
    assert plain_text("<p>a</p><p>b &amp; c</p>") == "a b & c"
    assert plain_text('<p>the <strong>number</strong>, <a href="x">here</a>.</p>') == (
        "the number, here."
    )


def test_a_changed_body_is_rendered_again(make_article):
    from helpcenter.services import article_save

    article = make_article("Returns", "old")
    article_save(article=article, body="**new**")
    article.refresh_from_db()

    assert article.body_html == "<p><strong>new</strong></p>\n"
