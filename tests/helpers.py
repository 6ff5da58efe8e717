"""Plain helpers shared by test modules (fixtures live in the conftest files)."""

import time

from django.contrib.messages import get_messages
from django.urls import reverse


def flash(response) -> list[str]:
    """The admin's flash messages of a response."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, action: str, conversations, **fields):
    """Run an action of the conversations' changelist on `conversations`, following redirects."""
    data = {"action": action, "_selected_action": [c.pk for c in conversations], **fields}
    if not fields:
        data["index"] = 0  # the changelist's own action bar
    changelist = reverse("admin:conversations_conversation_changelist")
    return client.post(changelist, data, follow=True)


def eventually(find, timeout: float = 10.0):
    """What `find()` returns once it is truthy (or its last answer after `timeout` seconds):
    a live server works in its own thread."""
    deadline = time.monotonic() + timeout
    while True:
        value = find()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def limit(settings, **rates) -> None:
    """Sets rate-limit scopes (`widget_sessions="3/min"`) for one test, through pytest-django's
    `settings` fixture; every other scope keeps the test settings' generous rate."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }
