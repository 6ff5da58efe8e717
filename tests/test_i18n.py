"""Turkish ships beside English: pages and API errors answer in the visitor's language, and the
catalogs (locale/tr/LC_MESSAGES/django.po and djangojs.po for the widget's script, compiled to
the committed .mo files) are complete."""

import ast
import gettext
import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.utils import translation
from rest_framework.test import APIClient

TR_DIR = Path(settings.BASE_DIR) / "locale" / "tr" / "LC_MESSAGES"
# Each domain's catalog, and how many entries it has at least (not an empty catalog).
CATALOGS = {"django": 400, "djangojs": 50}
catalogs = pytest.mark.parametrize("domain", CATALOGS)
pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


def po_file(domain: str) -> Path:
    return TR_DIR / f"{domain}.po"


@pytest.fixture
def agent_client(client, make_agent):
    """An agent (staff, not a superuser) logged in."""
    client.force_login(make_agent())
    return client


# --- Pages ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_login_page_is_in_turkish(client):
    html = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()

    assert '<html lang="tr"' in html
    assert "Yardım Masası yönetimi" in html  # our site header
    assert "Oturum aç" in html  # Django's own Turkish catalog


@pytest.mark.django_db
def test_admin_login_page_stays_english_for_english_browsers(client):
    html = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Helpdesk administration" in html
    assert "Yardım Masası" not in html


@pytest.mark.django_db
def test_reports_page_is_in_turkish(agent_client):
    response = agent_client.get("/reports/", HTTP_ACCEPT_LANGUAGE="tr")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="tr">' in html
    for text in ("Raporlar", "İlk yanıt süresi", "Çözüm süresi", "Tüm ekipler", "Memnuniyet"):
        assert text in html, text
    # The strings the page's script writes itself come translated too.
    script = re.search(r'<script id="report-strings" type="application/json">(.*?)</script>', html)
    assert json.loads(script.group(1))["vs_previous"] == "önceki döneme göre"
    assert "First response time" not in html


@pytest.mark.django_db
def test_widget_demo_page_is_in_turkish(client):
    html = client.get("/widget/demo/", HTTP_ACCEPT_LANGUAGE="tr").content.decode()

    assert "Sepete ekle" in html
    assert "Bizimle sohbet edin" in html
    assert "Add to cart" not in html


@pytest.mark.django_db
def test_the_visitor_can_choose_turkish_over_the_browser_language(client):
    client.post("/i18n/setlang/", {"language": "tr", "next": "/widget/demo/"})

    html = client.get("/widget/demo/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Sepete ekle" in html


# --- API errors -------------------------------------------------------------------------------


def widget_client() -> APIClient:
    session = APIClient().post(
        "/api/v1/widget/sessions", {"name": "Ayşe", "email": "ayse@example.com"}, format="json"
    )
    assert session.status_code == 201, session.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session.json()['customer_token']}")
    return client


