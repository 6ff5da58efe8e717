"""The help center API as shared/API.md "Self-service and engagement" writes it: fields,
status codes, 404 for unpublished articles, votes, bad input in the error shape, and who may
read and write articles on the agent side."""

import pytest
from rest_framework.test import APIClient

from helpcenter.models import Article, ArticleFeedback, ArticleViews

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"


@pytest.fixture
def public():
    return APIClient(HTTP_USER_AGENT=BROWSER)


@pytest.fixture
def articles(make_article):
    kargo = make_article(
        "Kargo takibi", "Kargonuzu takip **numarasıyla** izleyin.", language="tr", featured=True
    )
    parcel = make_article(
        "Tracking your parcel", "Follow your parcel with its number.", translation_of=kargo
    )
    draft = make_article("Draft about parcels", "parcel parcel", published=False)
    return kargo, parcel, draft


# --- Customer side --------------------------------------------------------------------------


def test_search_answers_ranked_hits_with_the_contracts_fields(public, articles):
    kargo, _, _ = articles

    response = public.get("/api/v1/widget/articles", {"q": "kargom", "lang": "tr"})

    assert response.status_code == 200
    [hit] = response.json()["results"]
    assert set(hit) == {"id", "slug", "title", "snippet", "url", "language"}
    assert hit["id"] == kargo.pk and hit["language"] == "tr"
    assert hit["url"] == "http://testserver/help/tr/articles/kargo-takibi/"
    assert "<mark>Kargonuzu</mark>" in hit["snippet"]


