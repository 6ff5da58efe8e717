"""The help center's REST API: articles for customers (search, read, "was this helpful?") under
/api/v1/widget/, and articles for agents (admins write, agents read) under /api/v1/articles."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import get_language_from_request, gettext_lazy
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api.base import AgentView, error_responses, get_or_404, validated
from conversations.api.schema import NO_NUL
from conversations.authentication import (
    CustomerTokenAuthentication,
    IsWidgetCustomer,
    WidgetCustomer,
)
from conversations.errors import InvalidInput
from conversations.models import Conversation
from conversations.pagination import StrictPageNumberPagination
from conversations.search import MAX_QUERY_LENGTH
from conversations.throttling import PerCustomerThrottle, PerIPThrottle, RateLimitedMixin

from . import search, selectors, services
from .models import Article, ArticleFeedback, Category, Language, SuggestionSession
from .serializers import (
    AgentArticleOutput,
    ArticleHitOutput,
    ArticleInput,
    ArticleOutput,
    FeedbackInput,
    FeedbackOutput,
    SuggestionSessionOutput,
    SuggestionsFollowedInput,
    SuggestionsInput,
)

SEARCH_RESULTS = 10
SUGGESTIONS = 3


class WidgetArticlesThrottle(PerIPThrottle):
    """Reads and searches, with or without a customer (HELPDESK_RATE_WIDGET_ARTICLES)."""

    scope = "widget_articles"


class WidgetFeedbackThrottle(PerCustomerThrottle):
    scope = "widget_feedback"


def request_language(request: Request) -> str:
    """`lang` when given, else the browser's (Accept-Language), else the site's default."""
    language = request.query_params.get("lang") or get_language_from_request(request)
    return language if language in Language.values else Language.ENGLISH


def absolute(request: Request, item: Any) -> str:
    return request.build_absolute_uri(item.get_absolute_url())


# --- Customer side --------------------------------------------------------------------------


class PublicArticleView(RateLimitedMixin, APIView):
    """Readable by anyone: the widget asks before a session exists, the pages' visitors have none."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [WidgetArticlesThrottle]


ARTICLE_LIST_PARAMETERS = [
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": MAX_QUERY_LENGTH, "pattern": NO_NUL},
        description=gettext_lazy(
            "Words to search for, web search syntax (“quoted phrase”, or, -word); empty: the "
            "featured articles."
        ),
    ),
    OpenApiParameter(
        "lang",
        {"type": "string", "enum": Language.values},
        description=gettext_lazy("The articles' language; default the browser's."),
    ),
    OpenApiParameter(
        "suggest",
        {"type": "string", "enum": ["true", "false"]},
        description=gettext_lazy(
            "“true”: `q` is what a customer is typing: any of its words match, the last one "
            "as a prefix, and the best three come back."
        ),
    ),
]


class WidgetArticlesView(PublicArticleView):
    @extend_schema(
        parameters=ARTICLE_LIST_PARAMETERS,
        responses={
            200: inline_serializer("WidgetArticles", {"results": ArticleHitOutput(many=True)}),
            **error_responses(400, 429),
        },
        operation_id="widget_articles_list",
        auth=[],
        tags=["widget"],
    )
    def get(self, request: Request) -> Response:
        """Ranked matches for `q` (snippets highlight with <mark> only), else the featured
        articles."""
        text, language, suggest = self.read_query(request)
        if text:
            limit = SUGGESTIONS if suggest else SEARCH_RESULTS
            hits = search.search_articles(text, language=language, limit=limit, as_you_type=suggest)
            results = [self.hit(request, hit) for hit in hits]
        else:
            results = [
                self.hit(request, search.featured_hit(article))
                for article in selectors.featured_articles(language)
            ]
        return Response({"results": ArticleHitOutput(results, many=True).data})

    @staticmethod
    def read_query(request: Request) -> tuple[str, str, bool]:
        text = request.query_params.get("q", "")
        errors = {}
        if len(text) > MAX_QUERY_LENGTH or "\x00" in text:
            errors["q"] = [_("At most %(n)d characters, no NUL.") % {"n": MAX_QUERY_LENGTH}]
        lang = request.query_params.get("lang")
        if lang is not None and lang not in Language.values:
            errors["lang"] = [_("“en” or “tr”.")]
        suggest = request.query_params.get("suggest", "false")
        if suggest not in ("true", "false"):
            errors["suggest"] = [_("“true” or “false”.")]
        if errors:
            raise serializers.ValidationError(errors)
        return text.strip(), request_language(request), suggest == "true"

    @staticmethod
    def hit(request: Request, hit: search.ArticleHit) -> dict[str, Any]:
        return {
            "id": hit.id,
            "slug": hit.slug,
            "title": hit.title,
            "snippet": hit.snippet,
            "url": absolute(request, hit),
            "language": hit.language,
        }


