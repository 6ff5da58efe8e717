"""Authoring the help center in the admin: categories, and articles with a preview of the
rendered body (the saved one on load, then the form's own text as the author types)."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from . import services
from .models import Article, ArticleFeedback, Category
from .rendering import render_markdown

PREVIEW_MAX_CHARS = 100_000


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "order", "slug", "translation_of"]
    list_editable = ["order"]
    list_filter = ["language"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["translation_of"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "language", "category", "published", "featured", "updated_at"]
    list_filter = ["language", "published", "featured", "category"]
    search_fields = ["title", "slug", "body"]
    list_select_related = ["category"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["translation_of", "category"]
    readonly_fields = ["preview", "statistics", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "language", "category", "body", "preview"]}),
        (
            _("Publishing"),
            {"fields": ["published", "featured", "summary", "translation_of"]},
        ),
        (_("Activity"), {"fields": ["statistics", "created_at", "updated_at"]}),
    ]

    class Media:
        css = {"all": ["helpcenter/admin.css"]}
        js = ["helpcenter/admin-preview.js"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return super().get_queryset(request).defer("body_html", "body_text")

    @admin.display(description=_("preview"))
    def preview(self, article: Article) -> str:
        """The saved body as readers see it; admin-preview.js replaces it while typing."""
        # body_html is sanitized by rendering.render_markdown (nh3) when the article is saved.
        body = mark_safe(article.body_html) if article.pk else ""  # noqa: S308
        return format_html(
            '<div class="hc-preview" data-preview-url="{}" aria-live="polite">{}</div>',
            reverse("admin:helpcenter_article_preview"),
            body,
        )

    @admin.display(description=_("reads and votes"))
    def statistics(self, article: Article) -> str:
        if not article.pk:
            return "–"
        views = article.daily_views.aggregate(total=Sum("views"))["total"] or 0
        helpful = ArticleFeedback.objects.filter(article=article, helpful=True).count()
        unhelpful = ArticleFeedback.objects.filter(article=article, helpful=False).count()
        return _("%(views)d reads; helpful: %(yes)d yes, %(no)d no") % {
            "views": views,
            "yes": helpful,
            "no": unhelpful,
        }

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        services.article_save(article=obj)  # renders the body and stamps updated_at

    def delete_model(self, request: HttpRequest, obj: Article) -> None:
        services.article_delete(article=obj)

    def get_urls(self) -> list[Any]:
        preview = path(
            "preview/",
            self.admin_site.admin_view(require_POST(self.preview_view)),
            name="helpcenter_article_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """The form's Markdown rendered exactly as a save would (staff only, CSRF-checked)."""
        if not self.has_view_or_change_permission(request):
            return JsonResponse({"html": ""}, status=403)
        body = request.POST.get("body", "")[:PREVIEW_MAX_CHARS]
        return JsonResponse({"html": render_markdown(body)})


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    list_display = ["article", "helpful", "source", "customer", "created_at"]
    list_filter = ["helpful", "source", "article__language"]
    search_fields = ["article__title"]
    list_select_related = ["article", "customer"]
    readonly_fields = ["article", "helpful", "source", "customer", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
