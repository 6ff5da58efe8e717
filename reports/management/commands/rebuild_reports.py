"""Recompute every metric and rollup from the conversation history, with a progress bar."""

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from tqdm import tqdm

from conversations.management.base import TranslatedCommand
from reports.rebuild import RebuildRunning
from reports.services import rebuild_all, recompute_since
from reports.tasks import announce_report_update


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Recompute every report metric and rollup from the conversation history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            help=gettext_lazy(
                "Only recompute conversations with history at or after this date "
                "(YYYY-MM-DD or an ISO date and time, UTC unless it says otherwise)."
            ),
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=gettext_lazy("Processes for a full rebuild (default: one per core)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = self.parse_since(options["since"]) if options["since"] else None
        with tqdm(total=0, unit="conv", desc=_("Rebuilding reports"), disable=None) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            if since is not None:
                written = recompute_since(since, progress=progress)
            else:
                try:
                    written = rebuild_all(progress=progress, workers=options["workers"])
                except RebuildRunning as error:
                    raise CommandError(str(error)) from error
        announce_report_update()
        self.stdout.write(
            self.style.SUCCESS(
                ngettext(
                    "Rebuilt reports: %(count)d metric value.",
                    "Rebuilt reports: %(count)d metric values.",
                    written,
                )
                % {"count": written}
            )
        )

    def parse_since(self, value: str) -> datetime:
        try:
            moment = parse_datetime(value)
            if moment is None and (day := parse_date(value)) is not None:
                moment = datetime(day.year, day.month, day.day)
        except ValueError:  # well formed but impossible, such as 2026-02-30
            moment = None
        if moment is None:
            raise CommandError(_("--since: not a date: %(value)s") % {"value": value})
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