def test_without_q_the_featured_articles_of_the_browsers_language(public, articles):
    response = public.get("/api/v1/widget/articles", HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9")

    assert [hit["title"] for hit in response.json()["results"]] == ["Kargo takibi"]
    english = public.get("/api/v1/widget/articles", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["results"] == []  # no featured English article


def test_suggest_matches_what_a_customer_is_typing(public, articles):
    response = public.get(
        "/api/v1/widget/articles",
        {"q": "Hello, where is my parc", "lang": "en", "suggest": "true"},
    )

    assert [hit["title"] for hit in response.json()["results"]] == ["Tracking your parcel"]


def test_an_article_reads_with_its_html_and_counts_a_view(public, articles):
    kargo, _, _ = articles

    response = public.get(f"/api/v1/widget/articles/{kargo.pk}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "slug", "title", "body_html", "url", "language", "updated_at"}
    assert "<strong>numarasıyla</strong>" in body["body_html"]
    assert ArticleViews.objects.get(article=kargo).views == 1


def test_a_bots_read_is_not_counted(articles):
    kargo, _, _ = articles
    crawler = APIClient(HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1)")

    assert crawler.get(f"/api/v1/widget/articles/{kargo.pk}").status_code == 200
    assert not ArticleViews.objects.exists()


@pytest.mark.parametrize("which", ["draft", "unknown", "huge"])
def test_unpublished_or_unknown_articles_are_404_in_the_error_shape(public, articles, which):
    pk = {"draft": articles[2].pk, "unknown": 999_999, "huge": 2**63}[which]

    for response in (
        public.get(f"/api/v1/widget/articles/{pk}"),
        public.post(f"/api/v1/widget/articles/{pk}/feedback", {"helpful": True}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_feedback_is_recorded_anonymously_or_for_the_customer(public, articles, make_customer):
    kargo, _, _ = articles
    customer = make_customer()

    anonymous = public.post(
        f"/api/v1/widget/articles/{kargo.pk}/feedback", {"helpful": False}, format="json"
    )
    public.credentials(HTTP_AUTHORIZATION=f"Bearer {customer.token}")
    first = public.post(
        f"/api/v1/widget/articles/{kargo.pk}/feedback", {"helpful": False}, format="json"
    )
    again = public.post(
        f"/api/v1/widget/articles/{kargo.pk}/feedback", {"helpful": True}, format="json"
    )

    assert (anonymous.status_code, first.status_code, again.status_code) == (201, 201, 201)
    assert again.json() == {"article": kargo.pk, "helpful": True}
    votes = ArticleFeedback.objects.order_by("pk").values_list("customer", "helpful", "source")
    # The customer's second answer replaced the first.
    assert list(votes) == [(None, False, "widget"), (customer.pk, True, "widget")]


def test_a_stale_token_on_feedback_is_401(public, articles):
    public.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = public.post(
        f"/api/v1/widget/articles/{articles[0].pk}/feedback", {"helpful": True}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize(
    "body", [{}, {"helpful": "yes"}, {"helpful": 1}, {"helpful": None}, ["helpful"]]
)
def test_bad_feedback_is_400_in_the_error_shape(public, articles, body):
    response = public.post(
        f"/api/v1/widget/articles/{articles[0].pk}/feedback", body, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not ArticleFeedback.objects.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [({"lang": "de"}, "lang"), ({"q": "x" * 201}, "q"), ({"suggest": "yes"}, "suggest")],
)
def test_bad_search_input_is_400_naming_the_field(public, query, field):
    response = public.get("/api/v1/widget/articles", query)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_reads_and_votes_are_rate_limited(public, articles, settings):
    from rest_framework.settings import api_settings

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "widget_articles": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api_settings.reload()
    try:
        answers = [public.get("/api/v1/widget/articles").status_code for _ in range(3)]
    finally:
        api_settings.reload()

    assert answers == [200, 200, 429]


# --- Agent side -----------------------------------------------------------------------------


def json_client(client):
    client.default_format = "json"  # the API reads JSON
    return client


@pytest.fixture
def admin_client(logged_in, make_agent):
    return json_client(logged_in(make_agent(is_superuser=True)))


@pytest.fixture
def agent_client(logged_in, make_agent):
    return json_client(logged_in(make_agent()))


NEW_ARTICLE = {
    "title": "İade süresi",
    "body": "Ürünü **14 gün** içinde iade edin.",
    "language": "tr",
    "published": True,
}


def test_an_admin_creates_changes_and_deletes_an_article(admin_client, make_category):
    category = make_category("İade", language="tr", slug="iade")

    created = admin_client.post("/api/v1/articles", {**NEW_ARTICLE, "category": category.pk})

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["slug"] == "iade-suresi"
    assert body["body_html"] == "<p>Ürünü <strong>14 gün</strong> içinde iade edin.</p>\n"
    assert body["category"] == {"id": category.pk, "name": "İade"}
    assert body["url"] == "http://testserver/help/tr/articles/iade-suresi/"

    changed = admin_client.patch(
        f"/api/v1/articles/{body['id']}", {"body": "Yeni *metin*", "published": False}
    )
    assert changed.status_code == 200
    assert changed.json()["body_html"] == "<p>Yeni <em>metin</em></p>\n"
    assert changed.json()["title"] == "İade süresi"  # untouched fields stay
    assert changed.json()["published"] is False

    assert admin_client.delete(f"/api/v1/articles/{body['id']}").status_code == 204
    assert not Article.objects.exists()


def test_agents_read_but_may_not_write(agent_client, articles):
    kargo, _, draft = articles

    listed = agent_client.get("/api/v1/articles", {"language": "en"})
    assert listed.status_code == 200
    assert [a["title"] for a in listed.json()["results"]] == [
        "Draft about parcels",  # agents see drafts too
        "Tracking your parcel",
    ]
    assert agent_client.get(f"/api/v1/articles/{kargo.pk}").status_code == 200
    for response in (
        agent_client.post("/api/v1/articles", NEW_ARTICLE),
        agent_client.patch(f"/api/v1/articles/{kargo.pk}", {"title": "x"}),
        agent_client.delete(f"/api/v1/articles/{draft.pk}"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert Article.objects.count() == 3


def test_customers_and_strangers_are_refused(articles, make_customer):
    customer = make_customer()
    as_customer = APIClient(HTTP_AUTHORIZATION=f"Bearer {customer.token}")

    assert APIClient().get("/api/v1/articles").status_code == 401
    assert as_customer.get("/api/v1/articles").status_code == 401
    assert APIClient().post("/api/v1/articles", NEW_ARTICLE, format="json").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"language": "de"}, "language"),
        ({"title": "  "}, "title"),
        ({"body": 5}, "body"),
        ({"published": "yes"}, "published"),
        ({"category": 999_999}, "category"),
        ({"category": "1"}, "category"),
        ({"translation_of": 999_999}, "translation_of"),
        ({"slug": "not a slug"}, "slug"),
    ],
)
def test_bad_article_input_is_400_naming_the_field(admin_client, change, field):
    response = admin_client.post("/api/v1/articles", {**NEW_ARTICLE, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]


def test_the_models_rules_answer_400_too(admin_client, make_article, make_category):
    original = make_article("Returns", "Free returns.")
    make_article("İadeler", "Ücretsiz.", language="tr", translation_of=original)
    english_category = make_category("Returns")

    first = admin_client.post("/api/v1/articles", NEW_ARTICLE)
    same_title = admin_client.post("/api/v1/articles", {**NEW_ARTICLE, "title": "Iade suresi"})
    taken = admin_client.post("/api/v1/articles", {**NEW_ARTICLE, "slug": "iade-suresi"})
    wrong_category = admin_client.post(
        "/api/v1/articles", {**NEW_ARTICLE, "category": english_category.pk}
    )
    same_language = admin_client.post(
        "/api/v1/articles", {**NEW_ARTICLE, "language": "en", "translation_of": original.pk}
    )
    second_translation = admin_client.post(
        "/api/v1/articles", {**NEW_ARTICLE, "translation_of": original.pk}
    )

    assert first.json()["slug"] == "iade-suresi"
    assert same_title.json()["slug"] == "iade-suresi-2"  # made from the title, numbered
    assert taken.json()["error"]["fields"] == {
        "slug": ["Another article in this language has this slug."]
    }
    assert wrong_category.json()["error"]["fields"] == {
        "category": ["Choose a category in the article's language."]
    }
    assert same_language.json()["error"]["fields"] == {
        "translation_of": ["Choose one in the other language."]
    }
    assert second_translation.json()["error"]["fields"] == {
        "translation_of": ["That article already has a translation in this language."]
    }
