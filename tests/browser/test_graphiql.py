"""GraphiQL works offline: headless Chromium, allowed to reach nothing but this server, loads
/graphql, runs a query with a bearer token typed into GraphiQL's header editor, and receives a
subscription event over GraphiQL's own websocket client.

The page's seven files come from static/graphiql/ (`make graphiql-assets`, which needs npm).
The browser test is skipped, saying so, where Chromium is not installed (`apt-get install
chromium`) or where npm is not and so nothing is vendored; with npm present and nothing
vendored it fails, asking for `make graphiql-assets`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from strawberry.http.ides import get_graphql_ide_html

from resolvers.graphiql import (
    cdn_assets,
    graphiql_assets_route,
    local_page,
    sri_sha384,
)
from tests.helpers import create_instance_row, load_payload, post_webhook, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    # No name resolves: nothing but the loopback server is reachable at all.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
CDN_PAGE = get_graphql_ide_html(graphql_ide="graphiql")
ASSETS = cdn_assets(CDN_PAGE)


def require_vendored_assets() -> None:
    if "unpkg.com" not in local_page(CDN_PAGE):  # every file present and verified
        return
    if shutil.which("npm") is None:
        pytest.skip(
            "npm is not installed, so GraphiQL's assets are not vendored into "
            "static/graphiql/ and the page needs unpkg.com: the offline GraphiQL check "
            "did not run"
        )
    pytest.fail(
        "GraphiQL's assets are not vendored (or do not match the page's integrity "
        "hashes): run `make graphiql-assets`"
    )


# --- the page and the asset route, without a browser -------------------------------------------


def test_the_cdn_page_lists_seven_assets_with_integrity_hashes():
    assert len(ASSETS) == 7
    assert all(a.integrity.startswith("sha384-") for a in ASSETS)
    assert {a.name for a in ASSETS} == {
        "react",
        "react-dom",
        "js-cookie",
        "graphiql",
        "@graphiql/plugin-explorer",
    }


def test_only_verified_copies_replace_cdn_urls(tmp_path):
    good, bad = b"console.log('good')", b"console.log('tampered')"
    page = (
        f'<script crossorigin src="https://unpkg.com/a@1.0.0/a.js" '
        f'integrity="{sri_sha384(good)}"></script>'
        f'<link rel="stylesheet" href="https://unpkg.com/@s/b@2.0.0/dist/b.css" '
        f'integrity="{sri_sha384(b"b")}"/>'
        f'<script src="https://unpkg.com/c@3.0.0/c.js" integrity="{sri_sha384(b"c")}">'
        "</script>"
    )
    (tmp_path / "a@1.0.0").mkdir()
    (tmp_path / "a@1.0.0" / "a.js").write_bytes(good)
    (tmp_path / "@s" / "b@2.0.0" / "dist").mkdir(parents=True)
    (tmp_path / "@s" / "b@2.0.0" / "dist" / "b.css").write_bytes(bad)
    # c.js is missing

    rewritten = local_page(page, "/root/graphql-assets", tmp_path)
    assert 'src="/root/graphql-assets/a@1.0.0/a.js"' in rewritten
    assert f'integrity="{sri_sha384(good)}"' in rewritten  # the browser still checks it
    assert 'href="https://unpkg.com/@s/b@2.0.0/dist/b.css"' in rewritten  # wrong hash: CDN
    assert 'src="https://unpkg.com/c@3.0.0/c.js"' in rewritten  # missing: CDN
    assert local_page(page, "/graphql-assets", tmp_path / "nothing") == page


async def test_the_asset_route_answers_404_while_nothing_is_vendored(tmp_path):
    app = Starlette(routes=[graphiql_assets_route(tmp_path / "absent")])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        response = await client.get("/graphql-assets/react@18.2.0/umd/react.production.min.js")
    assert response.status_code == 404


async def test_the_server_serves_graphiql_and_its_assets_itself(server):
    require_vendored_assets()
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = (await client.get("/graphql", headers={"accept": "text/html"})).text
        assert "unpkg.com" not in page
        for asset in ASSETS:
            assert f'"/graphql-assets/{asset.relative}"' in page
            assert f'integrity="{asset.integrity}"' in page
            response = await client.get(f"/graphql-assets/{asset.relative}")
            assert response.status_code == 200, asset.url
            assert sri_sha384(response.content) == asset.integrity
            kind = "text/css" if asset.path.endswith(".css") else "javascript"
            assert kind in response.headers["content-type"]


# --- the browser --------------------------------------------------------------------------------


class DevTools:
    """A minimal Chrome DevTools Protocol client over one target's websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {}
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message:
                future = self.pending.pop(message["id"], None)
                if future is not None and not future.done():
                    if "error" in message:
                        future.set_exception(RuntimeError(json.dumps(message["error"])))
                    else:
                        future.set_result(message.get("result", {}))
            elif handler := self.handlers.get(message.get("method", "")):
                await handler(message.get("params", {}))

    async def post(self, method: str, **params: Any) -> int:
        """Send a command without waiting for its answer."""
        self.next_id += 1
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id + 1] = future
        await self.post(method, **params)
        return await asyncio.wait_for(future, 30)

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(json.dumps(answer["exceptionDetails"])[:2000])
        return answer["result"].get("value")


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[DevTools]:
    """Headless Chromium with a fresh profile; a DevTools client of its blank page."""
    assert CHROMIUM is not None
    profile.mkdir(parents=True, exist_ok=True)
    log = (profile.parent / "chromium.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        await wait_for(
            lambda: (
                port_file.is_file()
                and port_file.read_text().count("\n") >= 1
                or process.returncode is not None
            ),
            timeout=30,
        )
        assert process.returncode is None, "Chromium exited at start; see chromium.log"
        port = int(port_file.read_text().split("\n")[0])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def page_target() -> str | None:
                targets = (await client.get("/json/list")).json()
                urls = [t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"]
                return urls[0] if urls else None

            ws_url = await wait_for(page_target, timeout=30)
        async with websockets.connect(ws_url, max_size=None) as ws:
            devtools = DevTools(ws)
            try:
                yield devtools
            finally:
                devtools.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await devtools.reader
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)  # the group this test started
                await process.wait()
        log.close()


