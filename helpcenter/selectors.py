"""Read queries of the help center. Lists never load article bodies (`LIST_FIELDS`)."""

from datetime import timedelta

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from .models import Article, Category
from .rendering import summarize

LIST_FIELDS = ("id", "slug", "title", "language", "category_id", "summary", "updated_at")
POPULAR_DAYS = 30


def published_articles(language: str | None = None) -> QuerySet[Article]:
    articles = Article.objects.filter(published=True)
    return articles.filter(language=language) if language else articles


def article_listing(language: str) -> QuerySet[Article]:
    """Published articles of a language, titles and summaries only."""
    return published_articles(language).only(*LIST_FIELDS).order_by("title")


def categories_with_articles(language: str) -> list[Category]:
    """The language's categories in their order, each with its published articles (titles
    only), leaving out those with none."""
    categories = Category.objects.filter(language=language).prefetch_related(
        Prefetch("articles", article_listing(language), to_attr="listed")
    )
    return [category for category in categories if category.listed]


def with_text(articles: QuerySet[Article]) -> QuerySet[Article]:
    """A few articles shown with their summary: the plain text too, not the body."""
    return articles.only(*LIST_FIELDS, "body_text")


def featured_articles(language: str, *, limit: int = 6) -> list[Article]:
    featured = article_listing(language).filter(featured=True).order_by("-updated_at")
    return list(with_text(featured)[:limit])


def popular_articles(language: str, *, limit: int = 6) -> list[Article]:
    """Most read over the last POPULAR_DAYS days."""
    since = timezone.localdate() - timedelta(days=POPULAR_DAYS)
    recent = Q(daily_views__day__gte=since)
    popular = (
        article_listing(language)
        .annotate(recent_views=Sum("daily_views__views", filter=recent))
        .filter(recent_views__gt=0)
        .order_by("-recent_views", "title")
    )
    return list(with_text(popular)[:limit])


def article_summary(article: Article) -> str:
    """The author's summary, else the start of the text (needs body_text loaded)."""
    return article.summary or summarize(article.body_text)


def translations_of(item: Article | Category) -> list:
    """The other-language versions of an article or category (original and translations)."""
    model = type(item)
    root = item.translation_of_id or item.pk
    found = model.objects.filter(Q(pk=root) | Q(translation_of_id=root)).exclude(pk=item.pk)
    if model is Article:
        found = found.filter(published=True).only(*LIST_FIELDS)
    return list(found)
