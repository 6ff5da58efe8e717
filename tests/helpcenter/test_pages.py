"""The public help center: real HTML in the page's language, with title, description,
canonical and hreflang links, article views counted, votes from the page, and a home page
that loads no article body."""

import re

import pytest

from helpcenter.models import ArticleFeedback, ArticleViews

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"


@pytest.fixture
def translated(make_article, make_category):
    shipping = make_category("Shipping", order=1, description="Parcels and delivery times.")
    kargo = make_category("Kargo", language="tr", translation_of=shipping, order=1)
    english = make_article(
        "Where is my order?",
        "Track it with the **number** in your email. <script>alert(1)</script>",
        category=shipping,
        featured=True,
        summary="How to track a parcel.",
    )
    turkish = make_article(
        "Kargom nerede?",
        "E-postadaki **numarayla** takip edin.",
        language="tr",
        category=kargo,
        translation_of=english,
    )
    return english, turkish


def links(html: str, rel: str) -> dict[str, str]:
    return dict(re.findall(rf'<link rel="{rel}" hreflang="([^"]+)" href="([^"]+)">', html))


def test_help_sends_visitors_to_their_language(client):
    turkish = client.get("/help/", HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9")
    english = client.get("/help/", HTTP_ACCEPT_LANGUAGE="en-US")

    assert (turkish.status_code, turkish["Location"]) == (302, "/help/tr/")
    assert english["Location"] == "/help/en/"
    assert "Accept-Language" in turkish["Vary"]


def test_the_home_page_in_each_language(client, translated):
    english = client.get("/help/en/").content.decode()
    turkish = client.get("/help/tr/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<html lang="en">' in english and "<title>Help center</title>" in english
    assert "How can we help?" in english and "Where is my order?" in english
    assert "How to track a parcel." in english  # the featured article's summary
    assert '<html lang="tr">' in turkish and "<title>Yardım merkezi</title>" in turkish
    assert "Size nasıl yardımcı olabiliriz?" in turkish and "Kargom nerede?" in turkish
    assert "Where is my order?" not in turkish
    assert links(turkish, "alternate") == {
        "en": "http://testserver/help/en/",
        "tr": "http://testserver/help/tr/",
        "x-default": "http://testserver/help/",
    }
    assert '<link rel="canonical" href="http://testserver/help/tr/">' in turkish


def test_the_home_page_reads_no_article_body(client, translated, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/help/en/").status_code == 200
    article_reads = [q["sql"] for q in queries if 'FROM "helpcenter_article"' in q["sql"]]
    assert article_reads
    assert not [sql for sql in article_reads if '"body"' in sql or '"body_html"' in sql]


def test_an_article_page_for_people_and_search_engines(client, translated):
    english, turkish = translated

    response = client.get("/help/tr/articles/kargom-nerede/", HTTP_USER_AGENT=BROWSER)
    html = response.content.decode()

    assert response.status_code == 200 and response["Content-Language"] == "tr"
    assert "<title>Kargom nerede? · Yardım merkezi</title>" in html
    assert '<meta name="description" content="E-postadaki numarayla takip edin.">' in html
    assert '<link rel="canonical" href="http://testserver/help/tr/articles/kargom-nerede/">' in html
    assert links(html, "alternate") == {
        "en": "http://testserver/help/en/articles/where-is-my-order/",
        "tr": "http://testserver/help/tr/articles/kargom-nerede/",
    }
    assert "<strong>numarayla</strong>" in html
    assert 'hreflang="en" lang="en">Read this article in English</a>' in html
    assert "Bu makale yardımcı oldu mu?" in html
    assert ArticleViews.objects.get(article=turkish).views == 1


def test_the_article_body_is_sanitized_on_the_page(client, translated):
    html = client.get("/help/en/articles/where-is-my-order/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unpublished_and_unknown_articles_are_404(client, make_article):
    make_article("Draft", "text", published=False)

    assert client.get("/help/en/articles/draft/").status_code == 404
    assert client.get("/help/en/articles/nothing/").status_code == 404
    assert client.get("/help/de/").status_code == 404


def test_a_vote_from_the_page(client, translated):
    english, _ = translated
    page = client.get("/help/en/articles/where-is-my-order/")
    assert page.status_code == 200

    response = client.post(
        "/help/en/articles/where-is-my-order/feedback", {"helpful": "yes"}, follow=True
    )

    assert (
        response.redirect_chain[-1][0] == "/help/en/articles/where-is-my-order/?voted=yes#feedback"
    )
    assert "Thank you for your feedback!" in response.content.decode()
    vote = ArticleFeedback.objects.get()
    assert (vote.article, vote.helpful, vote.source) == (english, True, "page")


def test_the_search_page_ranks_and_highlights(client, translated, make_article):
    make_article("Returns", "Return an **order** within 14 days.")

    html = client.get("/help/en/search/", {"q": "orders"}).content.decode()

    assert '<meta name="robots" content="noindex, follow">' in html
    titles = re.findall(r'<li><a href="[^"]+">([^<]+)</a>', html)
    assert titles == ["Where is my order?", "Returns"]  # the title match first
    assert "<mark>order</mark>" in html
    assert "2 articles match “orders”." in html


def test_the_search_page_in_turkish_finds_kargo_for_kargom(client, translated):
    html = client.get("/help/tr/search/", {"q": "kargom"}).content.decode()

    assert "Kargom nerede?" in html
    assert "Arama sonuçları" in html


def test_the_sitemap_lists_every_published_page(client, translated, make_article):
    make_article("Draft", "text", published=False)

    response = client.get("/help/sitemap.xml")

    assert response["Content-Type"] == "application/xml"
    xml = response.content.decode()
    locations = re.findall(r"<loc>([^<]+)</loc>", xml)
    assert locations == [
        "http://testserver/help/en/",
        "http://testserver/help/tr/",
        "http://testserver/help/en/categories/shipping/",
        "http://testserver/help/tr/categories/kargo/",
        "http://testserver/help/en/articles/where-is-my-order/",
        "http://testserver/help/tr/articles/kargom-nerede/",
    ]
    assert xml.count("<lastmod>") == 2
