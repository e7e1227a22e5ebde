"""The application under tracemalloc, to show where the memory of idle subscribers goes.

Run like `server.py serve` (same environment, same uvicorn options) plus two routes:
GET /_bench/heap/baseline takes a snapshot; GET /_bench/heap/report compares a new one with it
and answers the biggest growth by source line and by package.

    python -m bench.memprofile      (configured by the environment, as the server)
"""

from __future__ import annotations

import tracemalloc
from collections import Counter
from typing import Any

tracemalloc.start(1)

import uvicorn  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from bench.profile import _package, short_path  # noqa: E402
from server import UVICORN_OPTIONS, create_app  # noqa: E402
from services.platform import bootstrap  # noqa: E402
from services.platform.settings import load_settings  # noqa: E402


def main() -> None:
    settings = load_settings()
    secret = bootstrap.jwt_secret(settings)
    app = create_app(settings, secret)
    state: dict[str, Any] = {}

    async def baseline(request: Request) -> JSONResponse:
        state["base"] = tracemalloc.take_snapshot()
        return JSONResponse({"traced": tracemalloc.get_traced_memory()[0]})

    async def report(request: Request) -> JSONResponse:
        now = tracemalloc.take_snapshot()
        by_file = now.compare_to(state["base"], "filename")
        total = sum(s.size_diff for s in by_file)
        by_package: Counter[str] = Counter()
        for stat in by_file:
            by_package[_package(stat.traceback[0].filename)] += stat.size_diff
        top = now.compare_to(state["base"], "lineno")[:30]
        return JSONResponse(
            {
                "growth": total,
                "by_package": by_package.most_common(10),
                "top_files": [
                    [short_path(s.traceback[0].filename), s.size_diff] for s in by_file[:10]
                ],
                "top_lines": [
                    [
                        f"{short_path(s.traceback[0].filename)}:{s.traceback[0].lineno}",
                        s.size_diff,
                        s.count_diff,
                    ]
                    for s in top
                ],
            }
        )

    app.router.routes[:0] = [
        Route("/_bench/heap/baseline", baseline),
        Route("/_bench/heap/report", report),
    ]
    assert settings.database_url
    uvicorn.run(app, host=settings.host, port=settings.port, **UVICORN_OPTIONS)


if __name__ == "__main__":
    main()
