"""Questions the core asks that only a higher app can answer (STYLE.md "Seams between apps").

The core declares each question here as a small protocol; the app that knows the answer
registers it in its AppConfig.ready() (agents answers the first two, bot the third, inboxes
the fourth, campaigns the fifth). Asking a question nobody
answered raises ImproperlyConfigured, and a system check says so at start-up: an
unanswered question is an error, never a silent yes.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .files.checks import StoredFile
from .models import Conversation, Team

Answer = TypeVar("Answer")


class AssignmentPolicy(Protocol):
    def __call__(self, *, conversation: Conversation, assignee: Any, by: Any, force: bool) -> bool:
        """May `by` give `conversation` to `assignee`? Raise a HelpdeskError to refuse; return
        True when a supervisor's `force` takes the assignee above capacity."""


class AgentProvisioner(Protocol):
    def __call__(
        self,
        *,
        email: str,
        name: str | None = None,
        teams: Sequence[Team] = (),
        capacity: int | None = None,
    ) -> Any:
        """The user with this email, as an agent (imports and demo data name agents by email).

        A new one is created (staff, no password) with `name`, `teams` and `capacity`; an
        existing user keeps what they have and gets an agent profile if they lack one."""


class BotGate(Protocol):
    def __call__(self, *, team: Team) -> bool:
        """Does the team's bot answer a new web conversation before any agent? (docs/bot.md)"""


class ReplyCheck(Protocol):
    def __call__(
        self, *, conversation: Conversation, body: str, files: Sequence[StoredFile]
    ) -> None:
        """May an agent's reply (its text and its checked files) leave now through the
        conversation's inbox (a platform's window, text or file size limits)? Raise a
        HelpdeskError to refuse; asked only of conversations whose inbox delivers replies
        (docs/channels.md)."""


@dataclass(frozen=True)
class Invitation:
    """A campaign's proactive invitation, as the conversation it starts needs it."""

    campaign: int
    team: Team
    body: str
    sender: Any = None  # the agent shown; None: the team itself


class CampaignInvitations(Protocol):
    def __call__(self, *, campaign: Any) -> Invitation:
        """The invitation of campaign `campaign` (an id) that a customer answers. Raise
        InvalidInput naming the `campaign` field when there is no such enabled campaign."""

    def any_enabled(self) -> bool:
        """Whether any campaign is enabled: the widget's loader says so, and the widget asks
        for invitations on a page only then (no request at all on a site without any)."""


class Seam(Generic[Answer]):
    """One question and the answer registered for it."""

    def __init__(self, question: str, check_id: str) -> None:
        self.question = question
        self.check_id = check_id
        self.answer: Answer | None = None

    def register(self, answer: Answer) -> None:
        self.answer = answer

    def get(self) -> Answer:
        if self.answer is None:
            raise ImproperlyConfigured(self.missing())
        return self.answer

    def missing(self) -> str:
        return (
            f"Nothing answers “{self.question}”: install an app that registers it in its "
            "AppConfig.ready() (the agents app does)."
        )


ASSIGNMENT_POLICY: Seam[AssignmentPolicy] = Seam(
    "may this agent take this conversation?", "conversations.E001"
)
AGENT_PROVISIONER: Seam[AgentProvisioner] = Seam("make this email an agent", "conversations.E002")
BOT_GATE: Seam[BotGate] = Seam(
    "does the bot answer this new conversation first?", "conversations.E003"
)

REPLY_CHECK: Seam[ReplyCheck] = Seam(
    "may this reply leave through the conversation's channel now?", "conversations.E004"
)

CAMPAIGN_INVITATIONS: Seam[CampaignInvitations] = Seam(
    "which invitation did this customer answer?", "conversations.E005"
)


def register_assignment_policy(policy: AssignmentPolicy) -> None:
    ASSIGNMENT_POLICY.register(policy)


def register_agent_provisioner(provisioner: AgentProvisioner) -> None:
    AGENT_PROVISIONER.register(provisioner)


def register_bot_gate(gate: BotGate) -> None:
    BOT_GATE.register(gate)


def register_reply_check(check: ReplyCheck) -> None:
    REPLY_CHECK.register(check)


def register_campaign_invitations(invitations: CampaignInvitations) -> None:
    CAMPAIGN_INVITATIONS.register(invitations)


def assignment_policy() -> AssignmentPolicy:
    return ASSIGNMENT_POLICY.get()


def agent_provisioner() -> AgentProvisioner:
    return AGENT_PROVISIONER.get()


def bot_gate() -> BotGate:
    return BOT_GATE.get()


def reply_check() -> ReplyCheck:
    return REPLY_CHECK.get()


def campaign_invitations() -> CampaignInvitations:
    return CAMPAIGN_INVITATIONS.get()


def check_seams_answered(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check (registered in ConversationsConfig.ready): every question has an answer."""
    return [
        checks.Error(seam.missing(), id=seam.check_id)
        for seam in (
            ASSIGNMENT_POLICY,
            AGENT_PROVISIONER,
            BOT_GATE,
            REPLY_CHECK,
            CAMPAIGN_INVITATIONS,
        )
        if seam.answer is None
    ]
