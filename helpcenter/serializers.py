"""The help center's API shapes (shared/API.md "Self-service and engagement")."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from conversations.ids import MAX_ID
from conversations.serializers import StrictCharField, StrictSlugField

from .models import Article, Language

MAX_BODY_LENGTH = 100_000


class StrictBooleanField(serializers.BooleanField):
    """true or false, nothing that merely looks like one ("yes", 1)."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class IdField(serializers.IntegerField):
    """An id: a whole number (not a string, not true), or null."""

    default_error_messages = {"invalid": _("A whole number.")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- Customer side --------------------------------------------------------------------------


class ArticleHitOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    snippet = serializers.CharField(
        help_text=_("HTML-escaped text with <mark> around the matching words (no other markup).")
    )
    url = serializers.URLField(help_text=_("The article's public page."))
    language = serializers.ChoiceField(choices=Language.choices)


class ArticleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    body_html = serializers.CharField(help_text=_("Sanitized HTML rendered from the Markdown."))
    url = serializers.URLField()
    language = serializers.ChoiceField(choices=Language.choices)
    updated_at = serializers.DateTimeField()


class FeedbackInput(serializers.Serializer):
    helpful = StrictBooleanField(help_text=_("Whether the article answered the question."))


class FeedbackOutput(serializers.Serializer):
    article = serializers.IntegerField(source="article_id")
    helpful = serializers.BooleanField()


class SuggestionsInput(serializers.Serializer):
    articles = serializers.ListField(
        child=IdField(),
        min_length=1,
        max_length=10,
        help_text=_("The ids of the articles suggested."),
    )


class SuggestionSessionOutput(serializers.Serializer):
    key = serializers.CharField(help_text=_("Names the session in …/conversation."))
    shown_at = serializers.DateTimeField()
    conversation = serializers.IntegerField(source="conversation_id", allow_null=True)


class SuggestionsFollowedInput(serializers.Serializer):
    conversation = IdField(help_text=_("The customer's conversation that followed them."))


# --- Agent side -----------------------------------------------------------------------------


class CategoryRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AgentArticleOutput(serializers.ModelSerializer):
    category = CategoryRefOutput(allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = [
            "id", "slug", "title", "body", "body_html", "summary", "language", "category",
            "translation_of", "published", "featured", "url", "created_at", "updated_at",
        ]  # fmt: skip

    def get_url(self, article: Article) -> str:
        return self.context["request"].build_absolute_uri(article.get_absolute_url())


class ArticleInput(serializers.Serializer):
    title = StrictCharField(max_length=200, needs_text=True)
    body = StrictCharField(max_length=MAX_BODY_LENGTH, needs_text=True, trim_whitespace=False)
    language = serializers.ChoiceField(choices=Language.choices)
    category = IdField(required=False, allow_null=True, help_text=_("A category id, or null."))
    translation_of = IdField(
        required=False, allow_null=True, help_text=_("The original article's id, or null.")
    )
    published = StrictBooleanField(required=False, default=False)
    featured = StrictBooleanField(required=False, default=False)
    slug = StrictSlugField(
        required=False, allow_blank=True, max_length=200, help_text=_("Empty: made from the title.")
    )
    summary = StrictCharField(required=False, allow_blank=True, max_length=300)