@pytest.mark.django_db
def test_widget_api_errors_are_in_turkish():
    response = widget_client().post(
        "/api/v1/widget/conversations", {}, format="json", HTTP_ACCEPT_LANGUAGE="tr"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "Bazı alanlar geçerli değil."
    assert "Bu alan zorunludur." in error["fields"]["body"]


@pytest.mark.django_db
def test_widget_api_errors_stay_english_for_english_clients():
    response = widget_client().post(
        "/api/v1/widget/conversations", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.json()["error"]["message"] == "Some fields are not valid."


@pytest.mark.django_db
def test_report_api_errors_are_in_turkish(agent_client):
    response = agent_client.get(
        "/api/v1/reports/summary", {"tz": "Mars/Olympus_Mons"}, HTTP_ACCEPT_LANGUAGE="tr"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Bilinmeyen saat dilimi."
    assert error["fields"]["tz"] == ["Europe/Istanbul gibi bir IANA adı kullanın."]


# --- Commands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    # create_agent's help is still a lazy string, which argparse cannot print (agents app).
    "command",
    ["import_history", "seed_demo", "serve", "rebuild_reports"],
)
def test_command_help_is_translated(command):
    with translation.override("tr"):
        parser = load_command_class(get_commands()[command], command).create_parser(
            "manage.py", command
        )
        text = parser.format_help()

    assert text.split("\n\n")[1].strip()  # the description, printed
    assert any(word in text for word in ("görüşme", "yardım masası", "metrik")), text


@pytest.mark.django_db
def test_command_output_is_translated():
    output = io.StringIO()
    with translation.override("tr"):
        call_command("rebuild_reports", stdout=output, stderr=io.StringIO())

    assert "Raporlar yeniden oluşturuldu" in output.getvalue()


def test_the_widget_gets_its_strings_in_the_browser_language(client):
    response = client.get("/api/v1/widget/strings", HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9")

    body = response.json()
    assert body["language"] == "tr"
    assert body["catalog"]["Open chat"] == "Sohbeti aç"
    assert body["catalog"]["Conversation #{id}"] == "Görüşme #{id}"
    assert "Accept-Language" in response["Vary"]


def test_the_widget_strings_are_english_by_default_and_open_to_embedding_sites(client):
    origin = settings.HELPDESK_WIDGET_ORIGINS[0]
    response = client.get("/api/v1/widget/strings", HTTP_ACCEPT_LANGUAGE="de", HTTP_ORIGIN=origin)

    assert response.json()["language"] == "en"
    assert response.json()["catalog"] == {}
    assert response["Access-Control-Allow-Origin"] == origin


# --- The catalog ------------------------------------------------------------------------------


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (index -> text), flags."""
    entries: list[dict] = []
    entry: dict | None = None
    field: tuple[str, int | None] | None = None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry:
                entries.append(entry)
            entry, field = None, None
            continue
        entry = entry or {"flags": set(), "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif match := re.match(
            r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$', line
        ):
            keyword, index, text = match.groups()
            field = (keyword, int(index) if index else None)
            value = ast.literal_eval(text)
            if keyword == "msgstr":
                entry["msgstr"][field[1]] = value
            else:
                entry[keyword] = value
        elif line.startswith('"') and field:
            value = ast.literal_eval(line)
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] += value
            else:
                entry[field[0]] += value
    return [entry for entry in entries if entry.get("msgid") and not entry["obsolete"]]


def describe(entry: dict) -> str:
    return f"{entry.get('msgctxt', '')}|{entry['msgid']}".lstrip("|")


@catalogs
def test_every_message_is_translated_and_none_is_fuzzy(domain):
    entries = read_po(po_file(domain))

    assert len(entries) > CATALOGS[domain]  # the whole project's strings, not an empty catalog
    untranslated = [describe(e) for e in entries if not all(e["msgstr"].values())]
    fuzzy = [describe(e) for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


@catalogs
def test_the_catalog_declares_turkish_plural_forms(domain):
    header = po_file(domain).read_text(encoding="utf-8").split("\n\n", 1)[0]

    assert "Language: tr\\n" in header
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header
    assert "#, fuzzy" not in header


PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_.]+\}")


@catalogs
def test_translations_keep_the_placeholders(domain):
    wrong = []
    for entry in read_po(po_file(domain)):
        expected = set(PLACEHOLDER.findall(entry["msgid"]))
        for index, text in entry["msgstr"].items():
            found = set(PLACEHOLDER.findall(text))
            # The singular form may leave the count out ("Yeni yanıt" for one reply).
            allowed = expected | set(PLACEHOLDER.findall(entry.get("msgid_plural", "")))
            if not found <= allowed or (index in (None, 1) and found != allowed):
                wrong.append((describe(entry), index, sorted(expected), sorted(found)))
    assert wrong == []


@catalogs
def test_the_committed_mo_file_is_compiled_from_the_po_file(domain):
    """CI and fresh machines may lack gettext: the .mo in git must match the .po."""
    with (TR_DIR / f"{domain}.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    stale = []
    for entry in read_po(po_file(domain)):
        context, msgid = entry.get("msgctxt"), entry["msgid"]
        if "msgid_plural" in entry:
            got = [
                compiled.npgettext(context, msgid, entry["msgid_plural"], n)
                if context
                else compiled.ngettext(msgid, entry["msgid_plural"], n)
                for n in (1, 2)
            ]
            want = [entry["msgstr"][0], entry["msgstr"][1]]
        else:
            got = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
            want = entry["msgstr"][None]
        if got != want:
            stale.append(describe(entry))
    assert stale == [], "run: manage.py compilemessages -l tr"


def test_turkish_field_labels_keep_their_dotted_capital():
    """Django capitalises a field's label the English way ("iletim" → "Iletim"): a Turkish
    label that starts with a dotted i is written with its capital İ in the catalogue."""
    from django.apps import apps

    with translation.override("tr"):
        lowercase_i = sorted(
            f"{model._meta.label}.{field.name}: {field.verbose_name}"
            for model in apps.get_models()
            if not model.__module__.startswith(("django.", "rest_framework."))  # ours only
            for field in model._meta.get_fields()
            if str(getattr(field, "verbose_name", "")).startswith("i")
        )
    assert lowercase_i == []
