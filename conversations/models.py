"""Customers, teams and who belongs to them, conversations and messages, ratings, and the
event log.

Models hold data and invariants only. Every change goes through `services.py`, which appends
a ConversationEvent in the same transaction (see `events.py`).
"""

import secrets
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import lifecycle
from .files import storage as files_storage


def new_customer_token() -> str:
    return secrets.token_urlsafe(32)


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    token = models.CharField(
        _("token"), max_length=64, unique=True, default=new_customer_token, editable=False
    )
    identifier = models.CharField(
        _("verified identifier"),
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The embedding site's own id for this user, verified by HMAC."),
    )
    external_id = models.CharField(
        _("external id"), max_length=255, unique=True, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True, db_index=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        help_text=_("The language the widget last spoke with them; emails use it."),
    )
    # What the widget last reported (page views): shown to agents in the context panel.
    browser = models.CharField(_("browser"), max_length=100, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    attributes = models.JSONField(
        _("attributes"),
        default=dict,
        blank=True,
        help_text=_("Custom attributes sent by the embedding site (plan, order count, …)."),
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name or self.email or _("Customer #%(id)s") % {"id": self.pk}


class PageView(models.Model):
    """A page the customer opened with the widget on it; the last PAGEVIEWS_KEPT are kept."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="pageviews", verbose_name=_("customer")
    )
    url = models.CharField(_("URL"), max_length=2000)
    title = models.CharField(_("title"), max_length=300, blank=True)
    referrer = models.CharField(_("referrer"), max_length=2000, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("page view")
        verbose_name_plural = _("page views")
        indexes = [models.Index(fields=["customer", "-at"], name="pageview_customer_at")]

    def __str__(self) -> str:
        return self.title or self.url


class CustomerNote(models.Model):
    """A note about the customer (not about one conversation) that every agent sees."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="notes", verbose_name=_("customer")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.body[:50]


def default_time_zone() -> str:
    return settings.TIME_ZONE


def validate_time_zone(name: str) -> None:
    """An IANA time zone name that this system's tz database knows (e.g. Europe/Istanbul)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            _("“%(name)s” is not a time zone name such as Europe/Istanbul."),
            code="invalid_time_zone",
            params={"name": name},
        ) from error


class BotMode(models.TextChoices):
    """When a team's bot answers a new conversation before any agent (docs/bot.md)."""

    OFF = "off", _("Off")
    WHEN_UNAVAILABLE = "when_unavailable", _("When no agent can take the chat")
    ALWAYS_FIRST = "always_first", _("Always first")


class Team(models.Model):
    """Where conversations queue, and what access checks ask about ("is this user in it?").

    Members are users, not agent profiles: who may see a team's conversations is a question
    of the core, answered without knowing what an agent does (agents/ keeps capacity,
    presence and routing). The membership is a model of its own (TeamMembership) so that
    the row has a name, one pair per user and team, and room to grow.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(
        _("default team"),
        default=False,
        help_text=_("New conversations that name no team go here."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("The IANA name its business hours are in, e.g. Europe/Istanbul."),
    )
    bot = models.CharField(
        _("bot"),
        max_length=20,
        choices=BotMode.choices,
        default=BotMode.OFF,
        help_text=_("Whether the bot answers new conversations with help articles first."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="TeamMembership",
        related_name="teams",
        blank=True,
        verbose_name=_("members"),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_team"
            )
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """One user in one team (`team.members`, `user.teams`)."""

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="team_memberships",
        verbose_name=_("user"),
    )

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} ∈ {self.team}"


class PublicProfile(models.Model):
    """How a staff user appears to customers: in the widget, live events and emails.

    It is the core's because every message shape carries its author's name; people.py is the
    one place that turns it (or, without it, the user's first and last name) into that name
    and an avatar. Agents set it in the workspace, admins in the admin.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="public_profile",
        verbose_name=_("user"),
    )
    display_name = models.CharField(
        _("display name"),
        max_length=80,
        blank=True,
        help_text=_(
            "The name customers see in the widget and in emails. Empty: the first and last "
            "name, else “Support agent”; never the email address."
        ),
    )

    class Meta:
        verbose_name = _("public profile")
        verbose_name_plural = _("public profiles")

    def __str__(self) -> str:
        return self.display_name


class Status(models.TextChoices):
    OPEN = lifecycle.OPEN, _("Open")
    PENDING = lifecycle.PENDING, _("Pending")
    SNOOZED = lifecycle.SNOOZED, _("Snoozed")
    RESOLVED = lifecycle.RESOLVED, _("Resolved")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Channel(models.TextChoices):
    WEB = "web", _("Web widget")
    EMAIL = "email", _("Email")
    API = "api", _("API")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MESSENGER = "messenger", _("Messenger")
    INSTAGRAM = "instagram", _("Instagram")
    TELEGRAM = "telegram", _("Telegram")


# Channels whose conversations live in the helpdesk itself: replies reach the customer in the
# widget (or by email, conversations/mail), not through an inbox's delivery.
HOME_CHANNELS = frozenset({Channel.WEB, Channel.EMAIL})


class Inbox(models.Model):
    """One configured account of a channel: a WhatsApp number, a Telegram bot, an API client.

    The core knows only what every channel shares; `settings` holds what a channel's plug-in
    needs (inboxes/), its secrets encrypted (inboxes/credentials.py), never shown again after
    creation. The widget and email have one inbox each (services.home_inbox), so reports by
    inbox cover every live conversation and imported web and email history; other imported
    history has none.
    """

    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inboxes",
        verbose_name=_("team"),
        help_text=_("Where its conversations queue (empty: the default team)."),
    )
    settings = models.JSONField(_("settings"), default=dict, blank=True, editable=False)
    webhook_url = models.URLField(
        _("webhook URL"),
        max_length=2000,
        blank=True,
        help_text=_("API channel: where agent replies are posted, signed with the secret."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("inbox")
        verbose_name_plural = _("inboxes")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel"],
                condition=models.Q(channel__in=sorted(HOME_CHANNELS)),
                name="inbox_one_per_home_channel",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def delivers_replies(self) -> bool:
        """Whether agent replies leave the helpdesk through this inbox's channel."""
        return self.channel not in HOME_CHANNELS


class Delivery(models.TextChoices):
    """How far an outbound message got. Only forward (see `advances`): a late "delivered"
    never overwrites "read"; "failed" ends it until an agent retries (back to pending)."""

    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")

    @classmethod
    def advances(cls, current: str, new: str) -> bool:
        """Whether `new` may replace `current` (statuses arrive late and out of order)."""
        forward = [cls.PENDING, cls.SENT, cls.DELIVERED, cls.READ]
        if new == cls.PENDING:
            return current in ("", cls.FAILED)  # a new reply, or an agent's retry
        if new == cls.FAILED:
            return current in (cls.PENDING, cls.SENT)  # never after it arrived
        if current == cls.FAILED:
            return new in (cls.DELIVERED, cls.READ)  # it arrived after all
        return current in forward and forward.index(new) > forward.index(current)


class Label(models.Model):
    name = models.SlugField(_("name"), max_length=50, unique=True, allow_unicode=True)

    class Meta:
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Statuses in workflow order: open first, then pending, snoozed, resolved. The inbox's first
# sort key (admin), with an index of its whole order (conv_inbox_order) so a page of a
# million conversations is read from the index instead of sorting them all.
STATUS_RANK = Case(
    *(When(status=value, then=Value(rank)) for rank, value in enumerate(Status.values)),
    default=Value(len(Status.values)),
    output_field=models.IntegerField(),
)


class Conversation(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("customer")
    )
    inbox = models.ForeignKey(
        Inbox,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("inbox"),
    )
    # Free-form so imports may bring their own channels; Channel lists the built-in ones.
    channel = models.CharField(_("channel"), max_length=32, default=Channel.WEB, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("team"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
        verbose_name=_("assignee"),
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    labels = models.ManyToManyField(
        Label, blank=True, related_name="conversations", verbose_name=_("labels")
    )
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    cycle = models.PositiveIntegerField(
        _("cycle"), default=1, help_text=_("Counts reopenings: a new cycle starts each time.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    waiting_since = models.DateTimeField(
        _("waiting since"),
        null=True,
        blank=True,
        help_text=_("The customer's oldest message that no agent has answered yet."),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    with_bot = models.BooleanField(
        _("with the bot"),
        default=False,
        help_text=_("The bot answers; agents get it when the customer asks for a person."),
    )
    last_message_preview = models.CharField(
        _("last message"), max_length=lifecycle.PREVIEW_LENGTH, blank=True
    )
    external_id = models.CharField(
        _("external id"), max_length=255, unique=True, null=True, blank=True
    )
    # An escalation: the customer should be called back on this number (docs/assignment.md).
    callback_phone = models.CharField(_("call back on"), max_length=32, blank=True)
    callback_requested_at = models.DateTimeField(_("call back requested at"), null=True, blank=True)
    callback_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("call back requested by"),
    )

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_activity_at"]
        indexes = [
            models.Index(fields=["status", "-last_activity_at"], name="conv_status_activity"),
            models.Index(fields=["assignee", "status"], name="conv_assignee_status"),
            models.Index(fields=["team", "status", "waiting_since"], name="conv_team_status_wait"),
            models.Index(fields=["customer", "-last_activity_at"], name="conv_customer_activity"),
            # Inbox tabs and filters, newest activity first (migration 0004_search).
            models.Index(fields=["-last_activity_at", "-id"], name="conv_activity"),
            models.Index(
                fields=["assignee", "-last_activity_at", "-id"], name="conv_assignee_activity"
            ),
            models.Index(fields=["team", "-last_activity_at", "-id"], name="conv_team_activity"),
            models.Index(
                fields=["channel", "-last_activity_at", "-id"], name="conv_channel_activity"
            ),
            models.Index(fields=["waiting_since", "-last_activity_at", "-id"], name="conv_waiting"),
            models.Index(
                STATUS_RANK,
                F("waiting_since").asc(nulls_last=True),
                F("last_activity_at").desc(),
                F("id").desc(),
                name="conv_inbox_order",
            ),
            models.Index(
                fields=["waiting_since", "-last_activity_at", "-id"],
                condition=Q(status=Status.OPEN),
                name="conv_open_waiting",
            ),
            # Counts of the inbox and its saved views (status, team, assignee and who may read
            # them) from the index alone: 0.3 ms for 1,000 of a million (migration 0015_views).
            models.Index(fields=["status", "team", "assignee"], name="conv_status_team_assignee"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="conversation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="conversation_priority_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.SNOOZED) | Q(snoozed_until__isnull=False),
                name="snoozed_has_until",
            ),
        ]

    def __str__(self) -> str:
        return _("Conversation #%(id)s") % {"id": self.pk}


class AuthorKind(models.TextChoices):
    CUSTOMER = lifecycle.CUSTOMER, _("Customer")
    AGENT = lifecycle.AGENT, _("Agent")
    BOT = lifecycle.BOT, _("Bot")
    SYSTEM = lifecycle.SYSTEM, _("System")


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("conversation"),
    )
    client_id = models.CharField(_("client id"), max_length=100)
    author_kind = models.CharField(_("author kind"), max_length=10, choices=AuthorKind.choices)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("agent"),
    )
    body = models.TextField(_("body"), blank=True)  # empty when files say it all
    private = models.BooleanField(
        _("private note"), default=False, help_text=_("Seen by agents only.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    # Replies that leave through an inbox's channel: how far they got, and the platform's id
    # of the message (inbound ones too), which its status webhooks name.
    delivery = models.CharField(_("delivery"), max_length=10, choices=Delivery.choices, blank=True)
    external_id = models.CharField(_("external id"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "id"], name="message_conversation_id"),
            models.Index(
                fields=["external_id"], condition=~Q(external_id=""), name="message_external_id"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_id"], name="message_client_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(author_kind__in=AuthorKind.values), name="message_author_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(private=False) | Q(author_kind=AuthorKind.AGENT),
                name="only_agents_write_private_notes",
            ),
        ]

    def __str__(self) -> str:
        return self.body[:60]

    @property
    def is_public_agent_reply(self) -> bool:
        return self.author_kind == AuthorKind.AGENT and not self.private


def attachment_storage() -> Storage:
    """STORAGES["attachments"]: local files, or an S3-compatible bucket (files/storage.py)."""
    return files_storage.attachment_storage


def attachment_path(attachment: "Attachment", filename: str) -> str:
    """Where a file is kept: a random name (the shown name lives in the row), by month."""
    return f"{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file a message carries. `content_type` was sniffed from the bytes (files/checks.py).

    An imported file may be a link only (`external_url`, nothing stored): the import records
    what the other helpdesk had without downloading it (docs/import.md).
    """

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    file = models.FileField(
        _("file"), storage=attachment_storage, upload_to=attachment_path, max_length=300, blank=True
    )
    external_url = models.URLField(_("external URL"), max_length=2000, blank=True)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    thumbnail = models.FileField(
        _("thumbnail"),
        storage=attachment_storage,
        upload_to=attachment_path,
        max_length=300,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(file="") | ~Q(external_url=""), name="attachment_has_a_source"
            )
        ]
        indexes = [  # the sweep of files no attachment holds looks names up (files/orphans.py)
            models.Index(fields=["file"], name="attachment_file"),
            models.Index(fields=["thumbnail"], name="attachment_thumbnail"),
        ]

    def __str__(self) -> str:
        return self.name


class Rating(models.Model):
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="ratings",
        verbose_name=_("conversation"),
    )
    cycle = models.PositiveIntegerField(_("cycle"))
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "cycle"], name="one_rating_per_cycle"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.score}/5"


class NpsResponse(models.Model):
    """A customer's answer to "How likely are you to recommend us?" (0 to 10).

    At most one per customer per HELPDESK_NPS_INTERVAL_DAYS (services.customer_answer_nps).
    `conversation` is the one the question followed, if any: reports credit its team and
    agent; an answer without one counts only in the unsliced reports.
    """

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="nps_responses",
        verbose_name=_("customer"),
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,  # as its ratings: the reports forget it with the conversation
        null=True,
        blank=True,
        related_name="nps_responses",
        verbose_name=_("conversation"),
    )
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("NPS answer")
        verbose_name_plural = _("NPS answers")
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="nps_customer_latest"),
            # Reports read the answers without a conversation straight from here (no event
            # log to replay them from): by time, index only.
            models.Index(
                fields=["created_at"],
                include=["score"],
                condition=Q(conversation__isnull=True),
                name="nps_without_conversation",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=10), name="nps_0_to_10"),
        ]

    def __str__(self) -> str:
        return f"{self.score}/10"


class EventType(models.TextChoices):
    CONVERSATION_CREATED = lifecycle.CREATED
    CONVERSATION_UPDATED = lifecycle.UPDATED
    CONVERSATION_ASSIGNED = lifecycle.ASSIGNED
    CONVERSATION_RATED = lifecycle.RATED
    CONVERSATION_NPS_ANSWERED = lifecycle.NPS_ANSWERED
    MESSAGE_CREATED = lifecycle.MESSAGE_CREATED
    MESSAGE_UPDATED = lifecycle.MESSAGE_UPDATED


class ConversationEvent(models.Model):
    """One row per thing that happened to a conversation; append-only.

    `id` is the insertion order. `cursor` is the delivery order: it is assigned after commit,
    one sequencing transaction at a time (see events.py), so a reader who has seen cursor N
    has seen every committed event below N. It stays NULL until then.
    """

    cursor = models.BigIntegerField(_("cursor"), unique=True, null=True, blank=True)
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("conversation"),
    )
    type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    public = models.BooleanField(
        _("public"), default=True, help_text=_("Whether the customer may see this event.")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
        help_text=_("The agent who acted, or who was assigned."),
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Copied from the message so reports can replay history without reading payloads.
    author_kind = models.CharField(
        _("author kind"), max_length=10, choices=AuthorKind.choices, blank=True
    )
    data = models.JSONField(_("data"), default=dict, help_text=_("The payload clients receive."))
    change = models.JSONField(
        _("change"), default=dict, blank=True, help_text=_("What changed: {field: [from, to]}.")
    )

    class Meta:
        verbose_name = _("conversation event")
        verbose_name_plural = _("conversation events")
        indexes = [
            models.Index(fields=["conversation", "id"], name="event_conversation_id"),
            models.Index(fields=["id"], condition=Q(cursor__isnull=True), name="event_unsequenced"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.cursor or '-'}"


class EventSequence(models.Model):
    """A single row whose lock serializes cursor assignment (see events.py)."""

    last_cursor = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("event sequence")

    def __str__(self) -> str:
        return str(self.last_cursor)


# --- The agent workspace: what each agent has read -------------------------------------------


class ReadMarker(models.Model):
    """How far an agent has read a conversation: the last message they had in view.

    Written when the agent opens the conversation in the workspace (services.conversation_mark_read);
    a conversation's `unread` for that agent counts the customer messages after it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="read_markers",
        verbose_name=_("agent"),
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="read_markers",
        verbose_name=_("conversation"),
    )
    last_read_message_id = models.BigIntegerField(_("last message read"), default=0)
    read_at = models.DateTimeField(_("read at"), default=timezone.now)

    class Meta:
        verbose_name = _("read marker")
        verbose_name_plural = _("read markers")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "user"], name="one_read_marker_per_agent"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.conversation_id} ≤ {self.last_read_message_id}"


class SavedView(models.Model):
    """A saved filter of the inbox ("unassigned billing, longest waiting"): an agent's own
    (`owner`) or shared with a team's agents (`team`), never both.

    `filters` holds the inbox list's query parameters as strings ({"status": "open",
    "assignee": "none", "ordering": "waiting_since"}); the API checks them with the list's
    own filter code before saving, and applies them per reader ("me" is whoever reads it).
    """

    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_views",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_views",
        verbose_name=_("team"),
    )
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner__isnull=False) & Q(team__isnull=True))
                | (Q(owner__isnull=True) & Q(team__isnull=False)),
                name="saved_view_owner_or_team",
            )
        ]

    def __str__(self) -> str:
        return self.name


