# Imported web and email history filed under the home inboxes (docs/import.md). 2026-12-05

from django.db import migrations

HOME = {"web": "Website", "email": "Email"}  # as services.home_inbox (frozen here)


def file_imported_history(apps, schema_editor):
    """Imported `web` and `email` conversations (those with an external id) that have no inbox
    go in the widget's and email's inbox, as import_history files them since 0017 (which
    filed live conversations only). Their report numbers move there on `rebuild_reports`
    (docs/reports.md "Reports by inbox"); totals by team and for everyone do not change."""
    Inbox = apps.get_model("conversations", "Inbox")
    Conversation = apps.get_model("conversations", "Conversation")
    for channel, name in HOME.items():
        imported = Conversation.objects.filter(
            channel=channel, inbox__isnull=True, external_id__isnull=False
        )
        if imported.exists():
            inbox, _ = Inbox.objects.get_or_create(channel=channel, defaults={"name": name})
            imported.update(inbox=inbox)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0018_attachment_name_indexes"),
    ]

    operations = [
        # Going back leaves the conversations filed. Nothing tells the rows this migration
        # filed from those import_history filed itself, and the code before it files imports
        # the same way: un-filing every one would take imports out of their inbox that were
        # there already, and un-filing none is a state the earlier code also produces.
        migrations.RunPython(file_imported_history, migrations.RunPython.noop),
    ]