class WidgetArticleView(PublicArticleView):
    @extend_schema(
        responses={200: ArticleOutput, **error_responses(404, 429)}, auth=[], tags=["widget"]
    )
    def get(self, request: Request, pk: int) -> Response:
        """A published article; unpublished or unknown: 404. Counts as a read."""
        article = get_or_404(selectors.published_articles(), pk)
        services.article_record_view(
            article_id=article.pk, user_agent=request.META.get("HTTP_USER_AGENT", "")
        )
        body = {
            "id": article.pk,
            "slug": article.slug,
            "title": article.title,
            "body_html": article.body_html,
            "url": absolute(request, article),
            "language": article.language,
            "updated_at": article.updated_at,
        }
        return Response(ArticleOutput(body).data)


class WidgetArticleFeedbackView(RateLimitedMixin, APIView):
    """A vote, the customer's when the widget sends its Bearer token, else anonymous."""

    authentication_classes = [CustomerTokenAuthentication]
    permission_classes: list = []
    throttle_classes = [WidgetFeedbackThrottle]

    @extend_schema(
        request=FeedbackInput,
        responses={201: FeedbackOutput, **error_responses(400, 401, 404, 429)},
        auth=[{"customerToken": []}, {}],
        tags=["widget"],
    )
    def post(self, request: Request, pk: int) -> Response:
        article = get_or_404(selectors.published_articles(), pk)
        data = validated(FeedbackInput, request.data)
        user = request.user
        feedback = services.article_feedback_record(
            article=article,
            helpful=data["helpful"],
            customer=user.customer if isinstance(user, WidgetCustomer) else None,
            source=ArticleFeedback.Source.WIDGET,
        )
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)


class WidgetSuggestionsView(RateLimitedMixin, APIView):
    """The widget showed suggestions to someone writing a first message (with or without a
    session: the first message creates it)."""

    authentication_classes = [CustomerTokenAuthentication]
    permission_classes: list = []
    throttle_classes = [WidgetFeedbackThrottle]

    @extend_schema(
        request=SuggestionsInput,
        responses={201: SuggestionSessionOutput, **error_responses(400, 401, 429)},
        auth=[{"customerToken": []}, {}],
        operation_id="widget_suggestions_shown",
        tags=["widget"],
    )
    def post(self, request: Request) -> Response:
        """Records a suggestion session; its `key` names it when a conversation follows."""
        data = validated(SuggestionsInput, request.data)
        user = request.user
        session = services.suggestions_shown(
            articles=len(set(data["articles"])),
            customer=user.customer if isinstance(user, WidgetCustomer) else None,
        )
        return Response(SuggestionSessionOutput(session).data, status=status.HTTP_201_CREATED)


