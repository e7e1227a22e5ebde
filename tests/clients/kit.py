"""Running the client kit's Node tools (`clients/node_modules/.bin`) from tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

KIT = Path(__file__).resolve().parents[2] / "clients"


def run_node_tool(kit: Path, *args: str, env: dict[str, str] | None = None,
                  timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A command from the kit's node_modules/.bin, run in the kit; fails the test on error."""
    done = subprocess.run([str(kit / "node_modules" / ".bin" / args[0]), *args[1:]], cwd=kit,
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done
