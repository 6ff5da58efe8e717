from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """Proactive invitations (docs/campaigns.md): stands on the core and agents' availability,
    and plugs into the core through a seam (the invitation a customer answers)."""

    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from conversations.seams import register_campaign_invitations

        from .services import Invitations

        register_campaign_invitations(Invitations())
