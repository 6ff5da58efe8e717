"""Mention emails: an agent mentioned in a private note while offline hears it by email.

Who is offline, and who wants these emails, is the agents app's to say (it enqueues
tasks.send_mention_email); this module only writes and sends the email, once per mention:
the mention's row lock is held while it is sent, and `emailed_at` records it, so a task run
twice sends nothing twice. A failed send rolls back and leaves it to the retry.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from ..models import Mention
from ..people import user_name
from .outbound import message_id_domain

WORKSPACE_PATH = "/agent/"  # the agents' workspace, a public address (README)


def workspace_url(conversation_id: int) -> str:
    """The conversation in the agent workspace (which opens #conversation-<id>)."""
    base = settings.HELPDESK_PUBLIC_URL.rstrip("/") + WORKSPACE_PATH
    return f"{base}#conversation-{conversation_id}"


def build_mention_email(mention: Mention) -> EmailMultiAlternatives:
    """Text and HTML, in the site's language (agents have no language of their own)."""
    message, conversation = mention.message, mention.conversation
    customer = conversation.customer
    language = settings.LANGUAGE_CODE
    with translation.override(language):
        author = user_name(message.agent) if message.agent else gettext("A colleague")
        context = {
            "author": author,
            "conversation": conversation,
            "customer": customer.name or customer.email or gettext("a customer"),
            "body": message.body,
            "workspace_url": workspace_url(conversation.pk),
            "language": language,
        }
        subject = gettext("%(author)s mentioned you in conversation #%(id)s") % {
            "author": author,
            "id": conversation.pk,
        }
        text = render_to_string("emails/mention.txt", context)
        html = render_to_string("emails/mention.html", context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mention.user.email],
        headers={
            "Message-ID": f"<mention-{mention.pk}@{message_id_domain()}>",
            "Auto-Submitted": "auto-generated",
            "Content-Language": language,
        },
    )
    email.attach_alternative(html, "text/html")
    return email


@transaction.atomic
def send_mention_email(mention_id: int) -> bool:
    """Email the mention unless it was emailed already (or is gone). True when sent."""
    mention = (
        Mention.objects.select_for_update(of=("self",))
        .select_related("user", "message", "conversation__customer")
        .filter(pk=mention_id, emailed_at__isnull=True)
        .first()
    )
    if mention is None or not mention.user.email:
        return False
    build_mention_email(mention).send()  # raises: rolled back, the task retries
    mention.emailed_at = timezone.now()
    mention.save(update_fields=["emailed_at"])
    return True
