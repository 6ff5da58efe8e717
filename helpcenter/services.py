"""Every write of the help center: saving an article (which renders it), counting a read,
recording a vote, the suggestion sessions of the widget."""

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from conversations.errors import InvalidInput, NotAllowed
from conversations.models import Conversation, Customer

from .models import DEFLECTION_WINDOW, Article, ArticleFeedback, ArticleViews, SuggestionSession
from .rendering import plain_text, render_markdown

# Crawlers, link previews and monitors: their reads are not a customer's.
BOT_AGENT = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|monitor|curl|wget|python-",
    re.IGNORECASE,
)
TURKISH_ASCII = str.maketrans("çğıöşüÇĞİÖŞÜ", "cgiosuCGIOSU")


def render_article(article: Article) -> None:
    """Fills the derived fields of `article` from its Markdown body (not saved)."""
    article.body_html = render_markdown(article.body)
    article.body_text = plain_text(article.body_html)


def unique_slug(title: str, *, language: str, exclude: int | None = None) -> str:
    """A slug of the title (Turkish letters spelled in ASCII), numbered when taken."""
    base = slugify(title.translate(TURKISH_ASCII))[:180] or "article"
    taken = set(
        Article.objects.filter(language=language, slug__startswith=base)
        .exclude(pk=exclude)
        .values_list("slug", flat=True)
    )
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


@transaction.atomic
def article_save(*, article: Article, **fields: Any) -> Article:
    """Creates or changes an article: validated (models' rules, as the admin's form checks
    them), rendered, stamped. Refusals are InvalidInput with the fields at fault."""
    for name, value in fields.items():
        setattr(article, name, value)
    if not article.slug:
        article.slug = unique_slug(article.title, language=article.language, exclude=article.pk)
    check_taken(article)
    try:
        article.full_clean()
    except ValidationError as error:
        raise InvalidInput(_("Some fields are not valid."), fields=error.message_dict) from error
    render_article(article)
    article.updated_at = timezone.now()
    article.save()
    return article


def check_taken(article: Article) -> None:
    """The unique rules, refused naming the field at fault (the model's constraints would
    name none)."""
    others = Article.objects.filter(language=article.language).exclude(pk=article.pk)
    if others.filter(slug=article.slug).exists():
        message = _("Another article in this language has this slug.")
        raise InvalidInput(message, fields={"slug": message})
    if (
        article.translation_of_id
        and others.filter(translation_of_id=article.translation_of_id).exists()
    ):
        message = _("That article already has a translation in this language.")
        raise InvalidInput(message, fields={"translation_of": message})


@transaction.atomic
def article_delete(*, article: Article) -> None:
    article.delete()


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(BOT_AGENT.search(user_agent))


def article_record_view(*, article_id: int, user_agent: str) -> None:
    """One more read of the article today (one statement: concurrent reads all count)."""
    if is_bot(user_agent):
        return
    table = ArticleViews._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (article_id, day, views) VALUES (%s, %s, 1) "
            f"ON CONFLICT (article_id, day) DO UPDATE SET views = {table}.views + 1",
            [article_id, timezone.localdate()],
        )


@transaction.atomic
def article_feedback_record(
    *, article: Article, helpful: bool, customer: Customer | None, source: str
) -> ArticleFeedback:
    """A vote; a known customer's new vote on the same article replaces their earlier one."""
    if customer is None:
        return ArticleFeedback.objects.create(article=article, helpful=helpful, source=source)
    feedback, _created = ArticleFeedback.objects.update_or_create(
        article=article,
        customer=customer,
        defaults={"helpful": helpful, "source": source, "created_at": timezone.now()},
    )
    return feedback


# --- Suggestion sessions: did the suggested articles spare a conversation? ------------------


def suggestions_shown(
    *, articles: int, customer: Customer | None, at: datetime | None = None
) -> SuggestionSession:
    """The widget showed `articles` suggestions to someone writing a first message."""
    return SuggestionSession.objects.create(
        articles=articles, customer=customer, shown_at=at or timezone.now()
    )


@transaction.atomic
def suggestions_followed_by(
    *, session: SuggestionSession, conversation: Conversation, customer: Customer
) -> SuggestionSession:
    """The customer started `conversation` after the suggestions: not deflected, if it
    started within DEFLECTION_WINDOW of them. One conversation per session; NotAllowed
    (409) for a conversation too late or a session already followed by another."""
    session = SuggestionSession.objects.select_for_update().get(pk=session.pk)
    if session.conversation_id == conversation.pk:
        return session  # the widget said so twice
    if session.converted_at is not None:
        raise NotAllowed(_("A conversation already followed these suggestions."))
    started = conversation.created_at
    if not session.shown_at <= started <= session.shown_at + DEFLECTION_WINDOW:
        raise NotAllowed(_("This conversation did not start soon after these suggestions."))
    session.conversation, session.converted_at = conversation, started
    session.customer = session.customer or customer
    session.save(update_fields=["conversation", "converted_at", "customer"])
    return session
