"""Dependencies point one way: the project (helpdesk/) is imported by no app, the core
(conversations/) by neither agents nor reports' side, and reports by nobody. No look-up
tricks stand in for an import: the core names no other app's models by relation."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# app -> the top-level packages it must never import
FORBIDDEN = {
    "conversations": {"agents", "reports", "helpcenter", "bot", "inboxes", "campaigns", "helpdesk"},
    "agents": {"reports", "campaigns", "helpdesk"},
    "reports": {"helpdesk"},
    # The help center stands on the core only (customers, the API's bases).
    "helpcenter": {"agents", "reports", "bot", "helpdesk"},
    # The bot stands on the core, agents' availability and the help center's search.
    "bot": {"reports", "helpdesk"},
    # Channels stand on the core only: the core asks them through a seam and the event log.
    "inboxes": {"agents", "reports", "helpcenter", "bot", "helpdesk"},
    # Campaigns stand on the core and agents' availability.
    "campaigns": {"reports", "helpcenter", "bot", "helpdesk"},
}


def production_modules(app: str) -> list[Path]:
    return [path for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts]


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports, wherever in the module the import stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_apps_import_only_what_they_stand_on(app):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[app])
        for path in production_modules(app)
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_core_reaches_no_other_app_through_relations():
    tricks = ("related_model", "agents__", "agent__", "apps.get_model")
    found = [
        f"{path.relative_to(ROOT)}: {trick}"
        for path in production_modules("conversations")
        for trick in tricks
        if trick in path.read_text()
    ]
    assert found == []