CODEMIRRORS = (
    "[...document.querySelectorAll('.CodeMirror')]"
    ".map(e => ({where: e.closest('[class*=graphiql-]')?.className || '', "
    "text: e.CodeMirror.getValue()}))"
)
RESPONSE = (
    "(() => { const e = document.querySelector('.graphiql-response .CodeMirror');"
    " return e ? e.CodeMirror.getValue() : null; })()"
)
QUERY = "query Me { viewer { id role } }"


async def test_graphiql_runs_a_query_and_a_subscription_offline(
    server, pg, vault, gql, admin_id, admin_token, tmp_path
):
    if CHROMIUM is None:
        pytest.skip(
            "Chromium is not installed (apt-get install chromium): the offline "
            "GraphiQL check did not run"
        )
    require_vendored_assets()
    instance = await create_instance_row(pg, vault)

    async with chromium(tmp_path / "profile") as browser:
        requests: list[str] = []
        blocked: list[str] = []
        problems: list[str] = []

        async def on_request(params: dict[str, Any]) -> None:
            url = params["request"]["url"]
            requests.append(url)
            if url.startswith(server.url + "/"):
                await browser.post("Fetch.continueRequest", requestId=params["requestId"])
            else:
                blocked.append(url)
                await browser.post(
                    "Fetch.failRequest",
                    requestId=params["requestId"],
                    errorReason="BlockedByClient",
                )

        async def on_exception(params: dict[str, Any]) -> None:
            problems.append(json.dumps(params["exceptionDetails"])[:500])

        async def on_log(params: dict[str, Any]) -> None:
            if params["entry"]["level"] == "error":
                problems.append(params["entry"]["text"][:500])

        browser.handlers["Fetch.requestPaused"] = on_request
        browser.handlers["Runtime.exceptionThrown"] = on_exception
        browser.handlers["Log.entryAdded"] = on_log
        sockets: list[str] = []
        frames: list[str] = []

        async def on_socket(params: dict[str, Any]) -> None:
            sockets.append(params["url"])

        async def on_frame(params: dict[str, Any]) -> None:
            frames.append(params["response"]["payloadData"])

        browser.handlers["Network.webSocketCreated"] = on_socket
        browser.handlers["Network.webSocketFrameSent"] = on_frame
        # Every request of the page stops here: the server's go on, anything else fails.
        await browser.call("Fetch.enable", patterns=[{"urlPattern": "*"}])
        await browser.call("Runtime.enable")
        await browser.call("Log.enable")
        await browser.call("Page.enable")
        await browser.call("Network.enable")

        # GraphiQL's own URL parameters: the query, and the headers for its header editor.
        headers = json.dumps({"Authorization": f"Bearer {admin_token}"})
        page = f"{server.url}/graphql?" + urlencode(
            {"q": QUERY, "headers": headers}, quote_via=quote
        )
        await browser.call("Page.navigate", url=page)

        async def ready() -> bool:
            return bool(
                await browser.evaluate(
                    "!!document.querySelector('.graphiql-execute-button') && "
                    "!!document.querySelector('.graphiql-query-editor .CodeMirror')"
                )
            )

        try:
            await wait_for(ready, timeout=30, interval=0.1)
        except AssertionError:
            body = await browser.evaluate("document.body && document.body.innerText")
            raise AssertionError(
                f"GraphiQL did not start. Blocked: {blocked}; problems: "
                f"{problems}; page: {str(body)[:300]!r}"
            ) from None

        editors = await browser.evaluate(CODEMIRRORS)
        assert any(QUERY in e["text"] for e in editors), editors
        assert any(f"Bearer {admin_token}" in e["text"] for e in editors), (
            "the token is not in GraphiQL's header editor"
        )

        # The query, with the header editor's token.
        await browser.evaluate("document.querySelector('.graphiql-execute-button').click()")

        async def answer() -> dict[str, Any] | None:
            text = await browser.evaluate(RESPONSE)
            return json.loads(text) if text else None

        result = await wait_for(answer, timeout=30, interval=0.1)
        assert result == {"data": {"viewer": {"id": str(admin_id), "role": "ADMIN"}}}, result

        # A subscription over GraphiQL's websocket client (the header travels as
        # connectionParams); afterSeq "0" replays an event that wins the race with it.
        subscription = (
            f'subscription Live {{ messageEvents(instanceId: "{instance["id"]}", '
            'afterSeq: "0") { seq kind message { textContent fromMe } } }'
        )
        await browser.evaluate(
            "document.querySelector('.graphiql-query-editor .CodeMirror')"
            f".CodeMirror.setValue({json.dumps(subscription)})"
        )

        # GraphiQL takes in an edit after a debounce; its onEditQuery then updates the URL.
        async def edit_taken_in() -> bool:
            return bool(
                await browser.evaluate(
                    "new URLSearchParams(location.search).get('q')?.startsWith('subscription Live')"
                )
            )

        await wait_for(edit_taken_in, timeout=10, interval=0.05)
        await browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
        webhook = await post_webhook(
            gql.http, load_payload("messages_upsert_text"), vault.webhook_secret("acme-support")
        )
        assert webhook.status_code == 200

        async def event() -> dict[str, Any] | None:
            text = await browser.evaluate(RESPONSE)
            body = json.loads(text) if text else {}
            return body if "messageEvents" in (body.get("data") or {}) else None

        try:
            received = await wait_for(event, timeout=30, interval=0.1)
        except AssertionError:
            raise AssertionError(
                f"no subscription event; response: "
                f"{await browser.evaluate(RESPONSE)!r}; problems: {problems}"
            ) from None
        message_event = received["data"]["messageEvents"]
        assert message_event["kind"] == "CREATED"
        assert message_event["message"] == {
            "textContent": "Oi, bom dia! Meu pedido 4821 ainda não chegou.",
            "fromMe": False,
        }

    assert blocked == [], f"the page asked for something other than this server: {blocked}"
    # The event came over GraphiQL's websocket, authenticated by the header editor's token.
    assert sockets == [server.ws_url], sockets
    init = next(json.loads(f) for f in frames if '"connection_init"' in f)
    assert init["payload"] == {"Authorization": f"Bearer {admin_token}"}, init
    assert any("/graphql-assets/graphiql@" in url for url in requests), requests
