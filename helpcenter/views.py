"""The public help center at /help/: server-rendered pages that search engines read, one URL
per language (/help/en/…, /help/tr/…), each naming its other-language versions (hreflang).
/help/ itself sends the visitor to their language (the language cookie the site's switcher
sets, else Accept-Language)."""

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from conversations.search import MAX_QUERY_LENGTH, clean_search_text
from conversations.throttling import hit_scope, request_ip

from . import search, selectors, services
from .models import Article, ArticleFeedback, Category, Language

SEARCH_RESULTS = 20


def help_root(request: HttpRequest) -> HttpResponse:
    language = translation.get_language() or Language.ENGLISH
    if language not in Language.values:
        language = Language.ENGLISH
    response = redirect("helpcenter:home", language)
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


def render_page(
    request: HttpRequest,
    template: str,
    language: str,
    context: dict[str, Any],
    *,
    alternates: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    """A page in `language`, with its canonical URL and its versions in other languages
    (`alternates`: language → path, this page's own included)."""
    absolute = {code: request.build_absolute_uri(path) for code, path in alternates.items()}
    switch = [
        (code, name, alternates.get(code) or reverse("helpcenter:home", args=[code]))
        for code, name in Language.choices
    ]
    with translation.override(language):
        response = render(
            request,
            template,
            {
                **context,
                "language": language,
                "canonical": absolute[language],
                "alternates": sorted(absolute.items()),
                "language_links": switch,
                "x_default": request.build_absolute_uri(reverse("helpcenter:root")),
            },
            status=status,
        )
    response["Content-Language"] = language
    return response


def home(request: HttpRequest, language: str) -> HttpResponse:
    context = {
        "categories": selectors.categories_with_articles(language),
        "featured": selectors.featured_articles(language),
        "popular": selectors.popular_articles(language),
    }
    alternates = {code: reverse("helpcenter:home", args=[code]) for code in Language.values}
    return render_page(request, "helpcenter/home.html", language, context, alternates=alternates)


def category(request: HttpRequest, language: str, slug: str) -> HttpResponse:
    found = get_object_or_404(Category, language=language, slug=slug)
    articles = selectors.with_text(selectors.article_listing(language).filter(category=found))
    context = {"category": found, "articles": list(articles)}
    alternates = alternates_of(found)
    return render_page(
        request, "helpcenter/category.html", language, context, alternates=alternates
    )


def article(request: HttpRequest, language: str, slug: str, *, status: int = 200) -> HttpResponse:
    found = get_object_or_404(
        selectors.published_articles(language).select_related("category"), slug=slug
    )
    if request.method == "GET":
        services.article_record_view(
            article_id=found.pk, user_agent=request.META.get("HTTP_USER_AGENT", "")
        )
    context = {
        "article": found,
        "description": selectors.article_summary(found),
        "translations": selectors.translations_of(found),
        "voted": request.GET.get("voted") if status == 200 else "limited",
    }
    return render_page(
        request,
        "helpcenter/article.html",
        language,
        context,
        alternates=alternates_of(found),
        status=status,
    )


def alternates_of(item: Article | Category) -> dict[str, str]:
    versions = [item, *selectors.translations_of(item)]
    return {version.language: version.get_absolute_url() for version in versions}


@require_POST
def article_feedback(request: HttpRequest, language: str, slug: str) -> HttpResponse:
    """The page's "Was this helpful?" form: records the vote, then back to the article."""
    found = get_object_or_404(selectors.published_articles(language), slug=slug)
    answer = request.POST.get("helpful")
    if answer not in ("yes", "no"):
        raise Http404  # only the form's two buttons post here
    if hit_scope("widget_feedback", request_ip(request.META)) is not None:
        return article(request, language, slug, status=429)
    services.article_feedback_record(
        article=found, helpful=answer == "yes", customer=None, source=ArticleFeedback.Source.PAGE
    )
    return redirect(found.get_absolute_url() + "?voted=" + answer + "#feedback")


def sitemap(request: HttpRequest) -> HttpResponse:
    """/help/sitemap.xml: every page search engines should read, with its last change."""
    articles = selectors.published_articles().only("slug", "language", "updated_at")
    pages = [(reverse("helpcenter:home", args=[code]), None) for code in Language.values]
    pages += [(category.get_absolute_url(), None) for category in Category.objects.all()]
    pages += [(item.get_absolute_url(), item.updated_at) for item in articles.order_by("pk")]
    urls = [(request.build_absolute_uri(path), changed) for path, changed in pages]
    return render(request, "helpcenter/sitemap.xml", {"urls": urls}, content_type="application/xml")


def search_page(request: HttpRequest, language: str) -> HttpResponse:
    text = clean_search_text(request.GET.get("q", ""))[:MAX_QUERY_LENGTH]
    hits = search.search_articles(text, language=language, limit=SEARCH_RESULTS) if text else []
    query = "?" + urlencode({"q": text}) if text else ""
    alternates = {
        code: reverse("helpcenter:search", args=[code]) + query for code in Language.values
    }
    return render_page(
        request,
        "helpcenter/search.html",
        language,
        {"query": text, "hits": hits},
        alternates=alternates,
    )
