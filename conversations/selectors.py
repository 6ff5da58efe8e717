"""Read queries for conversations and the event log."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .live.presence import customer_is_online
from .models import (
    Attachment,
    AuthorKind,
    Conversation,
    ConversationEvent,
    Customer,
    Mention,
    Message,
    NpsResponse,
    PageView,
    ReadMarker,
    SavedView,
    Team,
)
from .search import SearchResults, search_conversations  # noqa: F401  (the search selectors)


def conversations_visible_to_agent(user: Any) -> QuerySet[Conversation]:
    """Admins see everything; an agent sees their teams, their assignments and the team-less inbox.

    The agent's teams come as a subquery, not a join: no duplicate rows to remove with
    DISTINCT, so a page of a million-row inbox reads straight from an ordered index."""
    conversations = Conversation.objects.all()
    if user.is_superuser:
        return conversations
    their_teams = Team.objects.filter(members=user).values("pk")
    return conversations.filter(Q(team__in=their_teams) | Q(assignee=user) | Q(team__isnull=True))


def saved_views_for_agent(user: Any) -> QuerySet[SavedView]:
    """The agent's own saved views and those shared with their teams, in their order."""
    their_teams = Team.objects.filter(members=user).values("pk")
    views = SavedView.objects.filter(Q(owner=user) | Q(team__in=their_teams))
    return views.select_related("team").order_by("position", "id")


def saved_views_readable_by(user: Any) -> QuerySet[SavedView]:
    """saved_views_for_agent, and for admins every team's shared views (they may change
    them); someone else's personal view is nobody else's."""
    if user.is_superuser:
        return SavedView.objects.filter(Q(owner=user) | Q(team__isnull=False))
    return saved_views_for_agent(user)


def may_change_saved_view(user: Any, view: SavedView, their_teams: set[int] | None = None) -> bool:
    """A personal view is its owner's; a shared one is its team's and the admins'.
    `their_teams` (the user's team ids, when known) saves a query per view of a list."""
    if view.team_id is None:
        return view.owner_id == user.pk
    if user.is_superuser:
        return True
    if their_teams is not None:
        return view.team_id in their_teams
    return Team.objects.filter(pk=view.team_id, members=user).exists()


def agents_who_may_read(conversation: Conversation) -> QuerySet[Any]:
    """The active staff users who may read the conversation: conversations_visible_to_agent
    the other way round (admins, the team's members, the assignee; everyone without a team)."""
    staff = get_user_model().objects.filter(is_active=True, is_staff=True)
    if conversation.team_id is None:
        return staff
    members = Team.members.through.objects.filter(team_id=conversation.team_id).values("user_id")
    return staff.filter(
        Q(is_superuser=True) | Q(pk__in=members) | Q(pk=conversation.assignee_id or 0)
    )


def mentioning(conversations: QuerySet[Conversation], user: Any) -> QuerySet[Conversation]:
    """Those with a private note that mentions the user (the "Participating" view)."""
    return conversations.filter(
        Exists(Mention.objects.filter(conversation=OuterRef("pk"), user=user))
    )


def attachment_for_reader(pk: int, reader: str, user: Any) -> Attachment | None:
    """The attachment if the reader of its link may read it now (files/links.py): the
    customer, from a public message of their own conversation; a staff user, in their own
    session (or with their token), from a conversation they may see."""
    if pk > 2**63 - 1:
        return None
    kind, reader_id = reader[0], int(reader[1:])
    attachments = Attachment.objects.filter(pk=pk)
    if kind == "c":
        attachments = attachments.filter(
            message__private=False, message__conversation__customer_id=reader_id
        )
    elif user is not None and user.is_authenticated and user.pk == reader_id and user.is_staff:
        if not user.is_active:
            return None
        attachments = attachments.filter(
            message__conversation__in=conversations_visible_to_agent(user)
        )
    else:
        return None
    return attachments.first()


def customers_visible_to_agent(user: Any) -> QuerySet[Customer]:
    """The customers of conversations the agent may read, and visitors who have not written
    yet (any agent may reach out to them); a customer of another team's conversations only
    is not visible."""
    customers = Customer.objects.all()
    if user.is_superuser:
        return customers
    theirs = conversations_visible_to_agent(user).filter(customer=OuterRef("pk"))
    any_conversation = Conversation.objects.filter(customer=OuterRef("pk"))
    return customers.filter(Q(Exists(theirs)) | ~Q(Exists(any_conversation)))


VISITOR_WINDOW = timedelta(hours=2)  # a visitor opened a page since: then ask presence
VISITORS_LIMIT = 200


def visitors_online(user: Any) -> list[Customer]:
    """Customers the agent may see who have the widget open now, last page view first.

    Candidates are those with a page view in the last VISITOR_WINDOW (an index read); the
    customer socket's presence (cache) says who is still there."""
    since = timezone.now() - VISITOR_WINDOW
    candidates = customers_visible_to_agent(user).filter(last_seen_at__gte=since)
    candidates = candidates.order_by("-last_seen_at", "-id")[:VISITORS_LIMIT]
    return [customer for customer in candidates if customer_is_online(customer.pk)]


