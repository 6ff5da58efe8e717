"""Full-text search of the agents' list (`q=`): ranking, highlights, languages, visibility,
input that must never fail, the SQLite fallback, and a list whose cost does not grow."""

import io
import json
import re

import pytest
from django.core.management import call_command

from conversations import pagination, search
from conversations.models import Conversation
from conversations.services import Author, conversation_update, message_post

pytestmark = pytest.mark.django_db

LIST = "/api/v1/conversations"


@pytest.fixture(params=["rare", "common"], autouse=True)
def plan(request, monkeypatch):
    """Every search test runs both ways of finding matches: from the GIN index (terms rare
    among the newest messages: always so in small tests) and by walking the newest rows
    (forced here by calling every term common)."""
    if request.param == "common":
        monkeypatch.setattr(search, "COMMON_MATCHES", 0)
    return request.param


def say(conversation, body: str, *, agent=None, private: bool = False) -> None:
    author = Author.of_agent(agent) if agent else Author.customer()
    message_post(
        conversation=conversation,
        author=author,
        body=body,
        client_id=f"m{conversation.messages.count()}",
        private=private,
    )


def found(client, q: str, **params) -> list[dict]:
    response = client.get(LIST, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def found_ids(client, q: str, **params) -> list[int]:
    return [result["id"] for result in found(client, q, **params)]


# --- Ranking and highlights ------------------------------------------------------------------


def test_more_and_better_matches_rank_first(alice_client, start_conversation):
    once = start_conversation(body="A question about my refund")
    often = start_conversation(body="Refund please, the refund is late")
    say(often, "Still no refund")
    elsewhere = start_conversation(body="Nothing to see here")
    results = found(alice_client, "refund")
    assert [result["id"] for result in results] == [often.pk, once.pk]
    assert results[0]["search"]["rank"] > results[1]["search"]["rank"] > 0
    assert elsewhere.pk not in found_ids(alice_client, "refund")


def test_a_customer_name_match_outranks_a_word_in_a_message(
    alice_client, make_customer, start_conversation
):
    mention = start_conversation(body="Zeynep from accounting said hello")
    theirs = start_conversation(customer=make_customer(name="Zeynep Kaya"), body="Hi there")
    results = found(alice_client, "zeynep")
    assert [result["id"] for result in results] == [theirs.pk, mention.pk]
    assert results[0]["search"]["highlight"].startswith("<mark>Zeynep</mark> Kaya")


def test_the_highlight_is_escaped_with_marks_only_around_the_words(
    alice_client, start_conversation
):
    conversation = start_conversation(body='<img src=x onerror=alert(1)> my "invoice" & co')
    [result] = found(alice_client, "invoice")
    highlight = result["search"]["highlight"]
    assert "<mark>invoice</mark>" in highlight
    assert "&lt;img src=x onerror=alert(1)&gt;" in highlight
    assert "&quot;" in highlight and "&amp; co" in highlight
    assert re.sub(r"</?mark>", "", highlight).count("<") == 0  # no other tag at all
    [result] = found(alice_client, "alert")  # a match inside the markup stays escaped around it
    assert result["id"] == conversation.pk
    assert "onerror=<mark>alert</mark>(1)&gt;" in result["search"]["highlight"]


def test_the_highlight_comes_from_the_best_matching_message(alice_client, start_conversation):
    conversation = start_conversation(body="Hello")
    say(conversation, "My delivery is late")
    say(conversation, "Thanks")
    [result] = found(alice_client, "delivery")
    assert result["search"]["highlight"] == "My <mark>delivery</mark> is late"


# --- Languages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, q",
    [
        ("Faturam gelmedi", "fatura"),
        ("Faturalar nerede?", "fatura"),
        ("Faturam gelmedi", "faturam"),
        ("FATURA kesilmedi", "fatura"),
        ("Şifremi unuttum", "şifre"),
        ("Siparişim nerede", "sipariş"),
        ("Where are my invoices?", "invoice"),
        ("The invoice is wrong", "invoices"),
        ("I was charged twice", "charge"),
        ("Refunding takes long", "refund"),
    ],
)
def test_turkish_and_english_word_forms_are_found(alice_client, start_conversation, body, q):
    conversation = start_conversation(body=body)
    start_conversation(body="Something else entirely")
    assert found_ids(alice_client, q) == [conversation.pk]
    assert "<mark>" in found(alice_client, q)[0]["search"]["highlight"]


