"""Template filters of the help center's pages."""

from django import template

from ..models import Article
from ..selectors import article_summary

register = template.Library()


@register.filter
def summary(article: Article) -> str:
    return article_summary(article)
