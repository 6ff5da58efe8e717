"""Links follow the address `manage.py serve` listens on, unless HELPDESK_PUBLIC_URL is set
(issue 15, defect 8: `serve --port 8100` wrote resume links to port 8000)."""

import io
import socket

import pytest
from django.conf import settings
from django.core.management import call_command

from conversations.mail.outbound import resume_url
from helpdesk.management.commands import serve
from helpdesk.public_url import DEFAULT_PUBLIC_URL

pytestmark = pytest.mark.django_db

FOLLOWING = (
    "HELPDESK_PUBLIC_URL",
    "HELPDESK_WIDGET_ORIGINS",
    "CORS_ALLOWED_ORIGINS",
    "HELPDESK_SOCKET_ORIGIN",
    "CONTENT_SECURITY_POLICY",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(monkeypatch, start_conversation):
    """Run `manage.py serve --port PORT` up to the point where uvicorn would start, and
    return what the running helpdesk would then write: (port, resume link, CSP header)."""
    for name in FOLLOWING:  # serve changes them for the process; the next test must not see it
        monkeypatch.setattr(settings, name, getattr(settings, name))
    monkeypatch.setattr(serve.Command, "serve", lambda self, host, port: None)
    conversation = start_conversation()

    def run(client) -> tuple[int, str, str]:
        port = free_port()
        call_command("serve", port=port, demo_conversations=0, stdout=io.StringIO())
        csp = client.get("/widget/demo/").headers["Content-Security-Policy"]
        return port, resume_url(conversation), csp

    return run


def test_serve_on_another_port_writes_links_to_that_port(served, client, monkeypatch):
    monkeypatch.delenv("HELPDESK_PUBLIC_URL", raising=False)
    monkeypatch.delenv("HELPDESK_WIDGET_ORIGINS", raising=False)
    assert settings.HELPDESK_PUBLIC_URL == DEFAULT_PUBLIC_URL
    port, link, csp = served(client)
    assert link.startswith(f"http://127.0.0.1:{port}/widget/resume/")
    assert f"connect-src 'self' ws://127.0.0.1:{port}" in csp
    assert settings.HELPDESK_WIDGET_ORIGINS == [f"http://127.0.0.1:{port}"]
    assert settings.CORS_ALLOWED_ORIGINS == [f"http://127.0.0.1:{port}"]


def test_a_public_url_the_operator_set_wins_over_the_port(served, client, monkeypatch, settings):
    monkeypatch.setenv("HELPDESK_PUBLIC_URL", "https://help.example.com")
    settings.HELPDESK_PUBLIC_URL = "https://help.example.com"
    _port, link, _csp = served(client)
    assert link.startswith("https://help.example.com/widget/resume/")
    assert settings.HELPDESK_PUBLIC_URL == "https://help.example.com"


def test_widget_origins_the_operator_set_stay_when_the_port_is_followed(
    served, client, monkeypatch, settings
):
    monkeypatch.delenv("HELPDESK_PUBLIC_URL", raising=False)
    monkeypatch.setenv("HELPDESK_WIDGET_ORIGINS", "https://shop.example.com")
    settings.HELPDESK_WIDGET_ORIGINS = ["https://shop.example.com"]
    port, link, _csp = served(client)
    assert link.startswith(f"http://127.0.0.1:{port}/widget/resume/")
    assert settings.HELPDESK_WIDGET_ORIGINS == ["https://shop.example.com"]
