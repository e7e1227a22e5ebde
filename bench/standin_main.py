"""The Evolution API stand-in of the tests (tests/standin/evolution.py) as a process of its own,
on a fixed loopback port, with a few bench-only routes under /_bench:

    GET  /_bench/ready       200 once serving
    POST /_bench/instances   [{"name", "token"}]: add connected ("open") instances
    GET  /_bench/sends       [[instance, monotonic seconds], …] of every send received
    POST /_bench/reset       forget recorded requests and sends

    python -m bench.standin_main PORT API_KEY
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.standin.evolution import EvolutionStandIn


def main() -> None:
    port, key = int(sys.argv[1]), sys.argv[2]
    standin = EvolutionStandIn(key)
    standin.url = f"http://127.0.0.1:{port}"

    async def ready(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ready", "instances": len(standin.instances)})

    async def instances(request: Request) -> JSONResponse:
        for item in await request.json():
            standin.add_instance(item["name"], token=item["token"], state="open")
        return JSONResponse({"instances": len(standin.instances)})

    async def sends(request: Request) -> JSONResponse:
        return JSONResponse(
            [
                [r.path.rsplit("/", 1)[-1], r.received_at]
                for r in standin.requests
                if "/message/send" in r.path
            ]
        )

    async def reset(request: Request) -> JSONResponse:
        standin.requests.clear()
        standin.sent.clear()
        return JSONResponse({"status": "reset"})

    standin.app.router.routes[:0] = [
        Route("/_bench/ready", ready),
        Route("/_bench/instances", instances, methods=["POST"]),
        Route("/_bench/sends", sends),
        Route("/_bench/reset", reset, methods=["POST"]),
    ]
    uvicorn.run(standin.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