# --- Email continuity (conversations/mail/outbound.py) --------------------------------------------


class EmailStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Seen online, not emailed")


class EmailNotice(models.Model):
    """How far the customer has had a conversation's agent replies by email (or seen them).

    Replies with ids up to `last_message_id_sent` are done. A send first *claims* the next
    ones (`claimed_through`, under this row's lock) and marks them sent afterwards, so a
    retried task never mails them twice; a failure releases the claim.
    """

    conversation = models.OneToOneField(
        Conversation,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="email_notice",
        verbose_name=_("conversation"),
    )
    last_message_id_sent = models.BigIntegerField(_("last message sent"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=EmailStatus.choices, blank=True)
    claimed_through = models.BigIntegerField(_("claimed through"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("email notice")
        verbose_name_plural = _("email notices")

    def __str__(self) -> str:
        return f"#{self.conversation_id} ≤ {self.last_message_id_sent}"


class SentEmail(models.Model):
    """An email we sent about a conversation; a reply's In-Reply-To finds it by Message-ID."""

    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="sent_emails",
        verbose_name=_("conversation"),
    )
    message_id = models.CharField(
        _("Message-ID"), max_length=255, unique=True, help_text=_("Without the angle brackets.")
    )
    to = models.CharField(_("to"), max_length=254)
    first_message_id = models.BigIntegerField(_("first reply"))
    last_message_id = models.BigIntegerField(_("last reply"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("sent email")
        verbose_name_plural = _("sent emails")
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return self.message_id


# --- Mentions: an agent named with @ in a private note (conversations/mentions.py) ----------


class Mention(models.Model):
    """An agent named in a private note. Only agents who may read the conversation are
    mentioned; the mentioned agent is alerted live and, when offline, by email."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="mentions", verbose_name=_("message")
    )
    # The message's conversation, kept here so that "conversations I am mentioned in" reads
    # one index (the `mentioned` filter of the inbox).
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="mentions",
        verbose_name=_("conversation"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mentions",
        verbose_name=_("agent"),
        help_text=_("The agent mentioned."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    emailed_at = models.DateTimeField(
        _("emailed at"),
        null=True,
        blank=True,
        help_text=_("When the agent, offline then, was told by email."),
    )

    class Meta:
        verbose_name = _("mention")
        verbose_name_plural = _("mentions")
        indexes = [models.Index(fields=["user", "conversation"], name="mention_user")]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="one_mention_per_message")
        ]

    def __str__(self) -> str:
        return f"@{self.user_id} #{self.conversation_id}"
