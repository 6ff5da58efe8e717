"""Every test checks something: an `assert`, `pytest.raises`/`fail`, a `django_assert_*`
fixture, or a call of a helper (of the test suite) that does one of these."""

import ast
from pathlib import Path

TESTS = Path(__file__).parent
CHECKING_CALLS = {"raises", "fail", "warns", "expect"}


def _checks_directly(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Raise) and node.exc and "AssertionError" in ast.unparse(node.exc):
            return True
        if isinstance(node, ast.Name) and node.id.startswith("django_assert"):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in CHECKING_CALLS or name.startswith("assert_"):
                return True
    return False


def _calls(function: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def unchecked_tests(sources: dict[str, str]) -> list[str]:
    functions: dict[str, list[tuple[str, ast.AST]]] = {}
    for where, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.setdefault(node.name, []).append((where, node))
    checking = {
        name for name, defs in functions.items() if any(_checks_directly(d) for _, d in defs)
    }
    while grown := {
        name
        for name, defs in functions.items()
        if name not in checking and any(_calls(d) & checking for _, d in defs)
    }:
        checking |= grown
    return sorted(
        f"{where}:{node.lineno} {name}"
        for name, defs in functions.items()
        if name.startswith("test_")
        for where, node in defs
        if not (_checks_directly(node) or _calls(node) & checking)
    )


def test_the_check_finds_a_test_that_checks_nothing():
    source = """
def helper(x):
    assert x

def indirect(x):
    helper(x)

def test_direct(): assert 1 + 1 == 2
def test_through_helpers(): indirect(3)
def test_raises(): pytest.raises(ValueError, int, "x")
def test_queries(django_assert_num_queries):
    with django_assert_num_queries(1): pass
def test_nothing(): run_report_export(1)
"""
    assert unchecked_tests({"example.py": source}) == ["example.py:13 test_nothing"]


def test_every_test_checks_something():
    sources = {
        str(path.relative_to(TESTS)): path.read_text() for path in sorted(TESTS.rglob("*.py"))
    }
    assert unchecked_tests(sources) == []
