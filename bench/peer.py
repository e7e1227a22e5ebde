"""The peer: PostGraphile v5 serving the same tables, installed by the bench into
.data/bench/peer with npm (Node 22 comes from the registry's `node@22` package, since
PostGraphile 5 needs Node ≥ 22 and the machine's Node may be older)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from bench.common import CACHE
from bench.procs import Proc
from bench.queries import PEER_MESSAGES_PAGE

PEER_DIR = CACHE / "peer"
PACKAGES = ("node@22", "postgraphile@5")
CONFIG = """\
// Written by bench/peer.py: PostGraphile's recommended (amber) preset over the bench database.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.BENCH_DB_URL,
      schemas: ["public"],
      // The same pool size as the application's default DB_POOL_MAX.
      poolConfig: { max: 10 },
    }),
  ],
  grafserv: { host: "127.0.0.1", port: Number(process.env.BENCH_PORT), watch: false },
  grafast: { explain: false },
};
"""


class PeerUnavailable(Exception):
    pass


def _node() -> Path:
    return PEER_DIR / "node_modules" / "node" / "bin" / "node"


def _cli() -> Path:
    return PEER_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"


def _installed() -> str | None:
    """The installed PostGraphile version when node ≥ 22 and postgraphile 5 are both there."""
    node = _node()
    package = PEER_DIR / "node_modules" / "postgraphile" / "package.json"
    if not node.exists() or not package.exists():
        return None
    try:
        version = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except OSError:
        return None
    if not version.startswith("v") or int(version[1:].split(".")[0]) < 22:
        return None
    pg_version = json.loads(package.read_text())["version"]
    return f"postgraphile {pg_version} on node {version}" if pg_version.startswith("5") else None


def install() -> str:
    """Install (once) and describe the peer; PeerUnavailable says why it cannot be."""
    found = _installed()
    if found:
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise PeerUnavailable("npm is not installed, so PostGraphile cannot be installed")
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    print(f"  installing {' '.join(PACKAGES)} into {PEER_DIR} (once)…", flush=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(PEER_DIR), "--no-audit", "--no-fund", *PACKAGES],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise PeerUnavailable(f"npm install failed: {done.stderr.strip()[-500:]}")
    found = _installed()
    if not found:
        raise PeerUnavailable(
            "npm installed the packages but no Node ≥ 22 binary appeared under "
            f"{_node()} (the node@22 package fetches it in an install script; was it blocked?)"
        )
    if not _cli().exists():
        raise PeerUnavailable(f"postgraphile's CLI is not at {_cli()}")
    return found


def process(db_url: str, port: int) -> Proc:
    (PEER_DIR / "graphile.config.mjs").write_text(CONFIG)
    env = {
        **os.environ,
        "BENCH_DB_URL": db_url,
        "BENCH_PORT": str(port),
        "GRAPHILE_ENV": "production",
        "NODE_ENV": "production",
    }
    return Proc(
        "postgraphile",
        [str(_node()), str(_cli()), "-C", "graphile.config.mjs"],
        env,
        port,
        ready_path="/graphql",
        cwd=PEER_DIR,
    )


async def discover(url: str) -> str:
    """The peer's equivalent of the chat page query, from its generated schema."""
    query = """{
      q: __schema { queryType { fields { name type { name } } } }
      m: __type(name: "WhatsappMessage") { fields { name } }
      o: __type(name: "WhatsappMessagesOrderBy") { enumValues { name } }
      o1: __type(name: "WhatsappMessageOrderBy") { enumValues { name } }
    }"""
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(50):
            try:
                answer = (await http.post(url + "/graphql", json={"query": query})).json()
                break
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.2)
        else:
            raise PeerUnavailable("PostGraphile did not answer introspection")
    data: dict[str, Any] = answer.get("data") or {}
    data["o"] = data.get("o") or data.get("o1")
    if not data.get("m") or not data.get("o"):
        raise PeerUnavailable(f"PostGraphile's schema has no WhatsappMessage: {answer}")
    field = next(
        (
            f["name"]
            for f in data["q"]["queryType"]["fields"]
            if (f["type"] or {}).get("name")
            in ("WhatsappMessagesConnection", "WhatsappMessageConnection")
        ),
        None,
    )
    fields = {f["name"] for f in data["m"]["fields"]}
    orders = {v["name"] for v in data["o"]["enumValues"]}
    if field is None or "TIMESTAMP_DESC" not in orders:
        raise PeerUnavailable(f"no messages connection ordered by timestamp: {sorted(orders)}")
    id_field = "rowId" if "rowId" in fields else "id"
    id_order = next(o for o in ("ROW_ID_DESC", "ID_DESC", "PRIMARY_KEY_DESC") if o in orders)
    return PEER_MESSAGES_PAGE % {"field": field, "id": id_field, "id_order": id_order}
