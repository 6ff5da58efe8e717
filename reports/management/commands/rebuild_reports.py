"""Recompute every metric and rollup from the conversation history, with a progress bar."""

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from reports.services import rebuild_all
from reports.tasks import announce_report_update


class Command(BaseCommand):
    help = "Recompute every report metric and rollup from the conversation history."

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=0, unit="conv", desc="Rebuilding reports", disable=None) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            written = rebuild_all(progress=progress)
        announce_report_update()
        self.stdout.write(self.style.SUCCESS(f"Rebuilt reports: {written} metric values."))
