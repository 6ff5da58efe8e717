"""`manage.py serve`: the whole helpdesk in one command.

Migrates the database, loads demo data into an empty one, gives the `admin@example.com`
superuser a fresh password, prints how to log in, then serves ASGI_APPLICATION with
uvicorn. With no environment this is the embedded mode (SQLite, in-memory channel layer,
tasks in-process); with DATABASE_URL / REDIS_URL it serves production settings.

It belongs to the project, not to an app: it puts the apps and the run mode together
(helpdesk.embedded, helpdesk.asgi), and the apps never import the project.
"""

import secrets
import socket
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.services import agent_save
from conversations.management.base import TranslatedCommand
from conversations.management.commands.seed_demo import DEFAULT_CONVERSATIONS
from conversations.models import Conversation, Team
from conversations.people import display_name
from conversations.services import public_profile_save
from helpcenter.models import Article
from helpdesk.public_url import follow_server

ADMIN_EMAIL = "admin@example.com"
ADMIN_DISPLAY_NAME = "Ada Korkmaz"  # what the demo's customers see (agents change it)

# (label, path) of the pages worth opening; later features add theirs here.
LINKS = [
    (gettext_lazy("Admin"), "/admin/"),
    (gettext_lazy("Agent workspace"), "/agent/"),
    (gettext_lazy("Reports"), "/reports/"),
    (gettext_lazy("Widget demo page"), "/widget/demo/"),
    (gettext_lazy("Help center"), "/help/"),
    (gettext_lazy("API schema (OpenAPI)"), "/api/schema/"),
]


def prepare_admin(*, password: str) -> None:
    """The superuser one logs in as, with a new password. On its first start it joins every
    team (the demo's): routing and the widget's availability count only the online agents of
    a conversation's team, so an admin in no team would answer while the widget said nobody
    was there. It gets a name for customers to see (never its address). What it was given
    since (teams, another name) is kept."""
    agent, _created = agent_save(email=ADMIN_EMAIL, admin=True, password=password)
    if not agent.teams.exists():
        agent_save(email=ADMIN_EMAIL, team_names=list(Team.objects.values_list("name", flat=True)))
    if not display_name(agent.user):
        public_profile_save(user=agent.user, display_name=ADMIN_DISPLAY_NAME)


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Run the helpdesk: migrate, load demo data into an empty database, print an admin "
        "login, and serve HTTP and websockets with uvicorn."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=gettext_lazy("Default 127.0.0.1."))
        parser.add_argument("--port", type=int, default=8000, help=gettext_lazy("Default 8000."))
        parser.add_argument(
            "--demo-conversations",
            type=int,
            default=DEFAULT_CONVERSATIONS,
            help=gettext_lazy(
                "Demo conversations to load when the database has none (0: no demo data)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        self.check_port_free(host, port)
        self.say(_("Preparing the database…"))
        call_command("migrate", interactive=False, verbosity=0)
        if options["demo_conversations"] > 0 and not Conversation.objects.exists():
            self.say(_("Loading demo data (first start only)…"))
            call_command(
                "seed_demo", conversations=options["demo_conversations"], stdout=self.stdout
            )
        if options["demo_conversations"] > 0 and not Article.objects.exists():
            call_command("seed_help", stdout=self.stdout)  # the demo help center
        password = secrets.token_urlsafe(12)
        prepare_admin(password=password)
        base_url = self.base_url(host, port)
        follow_server(base_url)  # links name this port and host, unless HELPDESK_PUBLIC_URL is set
        self.print_welcome(base_url, password)
        self.serve(host, port)

    def check_port_free(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise CommandError(
                    _("Cannot listen on %(host)s:%(port)d (%(reason)s). Try --port %(next)d.")
                    % {"host": host, "port": port, "reason": error.strerror, "next": port + 1}
                ) from error

    @staticmethod
    def base_url(host: str, port: int) -> str:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{port}"

    def print_welcome(self, base_url: str, password: str) -> None:
        mode = _("embedded: SQLite, in-process channel layer and tasks")
        if not settings.EMBEDDED:
            mode = _("production settings: DATABASE_URL and REDIS_URL")
        lines = [
            "",
            _("Helpdesk is starting (%(mode)s).") % {"mode": mode},
            "",
            "  " + _("Log in at  %(url)s") % {"url": f"{base_url}/admin/"},
            "  " + _("Email      %(email)s") % {"email": ADMIN_EMAIL},
            "  " + _("Password   %(password)s") % {"password": password},
            "  " + _("(a new password is set on every start)"),
            "",
            *(f"  {str(label) + ':':<24}{base_url}{path}" for label, path in LINKS),
            "",
            _("Press Ctrl+C to stop."),
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def serve(self, host: str, port: int) -> None:
        import uvicorn

        if settings.CELERY_TASK_ALWAYS_EAGER:  # no broker, no beat: tick in this process
            from helpdesk.embedded import start_ticker

            start_ticker()

        module, _dot, name = settings.ASGI_APPLICATION.rpartition(".")
        uvicorn.run(
            f"{module}:{name}",
            host=host,
            port=port,
            lifespan="off",  # Django's ASGI handler has no startup/shutdown hooks
            log_level="info",
            ws_max_size=settings.HELPDESK_WS_MAX_BYTES,
            # The helpdesk reads X-Forwarded-For itself, as HELPDESK_TRUSTED_PROXIES says
            # (uvicorn would trust it from any local peer).
            proxy_headers=False,
        )
