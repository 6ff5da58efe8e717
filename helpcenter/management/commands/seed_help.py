"""`manage.py seed_help`: the demo help center (helpcenter/demo.py). Running it again adds
nothing."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conversations.management.base import TranslatedCommand
from helpcenter.demo import seed_help_center


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Create the demo help center: categories and articles in English and Turkish. "
        "Running it again creates nothing new."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        created = seed_help_center()
        self.stdout.write(
            _("Demo help center: %(created)d articles created.") % {"created": created}
        )