def recent_pageviews(customers: list[Customer]) -> dict[int, list[PageView]]:
    """Each customer's page views, newest first (at most PAGEVIEWS_KEPT are stored)."""
    by_customer: dict[int, list[PageView]] = {customer.pk: [] for customer in customers}
    pageviews = PageView.objects.filter(customer__in=customers).order_by("-at", "-id")
    for pageview in pageviews:
        by_customer[pageview.customer_id].append(pageview)
    return by_customer


def current_pageviews(customers: list[Customer]) -> dict[int, PageView]:
    """Each customer's newest page view, in two queries whatever their number."""
    newest = PageView.objects.filter(customer=OuterRef("pk")).order_by("-at", "-id").values("pk")
    pks = Customer.objects.filter(pk__in=[customer.pk for customer in customers]).values_list(
        Subquery(newest[:1]), flat=True
    )
    return {view.customer_id: view for view in PageView.objects.filter(pk__in=list(pks))}


def with_unread(conversations: QuerySet[Conversation], user: Any) -> QuerySet[Conversation]:
    """Annotate `unread`: the customer messages after the agent's read marker (all of them
    when the agent never opened the conversation). Two subqueries in the same SELECT, so a
    page of conversations costs no extra query."""
    last_read = ReadMarker.objects.filter(conversation=OuterRef("pk"), user=user).values(
        "last_read_message_id"
    )[:1]
    unread = (
        Message.objects.filter(
            conversation=OuterRef("pk"),
            author_kind=AuthorKind.CUSTOMER,
            id__gt=OuterRef("last_read_message_id"),
        )
        .order_by()
        .values("conversation")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return conversations.annotate(
        last_read_message_id=Coalesce(Subquery(last_read), 0),
    ).annotate(unread=Coalesce(Subquery(unread), 0))


def customer_conversations(customer: Customer) -> QuerySet[Conversation]:
    return Conversation.objects.filter(customer=customer).order_by("-last_activity_at", "-id")


def nps_asked_again_at(customer: Customer) -> datetime | None:
    """When the customer may answer the NPS question again: their last answer plus
    HELPDESK_NPS_INTERVAL_DAYS; None if they never answered."""
    last = (
        NpsResponse.objects.filter(customer=customer)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last + timedelta(days=settings.HELPDESK_NPS_INTERVAL_DAYS) if last else None


def public_messages(conversation: Conversation, *, after: int | None = None) -> QuerySet[Message]:
    messages = conversation.messages.filter(private=False).order_by("id")
    if after is not None:
        messages = messages.filter(id__gt=after)
    return messages


def customer_events_after(
    customer: Customer, cursor: int | None, *, limit: int = 500
) -> list[ConversationEvent]:
    events = ConversationEvent.objects.filter(
        cursor__isnull=False, cursor__gt=cursor or 0, conversation__customer=customer, public=True
    )
    return list(events.order_by("cursor").select_related("conversation")[:limit])


def agent_events_after(
    user: Any, cursor: int | None, *, limit: int = 500
) -> list[ConversationEvent]:
    events = ConversationEvent.objects.filter(cursor__isnull=False, cursor__gt=cursor or 0)
    if not user.is_superuser:
        visible = conversations_visible_to_agent(user).values("pk")
        events = events.filter(conversation__in=visible)
    return list(events.order_by("cursor").select_related("conversation")[:limit])


def last_cursor() -> int:
    event = ConversationEvent.objects.filter(cursor__isnull=False).order_by("-cursor").first()
    return event.cursor if event else 0


def customer_by_token(token: str | None) -> Customer | None:
    """The customer a widget token belongs to, or None (never an exception for bad input)."""
    if not token or not isinstance(token, str) or len(token) > 64:
        return None
    return Customer.objects.filter(token=token).first()


def conversation_channels() -> list[str]:
    """Every channel that conversations use, sorted. A skip scan of the channel index (one
    probe per channel): SELECT DISTINCT would read every row of a million-row table."""
    table = connection.ops.quote_name(Conversation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE channels (name) AS (
                SELECT min(channel) FROM {table}
                UNION ALL
                SELECT (SELECT min(channel) FROM {table} WHERE channel > channels.name)
                FROM channels WHERE channels.name IS NOT NULL
            )
            SELECT name FROM channels WHERE name IS NOT NULL ORDER BY name
            """
        )
        return [name for (name,) in cursor.fetchall()]


def last_customer_message_at(conversation: Conversation) -> datetime | None:
    """When the customer last wrote in the conversation (a platform's reply window opens then)."""
    return (
        conversation.messages.filter(author_kind=AuthorKind.CUSTOMER)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
