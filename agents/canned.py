"""Canned responses: creating them, and filling their placeholders when an agent uses one."""

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from conversations.errors import InvalidInput
from conversations.models import Conversation, Team
from conversations.people import public_name

from .models import CannedResponse

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")
# A placeholder with the comma and spaces before it: an empty value takes them along, so a
# customer without a name reads "Hi, thanks…", not "Hi , thanks…".
PLACEHOLDER_WITH_LEAD = re.compile(r"(?P<lead>(?:[ \t]*,)?[ \t]*)" + PLACEHOLDER.pattern)


def placeholder_values(conversation: Conversation, agent_user: Any) -> dict[str, str]:
    """Every placeholder a canned response may use, as plain text."""
    customer = conversation.customer
    return {
        "customer.name": customer.name,
        "customer.first_name": customer.name.split(" ")[0] if customer.name else "",
        "customer.email": customer.email,
        # The customer reads these: the name they see on the agent's messages.
        "agent.name": public_name(agent_user),
        "agent.first_name": public_name(agent_user).split(" ")[0],
        "agent.email": agent_user.email,
        "conversation.id": str(conversation.pk),
        "team.name": conversation.team.name if conversation.team else "",
    }


def render_canned(body: str, *, conversation: Conversation, agent_user: Any) -> str:
    """Fill {{customer.name}}-style placeholders; unknown ones stay as written.

    Values go in as plain text: message bodies are plain text, escaped wherever shown.
    """
    values = placeholder_values(conversation, agent_user)

    def fill(match: re.Match[str]) -> str:
        value = values.get(f"{match[2]}.{match[3]}")
        if value is None:
            return match[0]
        return match["lead"] + value if value else ""

    return PLACEHOLDER_WITH_LEAD.sub(fill, body)


# The demo's canned responses (`seed_demo`), in English and in Turkish: demo content, like
# the demo conversations, not interface text.
DEMO_CANNED_RESPONSES = {
    "hello": "Hi {{customer.first_name}}, thanks for getting in touch! I'm "
    "{{agent.first_name}} and I'll help you with this.",
    "order": "Could you send me your order number? I'll check where your parcel is right away.",
    "refund": "Your refund is on its way: it reaches your card within 5 to 10 business days, "
    "depending on your bank.",
    "invoice": "I've sent a corrected invoice to {{customer.email}}. Let me know if anything "
    "else looks wrong.",
    "password": "You can reset your password on the sign-in page with “Forgot password?”. "
    "The link in the email works for an hour.",
    "bye": "Glad I could help! If anything else comes up, just reply here. Have a great day, "
    "{{customer.first_name}}.",
    "merhaba": "Merhaba {{customer.first_name}}, bize yazdığınız için teşekkürler! Ben "
    "{{agent.first_name}}, bu konuda size yardımcı olacağım.",
    "siparis": "Sipariş numaranızı paylaşır mısınız? Kargonuzun nerede olduğuna hemen bakayım.",
    "iade": "İadeniz yola çıktı: bankanıza bağlı olarak 5 ila 10 iş günü içinde kartınıza yansır.",
    "fatura": "Düzeltilmiş faturanızı {{customer.email}} adresine gönderdim. Başka bir "
    "yanlışlık görürseniz lütfen yazın.",
    "sifre": "Şifrenizi giriş sayfasındaki “Şifremi unuttum” bağlantısıyla sıfırlayabilirsiniz. "
    "E-postadaki bağlantı bir saat geçerlidir.",
    "gorusuruz": "Yardımcı olabildiğime sevindim! Başka bir sorunuz olursa buraya yazmanız "
    "yeterli. İyi günler {{customer.first_name}}.",
}


def demo_canned_responses_ensure() -> int:
    """The demo's canned responses, shared by every team; shortcuts already taken are left as
    they are (running the demo again adds nothing). Returns how many were created."""
    created = 0
    for shortcut, body in DEMO_CANNED_RESPONSES.items():
        _response, new = CannedResponse.objects.get_or_create(
            shortcut=shortcut, defaults={"body": body}
        )
        created += new
    return created


@transaction.atomic
def canned_response_create(*, shortcut: str, body: str, team: Team | None = None) -> CannedResponse:
    if not body.strip():
        raise InvalidInput(
            _("Write the response first."), fields={"body": _("This field is required.")}
        )
    try:
        with transaction.atomic():
            return CannedResponse.objects.create(shortcut=shortcut, body=body, team=team)
    except IntegrityError as error:
        message = _("A canned response with this shortcut already exists.")
        raise InvalidInput(message, code="duplicate", fields={"shortcut": message}) from error
