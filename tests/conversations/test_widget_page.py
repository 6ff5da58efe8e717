"""The widget's demo host page and the widget's static files."""

import re
from pathlib import Path

import pytest


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.django_db
def test_demo_page_embeds_the_widget_with_one_script_tag(client):
    response = client.get("/widget/demo/")

    assert response.status_code == 200
    html = response.content.decode()
    tags = re.findall(r"<script\b[^>]*>", html)
    embed = [tag for tag in tags if "widget.js" in tag]
    assert len(embed) == 1
    tag = embed[0]
    # Besides the embed, only the shop's own script (its "Chat with us" button calls
    # HelpdeskWidget.open(); no inline code under the Content-Security-Policy).
    assert [other for other in tags if other != tag] == ['<script src="/static/helpdesk/pages.js">']
    assert 'src="http://testserver/static/helpdesk/widget.js"' in tag
    assert 'data-helpdesk="http://testserver"' in tag
    assert 'data-team="billing"' in tag
    assert " async" in tag
    assert "This is a demo shop page for the Helpdesk chat widget" in html


@pytest.mark.django_db
def test_demo_page_speaks_the_visitors_language(client):
    response = client.get("/widget/demo/", HTTP_ACCEPT_LANGUAGE="tr")

    assert response.status_code == 200
    assert '<html lang="tr">' in response.content.decode()
    assert 'data-lang="tr"' in response.content.decode()


@pytest.mark.django_db
def test_a_signed_in_demo_visitor_gets_a_verified_identity(client, settings):
    from conversations.authentication import check_identity

    settings.HELPDESK_IDENTITY_SECRET = "demo-secret"
    html = client.get("/widget/demo/?signed_in=1").content.decode()

    identifier = re.search(r'data-identifier="([^"]+)"', html).group(1)
    identifier_hash = re.search(r'data-identifier-hash="([^"]+)"', html).group(1)
    assert check_identity(identifier, identifier_hash) == identifier


@pytest.mark.django_db
def test_the_widget_script_is_served_as_javascript(client):
    response = client.get("/static/helpdesk/widget-app.js")

    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    script = body_of(response).decode()
    assert "/ws/customer/" in script
    assert "innerHTML" not in script  # bodies only ever go in as text


@pytest.mark.django_db
def test_the_widget_stylesheet_is_served_as_css(client):
    response = client.get("/static/helpdesk/widget.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


def widget_strings() -> dict[str, str]:
    """The widget's English source strings (key -> text), read from widget-app.js."""
    from django.contrib.staticfiles import finders

    script = Path(finders.find("helpdesk/widget-app.js")).read_text()
    block = re.search(r"\n  const STRINGS = \{\n(.*?)\n  \};", script, re.S).group(1)
    keys = re.findall(r"^    (\w+):", block, re.M)
    texts = re.findall(r'gettext\(\s*"([^"]*)",?\s*\)', block)
    assert len(keys) == len(texts), "every widget string is marked with gettext()"
    return dict(zip(keys, texts, strict=True))


def test_every_widget_text_is_in_the_turkish_catalog(client):
    """The widget's text goes through Django's catalogs (djangojs), so Turkish is complete."""
    english = widget_strings()
    strings = client.get("/api/v1/widget/strings", HTTP_ACCEPT_LANGUAGE="tr").json()
    turkish = strings["catalog"]

    assert len(english) > 40
    untranslated = [text for text in english.values() if not turkish.get(text, "").strip()]
    assert untranslated == []
    for text in english.values():  # the same placeholders in both
        assert re.findall(r"\{\w+\}", text) == re.findall(r"\{\w+\}", turkish[text]), text
    assert turkish[english["offline"]].startswith("Şu anda müsait bir temsilci yok")


# --- helpdesk/client.js: the code the widget and the staff pages share ------------------------


def static_text(path: str) -> str:
    from django.contrib.staticfiles import finders

    return Path(finders.find(path)).read_text()


@pytest.mark.django_db
def test_the_shared_client_module_may_be_loaded_by_other_sites(client):
    """widget.js imports helpdesk/client.js from beside itself; on a shop's own origin that
    is a CORS fetch, so the module must be served with Access-Control-Allow-Origin."""
    response = client.get("/static/helpdesk/client.js")

    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]  # a module needs a JavaScript MIME type
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "innerHTML" not in body_of(response).decode()  # server text only ever as text
    widget = static_text("helpdesk/widget-app.js")
    assert 'new URL("client.js", SCRIPT_URL)' in widget and "import(CLIENT_URL)" in widget


@pytest.mark.parametrize(
    "path", ["helpdesk/widget-app.js", "agents/workspace.js", "reports/dashboard.js"]
)
def test_every_page_talks_to_the_helpdesk_through_the_shared_client(path):
    """One socket client and one API error shape: the pages' scripts have none of their own."""
    script = static_text(path)

    assert "client.js" in script
    assert "new WebSocket" not in script
    assert "class ApiError" not in script
    assert 'type: "resume"' not in script  # resuming from the cursor is client.js's
    shared = static_text("helpdesk/client.js")
    assert "new WebSocket" in shared and 'type: "resume"' in shared and "class ApiError" in shared


def test_the_strings_carry_the_message_limit_the_widget_counts_towards(client, settings):
    settings.HELPDESK_MAX_MESSAGE_LENGTH = 5_000
    strings = client.get("/api/v1/widget/strings", HTTP_ACCEPT_LANGUAGE="tr").json()
    assert strings["max_message_length"] == 5_000
    assert strings["catalog"]["{count} / {limit} characters"] == "{count} / {limit} karakter"
