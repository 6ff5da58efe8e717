"""`manage.py create_agent EMAIL …`: create or update an agent, print its API token key."""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.services import agent_api_token, agent_save
from conversations.errors import HelpdeskError
from conversations.management.base import TranslatedCommand


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Create or update an agent (a staff user whose username is the email) and print "
        "the agent's API token key alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help=gettext_lazy("The agent's email, also their login."))
        parser.add_argument("--name", help=gettext_lazy("Full name, e.g. “Ayşe Yılmaz”."))
        parser.add_argument(
            "--team",
            action="append",
            dest="teams",
            metavar="TEAM",
            help=gettext_lazy(
                "A team to belong to (repeat for several; created when missing). "
                "When given, these replace the agent's teams."
            ),
        )
        parser.add_argument(
            "--capacity",
            type=int,
            help=gettext_lazy("Open conversations the agent may hold at once (default 3)."),
        )
        parser.add_argument(
            "--admin", action="store_true", help=gettext_lazy("Make the agent a superuser.")
        )
        parser.add_argument(
            "--password",
            help=gettext_lazy("Set this password (otherwise a new agent has none to log in with)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            agent, created = agent_save(
                email=options["email"],
                name=options["name"],
                team_names=options["teams"],
                capacity=options["capacity"],
                admin=options["admin"],
                password=options["password"],
            )
        except HelpdeskError as error:
            raise CommandError(error.message) from error
        teams = ", ".join(team.name for team in agent.teams.order_by("name")) or _("none")
        if created:
            summary = _("Created agent %(email)s (teams: %(teams)s; capacity %(capacity)d).")
        else:
            summary = _("Updated agent %(email)s (teams: %(teams)s; capacity %(capacity)d).")
        summary = summary % {
            "email": agent.user.email,
            "teams": teams,
            "capacity": agent.capacity,
        }
        self.stdout.write(summary)
        self.stdout.write(agent_api_token(agent))