def test_short_words_match_whole_words_only(alice_client, start_conversation):
    conversation = start_conversation(body="Ordering a new card")
    assert found_ids(alice_client, "ord") == [] and found_ids(alice_client, "car") == []
    assert found_ids(alice_client, "orde") == [conversation.pk]


def test_web_search_syntax(alice_client, start_conversation):
    both = start_conversation(body="refund for the late delivery")
    refund_only = start_conversation(body="refund for the card payment")
    phrase = start_conversation(body="late delivery again")
    assert sorted(found_ids(alice_client, "refund delivery")) == [both.pk]
    assert sorted(found_ids(alice_client, "refund -delivery")) == [refund_only.pk]
    assert sorted(found_ids(alice_client, '"late delivery"')) == sorted([both.pk, phrase.pk])
    assert sorted(found_ids(alice_client, "card or phrase")) == [refund_only.pk]


@pytest.mark.parametrize(
    "q",
    ['"', '"unclosed', "or", "-", "!!!", "&|<->!()", "'", "a:*", "((", "the", "ve",
     "' or 1=1 --", "\\", "🙂", "%"],
)  # fmt: skip
def test_any_typed_input_answers_200(alice_client, start_conversation, q):
    start_conversation(body="Hello, I need help")
    response = alice_client.get(LIST, {"q": q})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("q", ["x" * (search.MAX_QUERY_LENGTH + 1), "x\x00y"])
def test_an_over_long_query_or_a_null_character_is_a_clear_400(alice_client, q):
    response = alice_client.get(LIST, {"q": q})
    assert response.status_code == 400
    assert "q" in response.json()["error"]["fields"]


def test_a_blank_query_is_no_search(alice_client, start_conversation):
    conversation = start_conversation()
    results = found(alice_client, "   ")
    assert [result["id"] for result in results] == [conversation.pk]
    assert "search" not in results[0]


# --- What is searched, and for whom ----------------------------------------------------------


def test_customer_name_and_email_match(alice_client, make_customer, start_conversation):
    named = start_conversation(customer=make_customer(name="Mehmet Öztürk"))
    mailed = start_conversation(customer=make_customer(name="X", email="ops@acme-corp.io"))
    assert found_ids(alice_client, "öztürk") == [named.pk]
    assert found_ids(alice_client, "Mehmet Öztürk") == [named.pk]
    assert found_ids(alice_client, "ops@acme-corp.io") == [mailed.pk]
    assert found_ids(alice_client, "acme") == [mailed.pk]


def test_private_notes_match_for_agents(alice, alice_client, start_conversation):
    conversation = start_conversation(body="Hello")
    say(conversation, "Possible chargeback, watch it", agent=alice, private=True)
    [result] = found(alice_client, "chargeback")
    assert result["id"] == conversation.pk
    assert "<mark>chargeback</mark>" in result["search"]["highlight"]


def test_agents_find_only_conversations_they_may_see(
    logged_in, alice, alice_client, make_agent, billing, support, start_conversation
):
    own_team = start_conversation(body="warranty claim", team=support)
    other_team = start_conversation(body="warranty question", team=billing)
    teamless = start_conversation(body="warranty too")
    assert sorted(found_ids(alice_client, "warranty")) == sorted([own_team.pk, teamless.pk])
    conversation_update(conversation=other_team, team=billing)
    admin = make_agent("root@example.com", is_superuser=True)
    assert sorted(found_ids(logged_in(admin), "warranty")) == sorted(
        [own_team.pk, other_team.pk, teamless.pk]
    )


def test_search_combines_with_filters_and_an_explicit_order(alice_client, start_conversation):
    first = start_conversation(body="coupon code", channel="email")
    second = start_conversation(body="coupon coupon coupon")
    assert found_ids(alice_client, "coupon", channel="email") == [first.pk]
    assert found_ids(alice_client, "coupon") == [second.pk, first.pk]  # by rank
    assert found_ids(alice_client, "coupon", ordering="created_at") == [first.pk, second.pk]


