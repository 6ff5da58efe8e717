"""Article search: the one function every caller uses (the API, the /help/ pages, the widget's
suggestions, and later the bot's "best matching articles").

PostgreSQL: each article stores `search_vector` (migration 0002_search), generated from its
title (weight A) and plain text (weight B) with its own language's text search configuration
(`english` or `turkish`), GIN-indexed. The text is folded first the Turkish way (İ → i,
I → ı; English: İ → i), the same way a query is here, so "İade" and "iade" meet.

Two kinds of query:
- a search (the help center's search box, the API's `q`): the words as typed, web search
  syntax (quotes, or, -word), all of them required;
- as you type (suggestions while a customer writes their first message): any of the words,
  the last one as a prefix, since it may be unfinished ("karg" finds "kargo").

Speed: a word found in most articles must not cost a ts_rank of every one of them. At most
CANDIDATES matching rows are read from the index (fewer while typing), ranked with ts_rank,
and ts_headline runs for the returned rows only (bench/help_search.py measures it).

Snippets are the article's plain text, HTML-escaped before ts_headline adds <mark> around
the matching words: safe to insert as HTML, and <mark> is the only markup in them.

SQLite (the embedded mode) has no text search: a case-insensitive substring match of the
words (ASCII letters only: SQLite folds no other case), titles first.
"""

import html
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from conversations.search import ESCAPED, clean_search_text, highlight_text

from .models import Article, Language
from .rendering import summarize

CONFIGURATIONS = {Language.ENGLISH: "english", Language.TURKISH: "turkish"}
CANDIDATES = 500  # matching rows ranked per search
TYPING_CANDIDATES = 200  # … and per suggestion
MIN_TYPED_PREFIX = 3  # a word being typed matches as a prefix from this many letters
MAX_TYPED_WORDS = 12  # a long first message: its first words carry its topic (+ the last)
HEADLINE = "StartSel=<mark>, StopSel=</mark>, MaxWords=28, MinWords=12, MaxFragments=1"
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class ArticleHit:
    id: int
    slug: str
    title: str
    language: str
    snippet: str  # HTML: escaped text, <mark> around the matches
    rank: float

    def get_absolute_url(self) -> str:
        return Article(slug=self.slug, language=self.language).get_absolute_url()


def fold(text: str, language: str) -> str:
    """Lower case as the language writes it; the generated column does the same in SQL."""
    if language == Language.TURKISH:
        text = text.replace("İ", "i").replace("I", "ı")
    return text.replace("İ", "i").lower()


def search_articles(
    text: str, *, language: str, limit: int = 10, as_you_type: bool = False
) -> list[ArticleHit]:
    """The published articles of `language` that match `text`, best first (at most `limit`)."""
    text = clean_search_text(text)
    if not text or language not in CONFIGURATIONS:
        return []
    if connection.vendor != "postgresql":
        return substring_search(text, language=language, limit=limit, as_you_type=as_you_type)
    config = CONFIGURATIONS[language]
    folded = fold(text, language)
    if as_you_type:
        query_sql, query_params = typed_query(folded, config)
        if not query_params[0]:  # only stop words or punctuation
            return []
    else:
        query_sql, query_params = "websearch_to_tsquery(%s::regconfig, %s)", [config, folded]
    candidates = TYPING_CANDIDATES if as_you_type else CANDIDATES
    return ranked_hits(
        query_sql, query_params, config=config, language=language, limit=limit, cap=candidates
    )


def featured_hit(article: Article) -> ArticleHit:
    """An article shown without a search: its summary as the snippet (escaped, no marks)."""
    snippet = html.escape(article.summary or summarize(article.body_text))
    return ArticleHit(article.pk, article.slug, article.title, article.language, snippet, 0.0)


def best_articles(text: str, *, language: str, limit: int = 3) -> list[ArticleHit]:
    """What to suggest for a customer's own words (a message, not a search box)."""
    return search_articles(text, language=language, limit=limit, as_you_type=True)


# --- PostgreSQL -----------------------------------------------------------------------------


