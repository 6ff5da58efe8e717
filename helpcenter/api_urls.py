"""URLs of the help center API, mounted under /api/v1/ (shared/API.md)."""

from django.urls import path

from . import api

app_name = "helpcenter_api"

urlpatterns = [
    path("widget/articles", api.WidgetArticlesView.as_view(), name="widget-articles"),
    path("widget/articles/<int:pk>", api.WidgetArticleView.as_view(), name="widget-article"),
    path(
        "widget/articles/<int:pk>/feedback",
        api.WidgetArticleFeedbackView.as_view(),
        name="widget-article-feedback",
    ),
    path("widget/suggestions", api.WidgetSuggestionsView.as_view(), name="widget-suggestions"),
    path(
        "widget/suggestions/<str:key>/conversation",
        api.WidgetSuggestionsFollowedView.as_view(),
        name="widget-suggestions-followed",
    ),
    path("articles", api.ArticleListView.as_view(), name="articles"),
    path("articles/<int:pk>", api.ArticleDetailView.as_view(), name="article"),
]
