"""`manage.py seed_demo`: demo teams, agents and a few hundred conversations with history.

The conversations are generated as history import records (conversations/history/demo.py) and fed
through the importer: one path for history. Running it again creates nothing new.
"""

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from conversations.history.demo import (
    AGENTS,
    demo_records,
    demo_seeded,
    ensure_agents,
    ensure_teams,
)
from conversations.history.replay import import_lines

from ..base import TranslatedCommand

DEFAULT_CONVERSATIONS = 300


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Create demo teams, agents, customers and conversations with realistic history "
        "over the last 30 days. Running it again creates nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--conversations",
            type=int,
            default=DEFAULT_CONVERSATIONS,
            help=gettext_lazy("How many conversations (default %(default)s)."),
        )
        parser.add_argument(
            "--no-progress", action="store_true", help=gettext_lazy("No progress bar.")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_teams()
        ensure_agents()
        count = max(0, options["conversations"])
        with tqdm(
            total=count,
            unit=_("conversations"),
            desc=_("Demo data"),
            file=sys.stderr,
            disable=True if options["no_progress"] else None,
        ) as bar:
            lines = _counted(demo_records(count), bar)

            def report(number: int, reason: str) -> None:
                self.stderr.write(
                    _("demo conversation %(number)d: %(reason)s")
                    % {"number": number, "reason": reason}
                )

            result = import_lines(lines, on_reject=report)
        demo_seeded.send(sender=self.__class__)
        self.stdout.write(
            _(
                "Demo data: %(created)d conversations created, %(skipped)d already there; "
                "agents: %(agents)s."
            )
            % {
                "created": result.created,
                "skipped": result.skipped,
                "agents": ", ".join(agent.email for agent in AGENTS),
            }
        )


def _counted(records: Iterable[dict[str, Any]], bar: tqdm) -> Iterator[str]:
    for record in records:
        bar.update(1)
        yield json.dumps(record, ensure_ascii=False)
