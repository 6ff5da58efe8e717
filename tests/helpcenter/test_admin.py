"""Authoring in the admin: the article form saves through the service (rendered body), shows
a preview, and the preview endpoint renders the form's own text for staff only."""

import pytest

from helpcenter.models import Article

pytestmark = pytest.mark.django_db


def test_an_article_saved_in_the_admin_is_rendered_and_previewed(staff_client):
    response = staff_client.post(
        "/admin/helpcenter/article/add/",
        {
            "title": "Kargo ücreti",
            "slug": "kargo-ucreti",
            "language": "tr",
            "body": "750 ₺ üzeri **ücretsiz**.",
            "published": "on",
            "summary": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get()
    assert article.body_html == "<p>750 ₺ üzeri <strong>ücretsiz</strong>.</p>\n"
    change = staff_client.get(f"/admin/helpcenter/article/{article.pk}/change/").content.decode()
    assert '<div class="hc-preview"' in change
    assert "<strong>ücretsiz</strong>" in change


def test_the_preview_renders_the_forms_text_sanitized(staff_client):
    response = staff_client.post(
        "/admin/helpcenter/article/preview/", {"body": "*hi* <script>x()</script>"}
    )

    assert response.json() == {"html": "<p><em>hi</em> &lt;script&gt;x()&lt;/script&gt;</p>\n"}


def test_the_preview_is_for_staff_only(client, make_customer):
    response = client.post("/admin/helpcenter/article/preview/", {"body": "*hi*"})

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_article_list_filters_and_searches(staff_client, make_article):
    from helpcenter.services import article_save

    article_save(article=Article(), title="Fatura", body="x", language="tr", published=True)
    article_save(article=Article(), title="Invoices", body="x", language="en")

    listed = staff_client.get("/admin/helpcenter/article/", {"language__exact": "tr"})
    found = staff_client.get("/admin/helpcenter/article/", {"q": "invoic"})

    assert "Fatura" in listed.content.decode() and "Invoices" not in listed.content.decode()
    assert "Invoices" in found.content.decode() and "Fatura" not in found.content.decode()