class WidgetSuggestionsFollowedView(RateLimitedMixin, APIView):
    authentication_classes = [CustomerTokenAuthentication]
    permission_classes = [IsWidgetCustomer]
    throttle_classes = [WidgetFeedbackThrottle]

    @extend_schema(
        request=SuggestionsFollowedInput,
        responses={200: SuggestionSessionOutput, **error_responses(400, 401, 404, 409, 429)},
        operation_id="widget_suggestions_followed",
        tags=["widget"],
    )
    def post(self, request: Request, key: str) -> Response:
        """The customer's conversation that followed the suggestions (within 30 minutes:
        else 409); the session is then no deflection. An unknown key or a conversation that
        is not theirs: 404."""
        session = SuggestionSession.objects.filter(key=key).first()
        data = validated(SuggestionsFollowedInput, request.data)
        customer = request.user.customer
        conversation = Conversation.objects.filter(
            pk=data["conversation"], customer=customer
        ).first()
        if session is None or conversation is None:
            raise Http404
        session = services.suggestions_followed_by(
            session=session, conversation=conversation, customer=customer
        )
        return Response(SuggestionSessionOutput(session).data)


# --- Agent side -----------------------------------------------------------------------------


class AdminsWrite(permissions.BasePermission):
    """Agents read articles; only admins (superusers) write them."""

    message = gettext_lazy("Only admins can change help center articles.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user.is_superuser)


class ArticlePagination(StrictPageNumberPagination):
    page_size = 50

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1  # 0 or past the end: 404
        return parameters


class AgentArticleView(AgentView):
    permission_classes = [*AgentView.permission_classes, AdminsWrite]

    def article_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        """The input with its references looked up (400 naming the field when unknown)."""
        fields = dict(data)
        for name, model in (("category", Category), ("translation_of", Article)):
            if fields.get(name) is not None:
                found = model.objects.filter(pk=fields[name]).first()
                if found is None:
                    message = _("No such id.")
                    raise InvalidInput(message, fields={name: message})
                fields[name] = found
        return fields

    def output(self, article: Article, *, code: int = status.HTTP_200_OK) -> Response:
        article = Article.objects.select_related("category").get(pk=article.pk)
        return Response(AgentArticleOutput(article, context={"request": self.request}).data, code)


@extend_schema(tags=["articles"])
class ArticleListView(AgentArticleView, generics.ListAPIView):
    serializer_class = AgentArticleOutput
    pagination_class = ArticlePagination

    def get_queryset(self) -> QuerySet[Article]:
        return Article.objects.select_related("category").order_by("language", "title", "id")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "language",
                {"type": "string", "enum": Language.values},
                description=gettext_lazy("Only articles in this language."),
            )
        ],
        responses={200: AgentArticleOutput(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every article, published or not, by language and title (agents and admins)."""
        articles = self.get_queryset()
        language = request.query_params.get("language")
        if language is not None:
            if language not in Language.values:
                raise serializers.ValidationError({"language": [_("“en” or “tr”.")]})
            articles = articles.filter(language=language)
        page = self.paginate_queryset(articles)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=ArticleInput,
        responses={201: AgentArticleOutput, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        """A new article (admins)."""
        data = validated(ArticleInput, request.data)
        article = services.article_save(article=Article(), **self.article_fields(data))
        return self.output(article, code=status.HTTP_201_CREATED)


class ArticlePatchInput(ArticleInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


@extend_schema(tags=["articles"])
class ArticleDetailView(AgentArticleView):
    @extend_schema(responses={200: AgentArticleOutput, **error_responses(401, 403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return self.output(get_or_404(Article.objects.all(), pk))

    @extend_schema(
        request=ArticleInput,  # drf-spectacular makes it PatchedArticleInput: nothing required
        responses={200: AgentArticleOutput, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Changes the fields given (admins)."""
        article = get_or_404(Article.objects.all(), pk)
        data = validated(ArticlePatchInput, request.data)  # partial: no defaults
        article = services.article_save(article=article, **self.article_fields(data))
        return self.output(article)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, pk: int) -> Response:
        """Deletes the article, its reads and votes (admins)."""
        services.article_delete(article=get_or_404(Article.objects.all(), pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
