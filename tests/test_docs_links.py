"""The README and docs/ link only to files in the repository, and every link resolves.

A relative link must name a file (or folder) inside the repository; an anchor must name a
heading of its target. Nothing may point outside: no `../shared/…`, no absolute paths.
No database needed.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "bench" / "RESULTS.md", *(ROOT / "docs").rglob("*.md")])

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
MD_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
EXTERNAL = ("http://", "https://", "mailto:")


def prose(text: str) -> str:
    """The text without code blocks and inline code, where links are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def links(path: Path) -> list[str]:
    text = prose(path.read_text(encoding="utf-8"))
    return MD_LINK.findall(text) + HTML_LINK.findall(text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    heading = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8")))}


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_docs_are_there() -> None:
    for required in ("architecture", "assignment", "reports", "widget", "email", "import"):
        assert (ROOT / "docs" / f"{required}.md").is_file(), required
    assert (ROOT / "docs" / "operations.md").is_file()


@pytest.mark.parametrize("doc", DOCS, ids=name)
def test_nothing_points_outside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    for outside in ("../shared", "shared/DESIGN.md", "shared/API.md"):
        assert outside not in text, f"{name(doc)} mentions {outside}"


@pytest.mark.parametrize("doc", DOCS, ids=name)
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for target in links(doc):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        if path_part.startswith("/") or re.match(r"^[a-z][a-z0-9+.-]*:", path_part, re.I):
            broken.append(f"{target}: not a relative link into the repository")
            continue
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {name(resolved)}")
    assert not broken, f"{name(doc)}: " + "; ".join(broken)
