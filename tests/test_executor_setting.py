"""GRAPHQL_EXECUTOR: the short path (checked against the installed packages when the schema is
built) or Strawberry's own executor; and the pins the check holds the packages to."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.executor import Executor
from schema.executor_checks import PINS, ShortPathUnsupported, check_short_path
from schema.root import build_schema
from services.platform.settings import SettingsError, parse_settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_setting_is_short_unless_stock_is_asked_for() -> None:
    assert parse_settings({}).graphql_executor == "short"
    assert parse_settings({"GRAPHQL_EXECUTOR": "stock"}).graphql_executor == "stock"
    with pytest.raises(SettingsError, match="GRAPHQL_EXECUTOR"):
        parse_settings({"GRAPHQL_EXECUTOR": "fast"})


def test_live_fanout_is_direct_unless_stock_is_asked_for() -> None:
    assert parse_settings({}).live_fanout == "direct"
    assert parse_settings({"LIVE_FANOUT": "STOCK"}).live_fanout == "stock"
    with pytest.raises(SettingsError, match="LIVE_FANOUT"):
        parse_settings({"LIVE_FANOUT": "fast"})


def test_the_schema_builder_uses_the_executor_asked_for() -> None:
    assert build_schema(executor="short").execution_context_class is Executor
    stock = build_schema(executor="stock").execution_context_class
    assert stock is not Executor and not issubclass(stock, Executor)
    with pytest.raises(ValueError, match="executor"):
        build_schema(executor="fast")


def test_the_installed_packages_hold_the_short_paths_assumptions() -> None:
    check_short_path()  # what build_schema(executor="short") runs at start


def test_another_version_stops_the_short_path_naming_it() -> None:
    with pytest.raises(
        ShortPathUnsupported, match=r"GRAPHQL_EXECUTOR=stock.*graphql-core 3\.4\.0 is installed"
    ):
        check_short_path(
            installed=lambda package: {"graphql-core": "3.4.0"}.get(package, PINS[package])
        )


def test_a_changed_method_stops_the_short_path_naming_it() -> None:
    class Changed(StrawberryGraphQLCoreExecutionContext):
        def execute_field(
            self, parent_type: Any, source: Any, fields: Any, path: Any, position_context: Any
        ) -> Any:
            return None

    with pytest.raises(ShortPathUnsupported, match="execute_field"):
        check_short_path(base=Changed)


def test_the_pins_are_the_projects_pins() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    constraints = (ROOT / "constraints.txt").read_text()
    for package, pinned in PINS.items():
        assert any(
            re.fullmatch(rf"{package}(\[[^\]]*\])?=={re.escape(pinned)}", d) for d in dependencies
        ), (package, dependencies)
        assert f"\n{package}=={pinned}\n" in constraints, package
