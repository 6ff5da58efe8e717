"""Inboxes in the admin: create one with its channel's settings, copy the URL to give the
platform; secrets are write-only (a blank field keeps the stored one)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from conversations.errors import HelpdeskError
from conversations.models import Channel, Inbox

from . import credentials, services
from .api import SETTING_NAMES, inbound_url
from .models import DeliveryAttempt
from .registry import plugin_for, webhook_channels

SECRET_NAMES = {"access_token", "app_secret", "verify_token", "bot_token", "secret_token"}
# What the admin calls each channel setting; the channels that take it follow in brackets.
SETTING_LABELS = {
    "phone_number_id": _("Phone number ID"),
    "page_id": _("Page ID"),
    "access_token": _("Access token"),
    "app_secret": _("App secret"),
    "verify_token": _("Verify token"),
    "bot_token": _("Bot token"),
    "secret_token": _("Secret token"),
    "api_base_url": _("API base URL"),
}


class InboxForm(forms.ModelForm):
    channel = forms.ChoiceField(label=_("Channel"))
    webhook_url = forms.URLField(
        label=_("Webhook URL"),
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text=_("API channel: where agent replies are posted, signed with the secret."),
    )

    class Meta:
        model = Inbox
        fields = ["channel", "name", "team", "webhook_url"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [
            (value, label) for value, label in Channel.choices if value in webhook_channels()
        ]
        for name in SETTING_NAMES:
            self.fields[name].label = setting_label(name)
        if self.instance.pk:
            self.fields["channel"].disabled = True
            for name in SETTING_NAMES:
                if name not in SECRET_NAMES:
                    self.fields[name].initial = self.instance.settings.get(name, "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        plugin = plugin_for(data.get("channel") or self.instance.channel)
        if plugin is None or self.errors:
            return data
        given = {name: data.get(name) or "" for name in SETTING_NAMES}
        if self.instance.pk:  # blank secrets keep what is stored
            for setting in plugin.settings:
                if setting.secret and not given[setting.name]:
                    given[setting.name] = credentials.unseal(
                        self.instance.settings.get(setting.name, "")
                    )
        try:
            self.stored_settings = services.check_settings(plugin, given)
            services.check_webhook_url(plugin.channel, data.get("webhook_url"))
        except HelpdeskError as error:
            for field, message in error.fields.items():
                self.add_error(field if field in self.fields else None, message)
        return data


def setting_label(name: str) -> str:
    """ "Access token (Instagram, Messenger, WhatsApp)": which channels need the field."""
    labels = dict(Channel.choices)
    channels = [
        str(labels[channel])
        for channel in webhook_channels()
        if any(setting.name == name for setting in plugin_for(channel).settings)
    ]
    return (
        f"{SETTING_LABELS[name]} ({', '.join(channels)})" if channels else str(SETTING_LABELS[name])
    )


def setting_field(name: str) -> forms.CharField:
    if name in SECRET_NAMES:  # write-only: never rendered back into the page
        return forms.CharField(
            label=name,
            required=False,
            max_length=1000,
            widget=forms.PasswordInput(render_value=False),
            help_text=_("Stored encrypted, never shown again; blank keeps it."),
        )
    return forms.CharField(label=name, required=False, max_length=1000)


for _name in SETTING_NAMES:  # declared on the class, so the admin's fieldsets know them
    InboxForm.base_fields[_name] = InboxForm.declared_fields[_name] = setting_field(_name)


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    form = InboxForm
    list_display = ["name", "channel", "team", "url_to_copy"]
    list_filter = ["channel"]
    readonly_fields = ["url_to_copy"]
    fieldsets = [
        (None, {"fields": ["channel", "name", "team", "webhook_url", "url_to_copy"]}),
        (
            _("Channel settings"),
            {
                "fields": list(SETTING_NAMES),
                "description": _(
                    "Each channel takes its own (docs/channels.md); leave the others empty."
                ),
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(channel__in=webhook_channels())

    @admin.display(description=_("URL to give the platform"))
    def url_to_copy(self, inbox: Inbox) -> str:
        if not inbox.pk:
            return gettext("Shown once the inbox is saved.")
        return format_html("<code>{}</code>", inbound_url(inbox))

    def save_model(self, request: HttpRequest, obj: Inbox, form: Any, change: bool) -> None:
        secret = obj.settings.get("secret", "")
        obj.settings = {**form.stored_settings, **({"secret": secret} if secret else {})}
        if obj.channel == Channel.API and not secret:
            shown = credentials.new_secret()
            obj.settings["secret"] = credentials.seal(shown)
            messages.warning(
                request,
                gettext("The inbox's secret, shown this once: %(secret)s") % {"secret": shown},
            )
        super().save_model(request, obj, form, change)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ["message", "number", "at", "ok", "status_code", "error"]
    list_filter = ["ok"]
    list_select_related = ["message"]
    readonly_fields = [field.name for field in DeliveryAttempt._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
