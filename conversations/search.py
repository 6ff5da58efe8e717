"""Full-text search over conversations: the read queries behind `q=` and the inbox search box.

PostgreSQL: messages and customers carry a generated `search_vector` (migration 0004_search
says which text search configurations and why), indexed with GIN. A query is parsed with
`websearch_to_tsquery` (quotes, `or`, `-word`: anything a person types is valid input), the
way both the English and the Turkish stemmers read it, each term of MIN_PREFIX_LENGTH or
more letters matching as a prefix (Turkish stacks suffixes on a stem).

Ranking: a conversation scores the sum of `ts_rank` over its matching messages (more and
better matches rank higher) plus the rank of a customer name/email match, whose weight A
puts customers on top. Candidates are the SEARCH_WINDOW newest matching messages (and
customers) within the caller's scope: a word found in millions of messages is ranked among
its newest matches, which keeps a search fast on a million conversations (bench/RESULTS.md).

Highlights are built from the HTML-escaped text with `<mark>` added around the matching
words and nothing else, so they are safe to insert as HTML.

SQLite (the embedded mode) has no tsvector: a case-insensitive substring match, ranked by
the number of matching messages, highlighted in Python.
"""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import Coalesce

from .models import Attachment, Conversation, Message

SEARCH_WINDOW = 500  # matching messages (and customers) ranked per search, newest first
RECENT_ROWS = 10_000  # the first look at a term counts its matches among these newest rows
COMMON_MATCHES = 10  # that many there (0.1%) make a term common (common_terms)
MAX_QUERY_LENGTH = 200
MIN_PREFIX_LENGTH = 4  # shorter terms match whole words only ("car:*" would match too much)
HIGHLIGHT_OPTIONS = "StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12"
HIGHLIGHT_CHARS = 160  # the SQLite fallback's snippet around the first match

# A lexeme in the text form of a tsquery: quoted, with '' for a quote inside.
LEXEME = re.compile(r"'((?:[^']|'')*)'")


@dataclass
class SearchResults:
    """Matching conversations in rank order, with what the answer shows of each match."""

    conversations: QuerySet[Conversation] | Sequence[Conversation]
    text: str
    ranks: dict[int, float] = field(default_factory=dict)
    best_messages: dict[int, int | None] = field(default_factory=dict)
    words_query: str = ""
    names_query: str = ""

    def search_fields(self, page: list[Conversation]) -> dict[int, dict[str, Any]]:
        """{"rank", "highlight"} of each conversation of a page, in one query for the page."""
        highlights = self.highlights([conversation.pk for conversation in page])
        return {
            conversation.pk: {
                "rank": round(float(self.rank(conversation)), 6),
                "highlight": highlights.get(conversation.pk, ""),
            }
            for conversation in page
        }

    def rank(self, conversation: Conversation) -> float:
        return self.ranks.get(conversation.pk, 0.0)

    def highlights(self, conversation_ids: list[int]) -> dict[int, str]:
        return highlight_matches(self, conversation_ids)


def clean_search_text(text: str) -> str:
    """What is searched for: trimmed, without NUL (PostgreSQL text cannot hold it)."""
    return text.replace("\x00", " ").strip()[:MAX_QUERY_LENGTH]


def search_conversations(
    conversations: QuerySet[Conversation], text: str, *, by_rank: bool = True
) -> SearchResults:
    """The conversations of `conversations` (already narrowed to what the reader may see and
    to their filters) that match `text`, best first when `by_rank` (else in the queryset's own
    order). Private notes match: only agents search."""
    text = clean_search_text(text)
    if connection.vendor != "postgresql":
        return substring_search(conversations, text, by_rank=by_rank)
    words_query, names_query = search_queries(text)
    results = SearchResults(conversations.none(), text, words_query=words_query)
    results.names_query = names_query
    if not words_query and not names_query:
        return results
    rows = ranked_matches(conversations, words_query, names_query)
    results.ranks = {pk: rank for pk, rank, _ in rows}
    results.best_messages = {pk: message_id for pk, _, message_id in rows}
    ranked_ids = [pk for pk, _, _ in rows]  # best first
    if by_rank:  # pages read their ids from the scope (which still checks visibility)
        results.conversations = RankedConversations(conversations, ranked_ids)
    else:
        results.conversations = conversations.filter(pk__in=ranked_ids)
    return results


