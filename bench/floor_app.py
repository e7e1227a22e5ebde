"""The floor: a bare Starlette endpoint running the application's own messages-page SQL (as
captured from the application, see bench/sqlplan.py) through an asyncpg pool of the same size,
answering the rows as JSON. No GraphQL, no authentication, no access check.

    BENCH_DB_URL=… BENCH_SQL_FILE=… python -m bench.floor_app PORT
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.sqlplan import decode_args


async def _init(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def main() -> None:
    port = int(sys.argv[1])
    spec = json.loads(open(os.environ["BENCH_SQL_FILE"], encoding="utf-8").read())
    sql, args = spec["sql"], decode_args(spec["args"])
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        state["pool"] = await asyncpg.create_pool(
            os.environ["BENCH_DB_URL"], min_size=2, max_size=10, init=_init
        )
        try:
            yield
        finally:
            await state["pool"].close()

    async def messages(request: Request) -> Response:
        async with state["pool"].acquire() as conn:
            rows = await conn.fetch(sql, *args)
        body = json.dumps({"messages": [dict(r) for r in rows]}, default=str)
        return Response(body, media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response("{}", media_type="application/json")

    app = Starlette(
        routes=[Route("/messages", messages, methods=["GET", "POST"]), Route("/ready", ready)],
        lifespan=lifespan,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None)


if __name__ == "__main__":
    main()
