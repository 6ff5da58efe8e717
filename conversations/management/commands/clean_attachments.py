"""Delete the stored files no attachment holds (a message whose transaction rolled back)."""

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from tqdm import tqdm

from conversations.management.base import TranslatedCommand
from conversations.services import attachment_orphans_delete


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Delete stored files that no attachment holds and that are older than "
        "HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS (files of messages that were never saved)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=gettext_lazy("List the files that would be deleted, and delete nothing."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        verb = _("Would delete %(name)s") if dry_run else _("Deleted %(name)s")
        with tqdm(unit="file", desc=_("Checking files"), disable=None) as bar:

            def progress(examined: int) -> None:
                bar.update(examined - bar.n)

            def removed(name: str) -> None:
                with tqdm.external_write_mode():  # the name above the bar, not through it
                    self.stdout.write(verb % {"name": name})

            sweep = attachment_orphans_delete(
                dry_run=dry_run, on_progress=progress, on_removed=removed
            )
        summary = (
            ngettext(
                "%(removed)d of %(examined)d files would be deleted (older than %(hours)g h, "
                "held by no attachment).",
                "%(removed)d of %(examined)d files would be deleted (older than %(hours)g h, "
                "held by no attachment).",
                sweep.removed,
            )
            if dry_run
            else ngettext(
                "Deleted %(removed)d of %(examined)d files (older than %(hours)g h, held by "
                "no attachment).",
                "Deleted %(removed)d of %(examined)d files (older than %(hours)g h, held by "
                "no attachment).",
                sweep.removed,
            )
        )
        values = {
            "removed": sweep.removed,
            "examined": sweep.examined,
            "hours": settings.HELPDESK_ATTACHMENT_ORPHAN_GRACE_HOURS,
        }
        self.stdout.write(self.style.SUCCESS(summary % values))