class RankedConversations(Sequence):
    """The matches in rank order, for a paginator: its length is known without a query, and
    a slice reads only the conversations it holds (ordering a few thousand rows by their
    place in a list in SQL costs more than the whole search)."""

    def __init__(self, conversations: QuerySet[Conversation], ranked_ids: list[int]) -> None:
        self.queryset, self.ranked_ids = conversations, ranked_ids

    def __len__(self) -> int:
        return len(self.ranked_ids)

    def count(self) -> int:
        return len(self.ranked_ids)

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        ids = self.ranked_ids[index]
        by_id = {conversation.pk: conversation for conversation in self.queryset.filter(pk__in=ids)}
        return [by_id[pk] for pk in ids if pk in by_id]


# --- PostgreSQL ---------------------------------------------------------------------------


def prefix_terms(tsquery: str, *, last_only: bool = False) -> str:
    """The tsquery with each lexeme of MIN_PREFIX_LENGTH or more matching as a prefix (only
    the last one with `last_only`: names are typed whole, but perhaps not finished, and a
    prefix of a name everybody shares would read the whole index)."""
    lexemes = list(LEXEME.finditer(tsquery))
    prefixed = lexemes[-1:] if last_only else lexemes
    parts, end = [], 0
    for match in lexemes:
        parts += [tsquery[end : match.end()]]
        lexeme = match.group(1).replace("''", "'")
        if match in prefixed and len(lexeme) >= MIN_PREFIX_LENGTH:
            parts += [":*"]
        end = match.end()
    return "".join(parts) + tsquery[end:]


