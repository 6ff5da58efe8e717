"""Open staff sockets learn at once when what their user may see changes.

A socket decides its groups when it connects. Taken out of a team, deactivated or no longer
staff, the user must stop hearing at once, not at the next reconnect: a change of a team
membership or of a user's flags tells the user's sockets (`access.changed` on the group
`agent.<id>`), which check again (consumers.StaffConsumer.check_access). If the channel
layer loses that message, the sockets' pings check again every ACCESS_CHECK_SECONDS.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from ..events import send_to_groups
from ..models import TeamMembership

ACCESS_FIELDS = {"is_active", "is_staff", "is_superuser"}


def user_group(user_id: int) -> str:
    """Every staff socket of a user listens here (and agents hear their assignments)."""
    return f"agent.{user_id}"


def tell_sockets(user_ids: Iterable[int]) -> None:
    """After the change commits, the users' open sockets check their access again."""
    user_ids = sorted(set(user_ids))
    if user_ids:
        message = {"type": "access.changed"}
        transaction.on_commit(
            lambda: send_to_groups([([user_group(pk) for pk in user_ids], message)])
        )


@receiver(post_save, sender=TeamMembership, dispatch_uid="conversations.access.joined")
@receiver(post_delete, sender=TeamMembership, dispatch_uid="conversations.access.left")
def membership_changed(sender: Any, instance: TeamMembership, **kwargs: Any) -> None:
    tell_sockets([instance.user_id])


@receiver(m2m_changed, sender=TeamMembership, dispatch_uid="conversations.access.members")
def members_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    """team.members.add/remove/clear and user.teams.add/remove/clear."""
    if action in ("post_add", "post_remove"):
        tell_sockets([instance.pk] if reverse else pk_set or [])
    elif action == "pre_clear":  # who they are is unknown once the rows are gone
        tell_sockets([instance.pk] if reverse else instance.members.values_list("pk", flat=True))


@receiver(post_save, sender=get_user_model(), dispatch_uid="conversations.access.user_saved")
@receiver(pre_delete, sender=get_user_model(), dispatch_uid="conversations.access.user_deleted")
def user_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if kwargs.get("created"):
        return  # no socket yet
    if update_fields is not None and not ACCESS_FIELDS & set(update_fields):
        return  # a login's last_login, say
    tell_sockets([instance.pk])
