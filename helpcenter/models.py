"""The help center's data: categories and articles in English and Turkish, what the rendered
body looks like, how often an article was read and whether it helped.

An article and its translation are two rows in two languages: the translation points to the
original with `translation_of` (one original, at most one translation per language).
"""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.models import Conversation, Customer

# A suggestion session that no conversation follows within this long counts as deflected.
DEFLECTION_WINDOW = timedelta(minutes=30)


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    TURKISH = "tr", _("Turkish")


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=120, allow_unicode=False)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    description = models.CharField(_("description"), max_length=300, blank=True)
    order = models.PositiveIntegerField(
        _("order"), default=0, help_text=_("Lower numbers come first on the help center's home.")
    )
    translation_of = models.ForeignKey(
        "self",
        verbose_name=_("translation of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="translations",
        help_text=_("The same category in the other language."),
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["language", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["language", "slug"], name="category_slug_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def get_absolute_url(self) -> str:
        return reverse("helpcenter:category", args=[self.language, self.slug])

    def clean(self) -> None:
        check_translation(self)


class Article(models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
    )
    body = models.TextField(_("body"), help_text=_("Markdown: # headings, **bold**, lists, links."))
    # Derived from `body` by services.article_save (rendering.py): what pages show, and the
    # plain text that search reads and snippets quote.
    body_html = models.TextField(_("rendered body"), blank=True, editable=False)
    body_text = models.TextField(_("plain text"), blank=True, editable=False)
    summary = models.CharField(
        _("summary"),
        max_length=300,
        blank=True,
        help_text=_("The description search engines show; empty: the body's first words."),
    )
    translation_of = models.ForeignKey(
        "self",
        verbose_name=_("translation of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="translations",
        help_text=_("The original article, when this one is its translation."),
    )
    published = models.BooleanField(_("published"), default=False)
    featured = models.BooleanField(
        _("featured"), default=False, help_text=_("Shown first on the home page and in the widget.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["language", "title"]
        constraints = [
            models.UniqueConstraint(fields=["language", "slug"], name="article_slug_per_language"),
            models.UniqueConstraint(
                fields=["translation_of", "language"],
                condition=Q(translation_of__isnull=False),
                name="one_translation_per_language",
            ),
        ]
        indexes = [
            models.Index(
                fields=["language", "category"],
                condition=Q(published=True),
                name="article_published",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("helpcenter:article", args=[self.language, self.slug])

    def clean(self) -> None:
        check_translation(self)
        if self.category_id and self.category.language != self.language:
            raise ValidationError(
                {"category": _("Choose a category in the article's language.")},
                code="category_language",
            )


def check_translation(item: Category | Article) -> None:
    """A translation points to an original in another language, never to a translation."""
    original = item.translation_of
    if original is None:
        return
    if original.pk == item.pk or original.language == item.language:
        raise ValidationError(
            {"translation_of": _("Choose one in the other language.")}, code="translation_language"
        )
    if original.translation_of_id is not None:
        raise ValidationError(
            {"translation_of": _("Choose the original, not another translation.")},
            code="translation_chain",
        )


class ArticleViews(models.Model):
    """How many times an article was read on one day (pages and the widget; bots left out)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="daily_views")
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("views"), default=0)

    class Meta:
        verbose_name = _("article views")
        verbose_name_plural = _("article views")
        constraints = [
            models.UniqueConstraint(fields=["article", "day"], name="article_views_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {self.day}: {self.views}"


class ArticleFeedback(models.Model):
    """One "was this helpful?" answer; a customer's later answer replaces their earlier one."""

    class Source(models.TextChoices):
        PAGE = "page", _("help center page")
        WIDGET = "widget", _("widget")

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="feedback"
    )
    helpful = models.BooleanField(_("helpful"))
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "customer"],
                condition=Q(customer__isnull=False),
                name="one_vote_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.article_id}: {'+' if self.helpful else '-'}"


def new_suggestion_key() -> str:
    return secrets.token_urlsafe(18)


class SuggestionSession(models.Model):
    """The widget showed article suggestions to a customer writing their first message.

    If a conversation starts from that browser within DEFLECTION_WINDOW, the widget says so
    (`conversation`, `converted_at`); a session without one when the window closes is a
    question the articles may have answered: the reports' `self_service.deflected`.
    """

    key = models.CharField(
        _("key"), max_length=32, unique=True, default=new_suggestion_key, editable=False
    )
    shown_at = models.DateTimeField(_("shown at"), default=timezone.now)
    articles = models.PositiveSmallIntegerField(_("articles suggested"), default=0)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), null=True, blank=True, on_delete=models.SET_NULL
    )
    conversation = models.ForeignKey(
        Conversation,
        verbose_name=_("conversation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept if the conversation is ever deleted: the session led to one, whatever came after.
    converted_at = models.DateTimeField(_("conversation started at"), null=True, blank=True)

    class Meta:
        verbose_name = _("suggestion session")
        verbose_name_plural = _("suggestion sessions")
        indexes = [
            # The reports count sessions that led to nothing, by when their window closed.
            models.Index(
                fields=["shown_at"],
                condition=Q(converted_at__isnull=True),
                name="suggestions_deflected",
            )
        ]

    def __str__(self) -> str:
        return f"{self.shown_at:%Y-%m-%d %H:%M} ({self.articles})"
