"""`.env.example` lists every setting the code reads from the environment.

The reads are found in the code itself (its syntax tree), so a new `os.environ.get("X")`, or a
call of a helper such as `env_bool("X")` that reads its argument, fails here until the example
file documents X.
"""

import ast
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
EXAMPLE = ROOT / ".env.example"
NOT_PRODUCTION = {"tests", "bench", "node_modules", "staticfiles", "locale", "templates"}


def production_files() -> list[Path]:
    """Every .py file of the project but the tests and the benchmarks (and any virtualenv)."""
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not set(path.relative_to(ROOT).parts[:-1]) & NOT_PRODUCTION
        and not any(part.startswith(".") or "venv" in part for part in path.relative_to(ROOT).parts)
    )


def _is_environ(node: ast.AST) -> bool:
    """`os.environ` or a bare `environ` (from os import environ)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _read_key(node: ast.AST) -> ast.AST | None:
    """The name expression of an environment read, if `node` is one.

    Reads: os.environ.get(K), os.environ[K], os.getenv(K), K in os.environ (and `not in`).
    os.environ.setdefault(K, v) is not a read of a setting: it gives Django its default.
    """
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value):
            return node.args[0]
        if (isinstance(func, ast.Attribute) and func.attr == "getenv") or (
            isinstance(func, ast.Name) and func.id == "getenv"
        ):
            return node.args[0]
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return node.slice
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.In | ast.NotIn)
        and _is_environ(node.comparators[0])
    ):
        return node.left
    return None


def environment_reads(source: str) -> tuple[set[str], list[str]]:
    """(names read, reads whose name could not be told) in one module's source."""
    tree = ast.parse(source)
    # Helpers that read the variable named by one of their parameters: def env_bool(name): …
    helpers: dict[str, int] = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            params = [arg.arg for arg in function.args.posonlyargs + function.args.args]
            for node in ast.walk(function):
                key = _read_key(node)
                if isinstance(key, ast.Name) and key.id in params:
                    helpers[function.name] = params.index(key.id)
    names: set[str] = set()
    unknown: list[str] = []
    for node in ast.walk(tree):
        key = _read_key(node)
        if key is None and isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            position = helpers.get(node.func.id)
            if position is not None and len(node.args) > position:
                key = node.args[position]
        if key is None:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
        elif not (isinstance(key, ast.Name) and _inside_helper(tree, node, helpers)):
            unknown.append(f"line {node.lineno}: {ast.unparse(node)}")
    return names, unknown


def _inside_helper(tree: ast.AST, node: ast.AST, helpers: dict[str, int]) -> bool:
    return any(
        isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        and function.name in helpers
        and any(inner is node for inner in ast.walk(function))
        for function in ast.walk(tree)
    )


def documented() -> set[str]:
    """The names of .env.example, commented out (#NAME=value) or not."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(), flags=re.MULTILINE))


def test_the_scanner_finds_direct_reads_and_reads_through_helpers():
    source = """
import os
from os import environ, getenv

def env_flag(label, default=False):
    return os.environ.get(label, str(default)) == "1"

A = os.environ.get("A", "")
B = os.environ["B"]
C = getenv("C")
D = "D" in os.environ
E = env_flag("E")
F = environ.get("F")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x")
G = os.environ.get(f"G_{A}")
"""
    names, unknown = environment_reads(source)
    assert names == {"A", "B", "C", "D", "E", "F"}
    assert len(unknown) == 1 and unknown[0].startswith("line 15:"), unknown


def test_every_environment_read_is_in_the_env_example():
    files = production_files()
    assert ROOT / "helpdesk" / "settings.py" in files
    reads: dict[str, set[str]] = {}
    unknown: list[str] = []
    for path in files:
        names, unclear = environment_reads(path.read_text())
        for name in names:
            reads.setdefault(name, set()).add(str(path.relative_to(ROOT)))
        unknown += [f"{path.relative_to(ROOT)} {read}" for read in unclear]

    assert not unknown, f"environment reads whose name is not a string literal: {unknown}"
    assert {"DATABASE_URL", "REDIS_URL", "DEBUG", "ALLOWED_HOSTS"} <= set(reads)  # helpers too
    missing = {name: sorted(where) for name, where in reads.items() if name not in documented()}
    assert not missing, f"read from the environment but not in .env.example: {missing}"