def search_queries(text: str) -> tuple[str, str]:
    """(words, names): the tsqueries (text form) for message bodies and for customers.

    websearch_to_tsquery accepts any input; an empty result (only stop words or punctuation)
    comes back as ''."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT websearch_to_tsquery('english', %s)::text,"
            " websearch_to_tsquery('turkish', %s)::text,"
            " websearch_to_tsquery('simple', %s)::text",
            [text, text, text],
        )
        english, turkish, simple = cursor.fetchone()
    readings = dict.fromkeys(prefix_terms(q) for q in (english, turkish) if q)  # distinct
    words = " | ".join(f"( {reading} )" for reading in readings)
    return words, prefix_terms(simple, last_only=True)


def common_terms(words_query: str, names_query: str) -> tuple[bool, bool]:
    """Whether the words are common among the newest messages, and the names among the
    newest customers: a bounded first look (an id range) that tells which plan finds the
    newest matches fast. Planner estimates cannot: a prefix term no message holds is
    estimated like a frequent one, and walking the newest rows for it would read them all."""
    look = (
        "(SELECT count(*) FROM (SELECT 1 FROM {table} WHERE id > (SELECT max(id) FROM {table})"
        " - %s AND search_vector @@ %s::tsquery LIMIT %s) AS recent)"
    )
    sql = "SELECT {}, {}".format(
        look.format(table="conversations_message"), look.format(table="conversations_customer")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [RECENT_ROWS, words_query or "''", COMMON_MATCHES]
            + [RECENT_ROWS, names_query or "''", COMMON_MATCHES],
        )
        messages, customers = cursor.fetchone()
    return messages >= COMMON_MATCHES, customers >= COMMON_MATCHES


def ranked_matches(
    conversations: QuerySet[Conversation], words_query: str, names_query: str
) -> list[tuple[int, float, int | None]]:
    """(conversation id, rank, best message id or None) of the matches, best first.

    The newest SEARCH_WINDOW matches, found one of two ways (common_terms says which):
    - a rare term: every match from the GIN index (few), each looked up in the scope
      (LATERAL, kept apart by OFFSET 0: one index probe each, whatever the planner
      guesses of their number);
    - a common term: walking the newest rows until the window is full (the scope's
      conversations newest first, through an index of the list; or, for an unfiltered
      scope, the newest messages by time, through their created_at index: an imported
      history's ids need not follow time), which stops early because matches are dense.
    The scope is joined as a derived table, which PostgreSQL flattens into the query.
    """
    common_words, common_names = common_terms(words_query, names_query)
    try:
        scope, scope_params = (
            conversations.order_by().values("pk", "customer_id", "last_activity_at").query
        ).sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing by its own terms (status__in=[])
        return []
    scope_table = f"({scope}) AS c (id, customer_id, last_activity_at)"
    newest_first = "ORDER BY c.last_activity_at DESC, c.id DESC LIMIT %s"
    parts, params = [], []
    if words_query and not common_words:
        parts.append(f"""
            SELECT * FROM (
                WITH found AS MATERIALIZED (
                    SELECT id, conversation_id, search_vector FROM conversations_message
                    WHERE search_vector @@ %s::tsquery
                )
                SELECT m.conversation_id, ts_rank(m.search_vector, %s::tsquery), m.id
                FROM found m, LATERAL (
                    SELECT * FROM {scope_table} WHERE c.id = m.conversation_id OFFSET 0
                ) AS c {newest_first}
            ) AS message_hits""")
        params += [words_query, words_query, *scope_params, SEARCH_WINDOW]
    elif words_query and not conversations.query.where:  # everything (an admin, no filter)
        parts.append("""
            SELECT * FROM (
                SELECT m.conversation_id, ts_rank(m.search_vector, %s::tsquery), m.id
                FROM conversations_message m WHERE m.search_vector @@ %s::tsquery
                ORDER BY m.created_at DESC, m.id DESC LIMIT %s
            ) AS message_hits""")
        params += [words_query, words_query, SEARCH_WINDOW]
    elif words_query:
        parts.append(f"""
            SELECT * FROM (
                SELECT m.conversation_id, ts_rank(m.search_vector, %s::tsquery), m.id
                FROM {scope_table} JOIN conversations_message m ON m.conversation_id = c.id
                WHERE m.search_vector @@ %s::tsquery {newest_first}
            ) AS message_hits""")
        params += [words_query, *scope_params, words_query, SEARCH_WINDOW]
    if words_query:
        # Files by name (attachment_search, migration 0016_attachments): files are few next
        # to messages, so every match comes from the index, each looked up in the scope.
        parts.append(f"""
            SELECT * FROM (
                WITH found AS MATERIALIZED (
                    SELECT message_id, search_vector FROM conversations_attachment
                    WHERE search_vector @@ %s::tsquery
                )
                SELECT m.conversation_id, ts_rank(f.search_vector, %s::tsquery), m.id
                FROM found f JOIN conversations_message m ON m.id = f.message_id
                CROSS JOIN LATERAL (
                    SELECT * FROM {scope_table} WHERE c.id = m.conversation_id OFFSET 0
                ) AS c {newest_first}
            ) AS file_hits""")
        params += [words_query, words_query, *scope_params, SEARCH_WINDOW]
    if names_query and not common_names:
        parts.append(f"""
            SELECT * FROM (
                WITH found AS MATERIALIZED (
                    SELECT id, search_vector FROM conversations_customer
                    WHERE search_vector @@ %s::tsquery
                )
                SELECT c.id, ts_rank(cu.search_vector, %s::tsquery), NULL::bigint
                FROM found cu, LATERAL (
                    SELECT * FROM {scope_table} WHERE c.customer_id = cu.id OFFSET 0
                ) AS c {newest_first}
            ) AS customer_hits""")
        params += [names_query, names_query, *scope_params, SEARCH_WINDOW]
    elif names_query:
        parts.append(f"""
            SELECT * FROM (
                SELECT c.id, ts_rank(cu.search_vector, %s::tsquery), NULL::bigint
                FROM {scope_table} JOIN conversations_customer cu ON cu.id = c.customer_id
                WHERE cu.search_vector @@ %s::tsquery {newest_first}
            ) AS customer_hits""")
        params += [names_query, *scope_params, names_query, SEARCH_WINDOW]
    sql = f"""
        SELECT conversation_id, sum(rank) AS score,
               (array_agg(message_id ORDER BY rank DESC, message_id DESC)
                FILTER (WHERE message_id IS NOT NULL))[1]
        FROM ({" UNION ALL ".join(parts)}) AS hits (conversation_id, rank, message_id)
        GROUP BY conversation_id
        ORDER BY score DESC, conversation_id DESC
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, float(rank), message_id) for pk, rank, message_id in cursor.fetchall()]


# The body as HTML text: escaped before ts_headline adds its marks (the default parser skips
# entities such as &lt; as whole tokens, so a mark never lands inside one).
ESCAPED = (
    "replace(replace(replace(replace(replace({0}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),"
    " '\"', '&quot;'), '''', '&#x27;')"
)


