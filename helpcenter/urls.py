"""Pages of the help center, mounted at /help/ (helpdesk/urls.py)."""

from django.urls import path, re_path

from . import views

app_name = "helpcenter"

LANGUAGE = r"(?P<language>en|tr)"
SLUG = r"(?P<slug>[-a-zA-Z0-9_]+)"

urlpatterns = [
    path("", views.help_root, name="root"),
    path("sitemap.xml", views.sitemap, name="sitemap"),
    re_path(rf"^{LANGUAGE}/$", views.home, name="home"),
    re_path(rf"^{LANGUAGE}/search/$", views.search_page, name="search"),
    re_path(rf"^{LANGUAGE}/categories/{SLUG}/$", views.category, name="category"),
    re_path(rf"^{LANGUAGE}/articles/{SLUG}/$", views.article, name="article"),
    re_path(
        rf"^{LANGUAGE}/articles/{SLUG}/feedback$",
        views.article_feedback,
        name="article-feedback",
    ),
]
