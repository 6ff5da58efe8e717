"""Fixtures of the help center tests."""

import pytest


@pytest.fixture
def make_article(db):
    """`make_article(title, body, language="en", published=True, **fields)` through the
    service, so the body is rendered and the search column filled as in real use."""
    from helpcenter.models import Article
    from helpcenter.services import article_save

    def make(title: str, body: str = "Some text.", language: str = "en", **fields):
        fields.setdefault("published", True)
        return article_save(article=Article(), title=title, body=body, language=language, **fields)

    return make


@pytest.fixture
def make_category(db):
    from helpcenter.models import Category

    def make(name: str, language: str = "en", **fields):
        fields.setdefault("slug", name.lower().replace(" ", "-"))
        return Category.objects.create(name=name, language=language, **fields)

    return make
