"""What the helpdesk's management commands share."""

from django.core.management.base import BaseCommand
from django.utils.functional import Promise


class TranslatedCommand(BaseCommand):
    """A command whose help speaks the user's language: argparse wants a str when --help is
    printed, and a lazy string given as `help` breaks it, so `help_text` is read then."""

    help_text: Promise | str = ""

    @property
    def help(self) -> str:  # type: ignore[override]
        return str(self.help_text)
