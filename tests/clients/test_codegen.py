"""The committed TypeScript types are what GraphQL Code Generator makes of the current schema
and operations, and they compile under `tsc --strict`."""

from __future__ import annotations

import os
from pathlib import Path

from tests.clients.kit import run_node_tool


async def test_generated_types_match_schema_and_operations(
    client_kit: Path, tmp_path: Path
) -> None:
    await run_node_tool(
        client_kit,
        "graphql-codegen",
        "--config",
        "codegen.yml",
        env={**os.environ, "CODEGEN_DIR": str(tmp_path)},
    )
    for name in ("schema.ts", "operations.ts"):
        fresh = (tmp_path / name).read_text()
        committed = (client_kit / "generated" / name).read_text()
        assert fresh == committed, (
            f"clients/generated/{name} is stale: run `npm ci && npm run codegen` in clients/"
        )


async def test_generated_types_compile(client_kit: Path) -> None:
    await run_node_tool(client_kit, "tsc", "-p", ".")
