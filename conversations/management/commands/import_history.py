"""`manage.py import_history FILE`: load conversations from JSON lines (see conversations/history/replay.py)."""

import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from conversations.history.bulk import bulk_available, bulk_import_lines
from conversations.history.replay import ImportResult, import_lines

from ..base import TranslatedCommand


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Import conversations from another helpdesk: JSON lines, one conversation a line, "
        "with their original timestamps. Importing the same file again creates nothing new. "
        "--bulk writes large files with PostgreSQL COPY instead of replaying each line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=gettext_lazy("The JSON lines file, or - for stdin."))
        parser.add_argument(
            "--bulk",
            action="store_true",
            help=gettext_lazy(
                "PostgreSQL only: plan each conversation in memory and write thousands at a "
                "time with COPY (the same rows and checks, tens of times faster). Reports "
                "need a rebuild_reports afterwards. On SQLite the normal import runs."
            ),
        )
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help=gettext_lazy("No progress bar (it is shown only on a terminal anyway)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            source = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as error:
            raise CommandError(
                _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": error.strerror}
            ) from error
        total = None if path == "-" else os.path.getsize(path)
        # tqdm writes to the real stderr: Django's wrapper would add a newline to every redraw.
        with source, self.progress_bar(total, options["no_progress"]) as bar:

            def report(number: int, reason: str) -> None:
                bar.clear()
                self.stderr.write(
                    _("line %(number)d: %(reason)s") % {"number": number, "reason": reason}
                )
                bar.refresh()

            started = time.perf_counter()
            result = self.run_import(self.read(source, bar), report, bulk=options["bulk"])
            seconds = time.perf_counter() - started
        self.stdout.write(
            _("created %(created)d, skipped %(skipped)d (already imported), rejected %(rejected)d")
            % {"created": result.created, "skipped": result.skipped, "rejected": result.rejected}
        )
        self.stdout.write(
            _("%(seconds).1f s, %(rate).0f conversations created per second")
            % {"seconds": seconds, "rate": result.created / seconds if seconds else 0}
        )

    def run_import(
        self, lines: Iterator[bytes], report: Callable[[int, str], None], *, bulk: bool
    ) -> ImportResult:
        if bulk and not bulk_available():
            self.stderr.write(_("--bulk needs PostgreSQL; importing line by line instead."))
            bulk = False
        if not bulk:
            return import_lines(lines, on_reject=report)
        result = bulk_import_lines(lines, on_reject=report)
        if result.created:
            self.stderr.write(
                _(
                    "Reports do not include bulk-imported history yet: "
                    "run manage.py rebuild_reports."
                )
            )
        return result

    def progress_bar(self, total: int | None, off: bool) -> tqdm:
        return tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=_("Importing"),
            file=sys.stderr,
            disable=True if off else None,  # None: only on a terminal
        )

    @staticmethod
    def read(source: IO[bytes], bar: tqdm) -> Iterator[bytes]:
        for line in source:
            bar.update(len(line))
            yield line
