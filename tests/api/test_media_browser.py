"""A real browser plays a voice note through `Message.mediaUrl`: headless Chromium loads a page
from another origin with `<audio src=mediaUrl>` (no headers, no CORS), and the page reports
what the media element did. Skipped, saying so, where Chromium is not installed
(`apt-get install chromium`)."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import shutil
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from services.platform.crypto import Vault
from tests.helpers import (
    GraphQLClient,
    create_instance_row,
    load_payload,
    post_webhook,
    serve_app,
    wait_for,
)
from tests.media_samples import voice_note_ogg
from tests.standin.evolution import EvolutionStandIn

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium): the "
    "browser check of media playback did not run",
)
TOKEN = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
]
PAGE = """<!doctype html><html><body>
<audio id="player" preload="auto" src="%(src)s"></audio>
<div id="result">waiting</div>
<script>
const player = document.getElementById("player");
const result = document.getElementById("result");
let reported = false;
function report(text) {
  if (reported) return;
  reported = true;
  result.textContent = text;
  fetch("/report", {method: "POST", body: text});
}
player.addEventListener("canplaythrough", () => {
  const facts = "duration=" + player.duration.toFixed(2) + " seekable=" +
    (player.seekable.length ? player.seekable.end(0).toFixed(2) : "none");
  player.play().then(
    () => report("playing " + facts),
    (error) => report("canplaythrough " + facts + " play-refused=" + error.name));
});
player.addEventListener("error", () => report("error " + (player.error && player.error.code)));
</script>
<img src="/hold" alt="">
</body></html>"""


async def voice_note_urls(
    gql: GraphQLClient, pg: asyncpg.Connection, vault: Vault, evolution: EvolutionStandIn
) -> dict[str, Any]:
    evolution.add_instance("acme-support", token=TOKEN, state="open")
    await create_instance_row(pg, vault)
    payload = load_payload("messages_upsert_audio_ptt_base64")
    payload["data"]["message"]["base64"] = base64.b64encode(voice_note_ogg()).decode()
    response = await post_webhook(gql.http, payload, vault.webhook_secret("acme-support"))
    assert response.status_code == 200

    async def stored():
        return await pg.fetchval("SELECT id FROM whatsapp_messages WHERE media_state = 'ready'")

    await wait_for(stored)
    contact = await pg.fetchval("SELECT contact_id FROM whatsapp_messages")
    data = await gql(
        """query($c: ID!) { messages(contactId: $c, first: 1) { edges { node {
      mediaUrl m4a: mediaUrl(audioFormat: M4A) } } } }""",
        {"c": str(contact)},
    )
    return data["messages"]["edges"][0]["node"]  # type: ignore[no-any-return]


async def play_in_chromium(src: str, profile: Path) -> str:
    """Open a page that plays `src`; answer what the page reported."""
    reported: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE % {"src": html.escape(src, quote=True)})

    async def report(request: Request) -> Response:
        if not reported.done():
            reported.set_result((await request.body()).decode())
        return Response(status_code=204)

    async def hold(request: Request) -> Response:
        # The page's load event (and so --dump-dom) waits for this image: until the report.
        await asyncio.wait_for(asyncio.shield(reported), 30)
        return Response(status_code=204)

    app = Starlette(
        routes=[Route("/", page), Route("/report", report, methods=["POST"]), Route("/hold", hold)]
    )
    async with serve_app(app) as site:
        assert CHROMIUM is not None
        process = await asyncio.create_subprocess_exec(
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--dump-dom",
            site.url + "/",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            dom, _ = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert reported.done(), f"the page reported nothing; DOM: {dom.decode()[:2000]}"
    assert reported.result() in dom.decode()  # the DOM shows it too
    return reported.result()


@pytest.mark.parametrize("rendition", ["mediaUrl", "m4a"])
async def test_chromium_plays_the_voice_note(
    server, gql, pg, vault, evolution, tmp_path, rendition
):
    urls = await voice_note_urls(gql, pg, vault, evolution)
    outcome = await play_in_chromium(urls[rendition], tmp_path / "chromium")
    assert outcome.startswith(("playing", "canplaythrough")), outcome
    facts = dict(part.split("=", 1) for part in outcome.split()[1:])
    assert 1.0 < float(facts["duration"]) < 2.5, outcome
    # Seekable to the end: the browser used Range requests on the signed URL.
    assert facts["seekable"] != "none", json.dumps(outcome)
