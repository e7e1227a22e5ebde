"""Running the client kit's Node tools (`clients/node_modules/.bin`) from tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

KIT = Path(__file__).resolve().parents[2] / "clients"


async def run_node_tool(
    kit: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> str:
    """A command of the kit (from its node_modules/.bin, else `node` itself) run in the kit,
    without blocking the event loop (a test's server answers on it); its standard output.
    Fails the test on error."""
    local = kit / "node_modules" / ".bin" / args[0]
    process = await asyncio.create_subprocess_exec(
        str(local) if local.exists() else args[0],
        *args[1:],
        cwd=kit,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        raise
    assert process.returncode == 0, out.decode()[-3000:] + err.decode()[-3000:]
    return out.decode()
