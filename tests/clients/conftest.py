"""The client kit (`clients/`): its npm packages installed once per test session from the
lock file. Tests that need Node skip, saying why, where npm is missing or cannot install."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.kit import KIT


@pytest.fixture(scope="session")
def client_kit() -> Path:
    """`clients/` with its node_modules, as `npm ci` installs them from the lock file."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("Node and npm are not installed: the client-kit checks need them")
    installed = KIT / "node_modules" / ".package-lock.json"
    lock = KIT / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=KIT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci could not install the client kit: {done.stderr[-500:]}")
    return KIT