def imported(external_id: str, at: str, body: str) -> dict:
    """A line of an imported history: one customer message at `at` (5 January 2026)."""
    sent_at = f"2026-01-05T{at}:00+00:00"
    return {
        "external_id": external_id,
        "channel": "web",
        "customer": {"external_id": f"u-{external_id}", "name": "Deniz Aksoy"},
        "messages": [{"author_kind": "customer", "body": body, "sent_at": sent_at}],
    }


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_ordering_by_time_follows_the_times_not_the_ids_of_an_imported_history(
    who, alice_client, logged_in, make_agent, tmp_path, monkeypatch
):
    """An import need not come in time order: the evening's conversation gets the lowest ids.
    Ordered by time, a search lists it first, and the window of newest matches is newest
    in time, not in ids (a window of two here, so three matches overflow it)."""
    lines = [
        imported("late", "23:39", "Where is my refund?"),
        imported("early", "09:02", "Refund status please"),
        imported("afternoon", "15:17", "A refund for order 12"),
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    call_command("import_history", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    ids = dict(Conversation.objects.values_list("external_id", "pk"))
    assert ids["late"] < ids["early"] < ids["afternoon"]  # ids do not follow time
    monkeypatch.setattr(search, "SEARCH_WINDOW", 2)
    client = alice_client if who == "alice" else logged_in(make_agent(is_superuser=True))
    for ordering in ("-created_at", "-last_activity_at"):
        assert found_ids(client, "refund", ordering=ordering) == [ids["late"], ids["afternoon"]]


# --- SQLite fallback (plain ORM: it runs on PostgreSQL too) ----------------------------------


def test_the_substring_fallback_ranks_filters_and_highlights(make_customer, start_conversation):
    often = start_conversation(body="<b>Refund</b> me")
    say(often, "refund!")
    once = start_conversation(customer=make_customer(name="Refundo"), body="hi")
    start_conversation(body="other")
    results = search.substring_search(Conversation.objects.all(), "refund", by_rank=True)
    page = list(results.conversations)
    assert [c.pk for c in page] == [often.pk, once.pk]
    fields = results.search_fields(page)
    assert fields[often.pk] == {
        "rank": 2.0,
        "highlight": "&lt;b&gt;<mark>Refund</mark>&lt;/b&gt; me",
    }
    assert fields[once.pk]["highlight"].startswith("<mark>Refund</mark>o")


def test_the_fallback_highlight_cuts_long_text_around_the_match():
    text = "a" * 500 + " needle " + "b" * 500
    highlight = search.highlight_text(text, "needle")
    assert highlight.startswith("… ") and highlight.endswith(" …")
    assert "<mark>needle</mark>" in highlight and len(highlight) < 200


# --- The list stays cheap --------------------------------------------------------------------


def test_the_list_costs_the_same_queries_whatever_the_page_size(
    alice, alice_client, start_conversation, django_assert_num_queries
):
    for n in range(12):
        conversation = start_conversation(body=f"help with order {n}")
        conversation_update(conversation=conversation, labels=["vip", f"l{n}"])
        if n % 2:
            say(conversation, "help again", agent=alice)  # her reply assigns it to her
    # session, user, count, page, labels
    with django_assert_num_queries(5):
        assert len(alice_client.get(LIST, {"page_size": 3}).json()["results"]) == 3
    with django_assert_num_queries(5):
        assert (
            len(alice_client.get(LIST, {"page_size": 12, "assignee": "none"}).json()["results"])
            == 6
        )
    # session, user, query terms, first look (common?), ranking (which also counts), page,
    # labels, highlights
    with django_assert_num_queries(8):
        assert len(alice_client.get(LIST, {"q": "help", "page_size": 3}).json()["results"]) == 3
    with django_assert_num_queries(8):
        results = alice_client.get(LIST, {"q": "help", "page_size": 12}).json()["results"]
    assert len(results) == 12 and all(result["search"]["highlight"] for result in results)


def test_next_needs_no_count_and_a_count_beyond_the_cap_is_flagged(
    alice_client, start_conversation, monkeypatch
):
    conversations = [start_conversation() for _ in range(5)]
    page = alice_client.get(LIST, {"page_size": 2}).json()
    assert page["count"] == 5 and page["count_exact"] is True and page["next"]
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    page = alice_client.get(LIST, {"page_size": 2}).json()
    assert page["count_exact"] is False and page["count"] >= 4
    last = alice_client.get(LIST, {"page_size": 2, "page": 3}).json()
    assert [c["id"] for c in last["results"]] == [conversations[0].pk]
    assert last["next"] is None
    assert alice_client.get(LIST, {"page_size": 2, "page": 4}).status_code == 404
