"""Recompute every metric and rollup from the conversation history, with a progress bar."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from reports.services import rebuild_all
from reports.tasks import announce_report_update


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse wants a str: a lazy string breaks --help
        return _("Recompute every report metric and rollup from the conversation history.")

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=0, unit="conv", desc=_("Rebuilding reports"), disable=None) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            written = rebuild_all(progress=progress)
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