def highlight_matches(results: SearchResults, conversation_ids: list[int]) -> dict[int, str]:
    """ts_headline of each conversation's best message, or of its customer when only the
    customer matched; the config that matched the message marks its words."""
    best = results.best_messages
    message_ids = [best[pk] for pk in conversation_ids if best.get(pk)]
    customer_only = [pk for pk in conversation_ids if not results.best_messages.get(pk)]
    if not message_ids and not customer_only:
        return {}
    body, name = ESCAPED.format("m.body"), ESCAPED.format("cu.name || ' ' || cu.email")
    words = results.words_query or "''"
    names = results.names_query or "''"
    sql = f"""
        SELECT m.conversation_id, CASE
            WHEN to_tsvector('english', m.body) @@ %s::tsquery
            THEN ts_headline('english', {body}, %s::tsquery, %s)
            ELSE ts_headline('turkish', {body}, %s::tsquery, %s) END
        FROM conversations_message m WHERE m.id = ANY(%s)
        UNION ALL
        SELECT c.id, ts_headline('simple', {name}, %s::tsquery, %s)
        FROM conversations_conversation c JOIN conversations_customer cu ON cu.id = c.customer_id
        WHERE c.id = ANY(%s)
    """
    params = [
        words, words, HIGHLIGHT_OPTIONS, words, HIGHLIGHT_OPTIONS, message_ids,
        names, HIGHLIGHT_OPTIONS, customer_only,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


# --- SQLite fallback ----------------------------------------------------------------------


class SubstringResults(SearchResults):
    def rank(self, conversation: Conversation) -> float:
        return getattr(conversation, "search_rank", 0)

    def highlights(self, conversation_ids: list[int]) -> dict[int, str]:
        """The first matching message of each conversation (or the customer), around the match."""
        matches = (
            Message.objects.filter(conversation_id__in=conversation_ids, body__icontains=self.text)
            .order_by("conversation_id", "id")
            .values_list("conversation_id", "body")
        )
        highlights: dict[int, str] = {}
        for pk, body in matches:
            highlights.setdefault(pk, highlight_text(body, self.text))
        missing = [pk for pk in conversation_ids if pk not in highlights]
        customers = Conversation.objects.filter(pk__in=missing).values_list(
            "pk", "customer__name", "customer__email"
        )
        for pk, name, email in customers:
            highlights[pk] = highlight_text(f"{name} {email}".strip(), self.text)
        return highlights


def highlight_text(text: str, needle: str) -> str:
    """A snippet of `text` around the first `needle`, HTML-escaped, each match in <mark>."""
    found = text.lower().find(needle.lower())
    start = max(found - HIGHLIGHT_CHARS // 2, 0) if found >= 0 else 0
    snippet = text[start : start + HIGHLIGHT_CHARS]
    parts = re.split(f"({re.escape(needle)})", snippet, flags=re.IGNORECASE)
    marked = "".join(
        f"<mark>{html.escape(part)}</mark>" if index % 2 else html.escape(part)
        for index, part in enumerate(parts)
    )
    return ("… " if start else "") + marked + (" …" if start + HIGHLIGHT_CHARS < len(text) else "")


def substring_search(
    conversations: QuerySet[Conversation], text: str, *, by_rank: bool
) -> SearchResults:
    """icontains over bodies, names and emails; rank = matching messages (+1 for the customer)."""
    results = SubstringResults(conversations.none(), text)
    if not text:
        return results
    in_customer = Q(customer__name__icontains=text) | Q(customer__email__icontains=text)
    named_files = Attachment.objects.filter(message=OuterRef("pk"), name__icontains=text)
    matching_messages = Message.objects.filter(
        Q(body__icontains=text) | Exists(named_files), conversation=OuterRef("pk")
    )
    message_count = (
        matching_messages.order_by().values("conversation").annotate(total=Count("pk"))
    ).values("total")
    matching = conversations.filter(in_customer | Exists(matching_messages)).annotate(
        search_rank=Coalesce(message_count, 0)
        + Case(When(in_customer, then=1), default=0, output_field=IntegerField())
    )
    if by_rank:
        matching = matching.order_by("-search_rank", "-last_activity_at", "-id")
    results.conversations = matching
    return results