def typed_query(folded: str, config: str) -> tuple[str, list[str]]:
    """SQL of a tsquery (and its parameters): any of the words, stemmed; the last one, which
    may be unfinished, as a prefix.

    The words are stemmed first, in a query of their own, so that the search's statement
    holds the tsquery as a constant: the planner then sees how common its words are and
    reads the first rows of a table full of matches instead of every match in the index
    (built inside the statement, it cost 2–3 times as much at 10,000 articles)."""
    words = WORD.findall(folded) or [""]
    done, last = words[:-1][: MAX_TYPED_WORDS - 1], words[-1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s)),"
            " tsvector_to_array(to_tsvector(%s::regconfig, %s))",
            [config, " ".join(done), config, last],
        )
        done_lexemes, last_lexemes = cursor.fetchone()
    terms = dict.fromkeys(quoted(lexeme) for lexeme in done_lexemes)
    for lexeme in last_lexemes:  # a stem is a prefix of its forms ("kargo" of "kargolar")
        terms.pop(quoted(lexeme), None)
        terms[quoted(lexeme) + (":*" if len(lexeme) >= MIN_TYPED_PREFIX else "")] = None
    return "%s::tsquery", [" | ".join(terms)]


def quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("'", "''") + "'"


def ranked_hits(
    query_sql: str, query_params: list, *, config: str, language: str, limit: int, cap: int
) -> list[ArticleHit]:
    """At most `cap` matching rows ranked, the best `limit` with their headline, in one
    statement. `query_sql` is the tsquery: constant for the planner (websearch_to_tsquery
    of constants is folded as it plans); empty, nothing matches."""
    sql = f"""
        WITH matched AS MATERIALIZED (
            SELECT id, search_vector FROM helpcenter_article
            WHERE published AND language = %s AND search_vector @@ {query_sql}
            LIMIT %s
        ), best AS (
            SELECT id, ts_rank(search_vector, {query_sql}) AS rank FROM matched
            ORDER BY rank DESC, id LIMIT %s
        )
        SELECT a.id, a.slug, a.title, best.rank, ts_headline(
            %s::regconfig, {ESCAPED.format("a.body_text")}, {query_sql}, %s
        )
        FROM best JOIN helpcenter_article a ON a.id = best.id
        ORDER BY best.rank DESC, a.id
    """
    params = [language, *query_params, cap, *query_params, limit, config, *query_params]
    params.append(HEADLINE)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        ArticleHit(pk, slug, title, language, snippet, float(rank))
        for pk, slug, title, rank, snippet in rows
    ]


# --- SQLite fallback ------------------------------------------------------------------------


def substring_search(
    text: str, *, language: str, limit: int, as_you_type: bool
) -> list[ArticleHit]:
    """The whole text (a search) or any word of 3+ letters (typing), in the title or the
    text; more matching words first, then title matches."""
    needles = [text]
    if as_you_type:
        needles = list(dict.fromkeys(w for w in WORD.findall(text) if len(w) >= 3))
        needles = needles[:MAX_TYPED_WORDS]
    if not needles:
        return []
    matches = Q()
    for needle in needles:
        matches |= Q(title__icontains=needle) | Q(body_text__icontains=needle)
    rows = Article.objects.filter(matches, published=True, language=language).values_list(
        "id", "slug", "title", "body_text"
    )[: TYPING_CANDIDATES if as_you_type else CANDIDATES]
    scored = []
    for pk, slug, title, body_text in rows:
        found = [n for n in needles if n.lower() in title.lower() or n.lower() in body_text.lower()]
        in_title = sum(n.lower() in title.lower() for n in needles)
        score = len(found) + in_title / 2
        in_body = next((n for n in found if n.lower() in body_text.lower()), None)
        snippet = (
            highlight_text(body_text, in_body) if in_body else html.escape(summarize(body_text))
        )
        scored.append(ArticleHit(pk, slug, title, language, snippet, float(score)))
    scored.sort(key=lambda hit: (-hit.rank, hit.id))
    return scored[:limit]
