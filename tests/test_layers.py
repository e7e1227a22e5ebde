"""The layers hold: read every import of the application (type-only and in-function ones too).

- `db` imports nothing of ours but `db`;
- `services` never imports `schema`, `resolvers` or `server`;
- `resolvers` and `schema` never import `db` (they call services; a loader is a batch call);
- the modules of `services` import one another without cycles;
- a service receives what it uses (protocols of `services.platform.capabilities`): only
  `services/platform` (the composition root) imports `Runtime`;
- each package under `services` says what it owns in its `__init__` docstring.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"db", "services", "schema", "resolvers", "server"}
FORBIDDEN = {
    "db": OURS - {"db"},
    "services": {"schema", "resolvers", "server"},
    "resolvers": {"db"},
    "schema": {"db"},
}


def imported(source: str) -> set[str]:
    """Every module named by an import statement anywhere in `source` (absolute imports; a
    `from package import module` names both)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violations(layer: str, source: str) -> list[str]:
    return sorted(name for name in imported(source) if name.split(".")[0] in FORBIDDEN[layer])


RUNTIME = "services.platform.runtime"


def imports_runtime(source: str) -> bool:
    return any(name == RUNTIME or name.startswith(RUNTIME + ".") for name in imported(source))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_checker_sees_every_kind_of_import():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import db.sql\n"
        "if TYPE_CHECKING:\n    from schema.common import PageInfo\n"
        "def f():\n    from resolvers import context\n"
    )
    assert violations("services", source) == [
        "resolvers",
        "resolvers.context",
        "schema.common",
        "schema.common.PageInfo",
    ]
    assert violations("schema", source) == ["db.sql"]
    assert violations("db", "from db.sql import Row\nimport asyncpg\n") == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_only_what_it_may(layer):
    found = {
        str(path.relative_to(ROOT)): bad
        for path in sorted((ROOT / layer).rglob("*.py"))
        if (bad := violations(layer, path.read_text()))
    }
    assert found == {}


def test_services_receive_what_they_use_not_the_runtime():
    assert imports_runtime("from services.platform.runtime import Runtime\n")
    assert imports_runtime("def f():\n    from services.platform import runtime\n")
    assert not imports_runtime("from services.platform.capabilities import WithDatabase\n")
    platform = ROOT / "services" / "platform"
    found = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "services").rglob("*.py"))
        if platform not in path.parents and imports_runtime(path.read_text())
    ]
    assert found == []


def test_services_import_one_another_without_cycles():
    modules = {module_name(p): p for p in (ROOT / "services").rglob("*.py")}
    graph = {
        name: {m for m in imported(path.read_text()) if m in modules and m != name}
        for name, path in modules.items()
    }
    # Packages' __init__ modules hold only docstrings: an edge to a package is no dependency.
    packages = {module_name(p) for p in (ROOT / "services").rglob("__init__.py")}
    graph = {name: deps - packages for name, deps in graph.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " → ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_each_services_package_says_what_it_owns():
    for init in sorted((ROOT / "services").rglob("__init__.py")):
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init.relative_to(ROOT)} has no docstring"
        # A package's __init__ re-exports nothing: callers import from the module itself.
        assert all(isinstance(n, ast.Expr) for n in tree.body), init.relative_to(ROOT)
