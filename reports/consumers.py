"""The reports dashboard's socket: it hears `report.updated` and nothing else.

The event is a broadcast to the `reports` group (reports.tasks), not a row of the event
log, so there is nothing to replay. The socket does not count for presence: a manager
reading reports is not made online and handed conversations.
"""

from typing import Any

from conversations.live.consumers import StaffConsumer

GROUP = "reports"


class ReportsConsumer(StaffConsumer):
    """`/ws/agent/?watch=reports` (routed in helpdesk/asgi.py): staff only."""

    async def client_groups(self) -> list[str]:
        return [GROUP]

    def visible_after(self, cursor: int, limit: int) -> list[Any]:
        return []

    def typing_target(self, conversation_id: int) -> dict[str, Any] | None:
        return None  # a watcher types in no conversation

    def typing_groups(self, target: dict[str, Any], content: dict[str, Any]) -> list[str]:
        return []

    def author(self) -> dict[str, Any]:
        return {}
