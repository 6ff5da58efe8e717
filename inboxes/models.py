"""The delivery log: one row per attempt to send a reply out through an inbox's channel."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.models import Delivery, Inbox, Message


class DeliveryAttempt(models.Model):
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="delivery_attempts",
        verbose_name=_("message"),
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    ok = models.BooleanField(_("went through"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["message", "id"]  # the log in the order it happened

    def __str__(self) -> str:
        return f"#{self.message_id} attempt {self.number}"


class EarlyStatus(models.Model):
    """A platform's status for a message id the helpdesk has not noted yet: the platform's
    webhook can arrive before the send's own answer is stored. Applied once the id is known
    (services.apply_early_statuses); forgotten after a day (statuses of messages sent from
    elsewhere, such as the platform's own app)."""

    inbox = models.ForeignKey(
        Inbox, on_delete=models.CASCADE, related_name="+", verbose_name=_("inbox")
    )
    external_id = models.CharField(_("external id"), max_length=255)
    delivery = models.CharField(_("delivery"), max_length=10, choices=Delivery.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("early status")
        verbose_name_plural = _("early statuses")
        indexes = [models.Index(fields=["inbox", "external_id"], name="early_status_message")]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.delivery}"
