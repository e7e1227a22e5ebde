"""Media that plays, end to end over real HTTP: incoming media fetched into the store, signed
URLs served with Range and ETags, voice notes transcoded, outgoing media sent through sendMedia.
Every file is a real one made by tests/media_samples.py."""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from typing import Any

import asyncpg
import av
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.media import links as media_links
from services.media.fetcher import MAX_ATTEMPTS
from services.platform.runtime import Runtime
from tests.api.media_kit import MESSAGES, NODE, deliver, voice_note_payload
from tests.helpers import (
    GraphQLClient,
    ServerHandle,
    Subscription,
    create_instance_row,
    load_payload,
    make_conversation,
    serve_app,
    settled,
    wait_for,
)
from tests.media_samples import jpeg, mp4_video, pdf, voice_note_ogg

TOKEN = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C"
VOICE_ID = "AC3F0E21B4D97A6650C2E8F1D3B5A7C9"
IMAGE_ID = "AC8D21F03B6E4A9957C0D1E2F3A4B5C6"
DOCUMENT_ID = "3A71D0C9E8B7A6F5E4D3"
SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { " + NODE + " status } }"
DECRYPT_FAILED = {
    "status": 400,
    "error": "Bad Request",
    "response": {"message": ["Error: Failed to decrypt the media message"]},
}


@pytest.fixture
async def instance(pg, vault, evolution):
    evolution.add_instance("acme-support", token=TOKEN, state="open")
    return await create_instance_row(pg, vault)


async def node(gql: GraphQLClient, pg: asyncpg.Connection, message_id: str) -> dict[str, Any]:
    contact_id = await pg.fetchval(
        "SELECT contact_id FROM whatsapp_messages WHERE message_id = $1", message_id
    )
    data = await gql(MESSAGES, {"c": str(contact_id)})
    [found] = [e["node"] for e in data["messages"]["edges"] if e["node"]["messageId"] == message_id]
    assert isinstance(found, dict)
    return found


async def media_state(pg: asyncpg.Connection, message_id: str) -> str | None:
    state: str | None = await pg.fetchval(
        "SELECT media_state FROM whatsapp_messages WHERE message_id = $1", message_id
    )
    return state


async def drive_fetcher(
    pg: asyncpg.Connection, runtime: Runtime, message_id: str, timeout: float = 20
) -> str:
    """Let the media fetcher work on `message_id` until it is no longer pending, making each
    retry due at once instead of waiting for its backoff; answers the final state."""

    async def done() -> str | None:
        state = await media_state(pg, message_id)
        if state != "pending":
            return state
        if (
            await pg.execute(
                "UPDATE whatsapp_messages SET media_next_attempt_at = NOW() "
                "WHERE message_id = $1 AND media_next_attempt_at > NOW()",
                message_id,
            )
            != "UPDATE 0"
        ):
            runtime.media_wakeup.set()
        return None

    return await wait_for(done, timeout=timeout, interval=0.05)  # type: ignore[no-any-return]


# -- incoming -------------------------------------------------------------------------------


async def test_voice_note_with_base64_is_ready_at_once_and_plays(
    server, gql, pg, instance, secret, evolution
):
    ogg = voice_note_ogg()
    await deliver(gql, pg, secret, voice_note_payload(ogg))
    message = await node(gql, pg, VOICE_ID)
    assert message["mediaState"] == "READY" and message["mediaError"] is None
    assert message["mediaMimeType"] == "audio/ogg; codecs=opus"
    assert message["mediaSize"] == len(ogg)
    assert message["mediaSeconds"] == 9  # what WhatsApp said, kept
    assert message["mediaUrl"].startswith(f"{server.url}/media/{message['id']}?")
    assert not evolution.requests_to("/chat/getBase64FromMediaMessage/")

    response = await gql.http.get(message["mediaUrl"])  # no Authorization header
    assert response.status_code == 200
    assert response.content == ogg
    assert response.headers["content-type"] == "audio/ogg; codecs=opus"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("inline;")
    assert "private" in response.headers["cache-control"]


async def test_image_is_fetched_from_evolution_and_announced(
    server, gql, pg, instance, secret, evolution, admin_token
):
    image = jpeg()
    evolution.add_media(IMAGE_ID, image, mimetype="image/jpeg", media_type="imageMessage")
    query = """subscription($i: ID!) { messageEvents(instanceId: $i) {
      kind message { messageId mediaState mediaUrl } } }"""
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(query, {"i": str(instance["id"])})
        await wait_for(lambda: server.runtime.bus.subscriber_count > 0)
        await deliver(gql, pg, secret, load_payload("messages_upsert_image_caption"))
        created = (await ws.next_data())["messageEvents"]
        updated = (await ws.next_data())["messageEvents"]
    assert created["kind"] == "CREATED"
    assert created["message"]["mediaState"] in ("PENDING", "READY")
    assert updated["kind"] == "UPDATED" and updated["message"]["mediaState"] == "READY"
    assert updated["message"]["mediaUrl"].startswith("http://")  # a subscription gets http too

    [request] = evolution.requests_to("/chat/getBase64FromMediaMessage/")
    assert request.json["message"]["key"]["id"] == IMAGE_ID
    assert request.json["convertToMp4"] is False
    message = await node(gql, pg, IMAGE_ID)
    assert (message["mediaState"], message["mediaMimeType"], message["mediaSize"]) == (
        "READY",
        "image/jpeg",
        len(image),
    )
    assert message["textContent"] == "Foto da caixa que chegou amassada"
    assert message["m4a"] == message["mediaUrl"]  # audioFormat only changes audio
    response = await gql.http.get(message["mediaUrl"])
    assert response.content == image and response.headers["content-type"] == "image/jpeg"


async def test_pending_media_has_no_url_and_the_message_is_not_held_back(
    server, gql, pg, instance, secret, evolution
):
    # Evolution is slow: longer than the client's timeout, so the first attempt fails too.
    evolution.delay_next("/chat/getBase64FromMediaMessage/", 3.0)
    await deliver(gql, pg, secret, load_payload("messages_upsert_image_caption"))
    message = await node(gql, pg, IMAGE_ID)
    assert message["textContent"] == "Foto da caixa que chegou amassada"
    assert message["mediaState"] == "PENDING" and message["mediaUrl"] is None
    assert message["mediaSize"] == 148213  # as WhatsApp announced it, until we have the file


async def test_evolution_unable_to_decrypt_makes_media_unavailable_after_retries(
    server, gql, pg, instance, secret, evolution
):
    evolution.fail_next("/chat/getBase64FromMediaMessage/", 400, DECRYPT_FAILED, times=100)
    await deliver(gql, pg, secret, load_payload("messages_upsert_image_caption"))
    assert await drive_fetcher(pg, server.runtime, IMAGE_ID) == "unavailable"
    assert len(evolution.requests_to("/chat/getBase64FromMediaMessage/")) == MAX_ATTEMPTS
    message = await node(gql, pg, IMAGE_ID)
    assert message["mediaState"] == "UNAVAILABLE" and message["mediaUrl"] is None
    assert "Failed to decrypt" in message["mediaError"]
    assert message["textContent"] == "Foto da caixa que chegou amassada"  # never lost


async def test_unavailable_media_can_be_fetched_again(
    server, gql, pg, instance, secret, evolution, agent_token
):
    evolution.fail_next("/chat/getBase64FromMediaMessage/", 400, DECRYPT_FAILED, times=100)
    await deliver(gql, pg, secret, load_payload("messages_upsert_image_caption"))
    assert await drive_fetcher(pg, server.runtime, IMAGE_ID) == "unavailable"
    message = await node(gql, pg, IMAGE_ID)
    retry = "mutation($id: ID!) { retryMedia(id: $id) { mediaState mediaUrl } }"
    denied = await gql.error(retry, {"id": message["id"]}, token=agent_token)
    assert denied.codes == ["NOT_FOUND"]  # not a member of this number

    evolution.recover()  # Evolution API works again
    evolution.add_media(IMAGE_ID, jpeg(), mimetype="image/jpeg")
    again = (await gql(retry, {"id": message["id"]}))["retryMedia"]
    assert again == {"mediaState": "PENDING", "mediaUrl": None}
    assert await drive_fetcher(pg, server.runtime, IMAGE_ID) == "ready"
    assert (await gql.error(retry, {"id": message["id"]})).codes == ["CONFLICT"]
    assert (await node(gql, pg, IMAGE_ID))["mediaError"] is None


async def test_a_failed_attempt_is_retried_and_then_succeeds(
    server, gql, pg, instance, secret, evolution
):
    evolution.fail_next("/chat/getBase64FromMediaMessage/", 400, DECRYPT_FAILED, times=2)
    evolution.add_media(IMAGE_ID, jpeg(), mimetype="image/jpeg")
    await deliver(gql, pg, secret, load_payload("messages_upsert_image_caption"))
    assert await drive_fetcher(pg, server.runtime, IMAGE_ID) == "ready"
    assert len(evolution.requests_to("/chat/getBase64FromMediaMessage/")) == 3
    message = await node(gql, pg, IMAGE_ID)
    assert message["mediaError"] is None


async def test_document_from_evolutions_s3_copy_keeps_its_name(
    server, gql, pg, instance, secret, evolution
):
    document = pdf()
    served: list[str] = []

    async def s3_object(request: Request) -> Response:
        served.append(request.url.path)
        return Response(document, media_type="application/pdf")

    async with serve_app(Starlette(routes=[Route("/bucket/{path:path}", s3_object)])) as s3:
        payload = load_payload("messages_upsert_document")
        payload["data"]["message"]["mediaUrl"] = f"{s3.url}/bucket/nota.pdf?X-Amz-Signature=abc"
        await deliver(gql, pg, secret, payload)
        assert await drive_fetcher(pg, server.runtime, DOCUMENT_ID) == "ready"
    assert served == ["/bucket/nota.pdf"]
    assert not evolution.requests_to("/chat/getBase64FromMediaMessage/")
    message = await node(gql, pg, DOCUMENT_ID)
    assert message["mediaFilename"] == "nota-fiscal-4821.pdf"
    response = await gql.http.get(message["mediaUrl"])
    assert response.content == document
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "inline; filename=\"nota-fiscal-4821.pdf\"; filename*=UTF-8''nota-fiscal-4821.pdf"
    )


async def test_an_expired_s3_copy_falls_back_to_evolution(
    server, gql, pg, instance, secret, evolution
):
    async def expired(request: Request) -> Response:
        return Response("<Error><Code>AccessDenied</Code></Error>", status_code=403)

    evolution.add_media(
        DOCUMENT_ID,
        pdf(),
        mimetype="application/pdf",
        media_type="documentMessage",
        file_name="nota-fiscal-4821.pdf",
    )
    async with serve_app(Starlette(routes=[Route("/bucket/{path:path}", expired)])) as s3:
        payload = load_payload("messages_upsert_document")
        payload["data"]["message"]["mediaUrl"] = f"{s3.url}/bucket/nota.pdf"
        await deliver(gql, pg, secret, payload)
        assert await drive_fetcher(pg, server.runtime, DOCUMENT_ID) == "ready"
    assert len(evolution.requests_to("/chat/getBase64FromMediaMessage/")) == 1


async def test_incoming_media_over_the_limit_is_unavailable_at_once(
    server, gql, pg, instance, secret, evolution
):
    server.runtime.settings = server.runtime.settings.with_overrides(media_max_bytes=1024)
    evolution.add_media(IMAGE_ID, jpeg(320, 240) + b"\0" * 2048, mimetype="image/jpeg")
    await deliver(gql, pg, secret, load_payload("messages_upsert_image_caption"))
    assert await drive_fetcher(pg, server.runtime, IMAGE_ID) == "unavailable"
    assert len(evolution.requests_to("/chat/getBase64FromMediaMessage/")) == 1  # no retries
    message = await node(gql, pg, IMAGE_ID)
    assert "MEDIA_MAX_BYTES" in message["mediaError"]


async def test_damaged_base64_in_the_webhook_falls_back_to_evolution(
    server, gql, pg, instance, secret, evolution
):
    payload = voice_note_payload(b"")
    payload["data"]["message"]["base64"] = "not base64 at all!"
    evolution.add_media(
        VOICE_ID, voice_note_ogg(), mimetype="audio/ogg; codecs=opus", media_type="audioMessage"
    )
    await deliver(gql, pg, secret, payload)
    assert await drive_fetcher(pg, server.runtime, VOICE_ID) == "ready"


# -- serving --------------------------------------------------------------------------------


@pytest.fixture
async def voice_note(
    server: ServerHandle,
    gql: GraphQLClient,
    pg: asyncpg.Connection,
    instance: dict[str, Any],
    secret: str,
) -> dict[str, Any]:
    await deliver(gql, pg, secret, voice_note_payload(voice_note_ogg()))
    return await node(gql, pg, VOICE_ID)


def _sign(
    server: ServerHandle, message_id: str, fmt: str = "original", expires: int | None = None
) -> str:
    expires = expires or int(time.time()) + 600
    path = media_links.signed_path(
        server.runtime.vault.media_url_key(), uuid.UUID(message_id), fmt, expires
    )
    return server.url + path


async def test_tampered_expired_or_borrowed_links_are_refused(
    server, gql, pg, instance, secret, voice_note
):
    url = voice_note["mediaUrl"]
    assert (await gql.http.get(url)).status_code == 200
    signature = url.split("sig=")[1]
    tampered = url.replace(signature, ("A" if signature[0] != "A" else "B") + signature[1:])
    assert (await gql.http.get(tampered)).status_code == 403
    assert (await gql.http.get(url.split("&sig=")[0])).status_code == 403  # no signature
    assert (await gql.http.get(url.replace("exp=", "exp=9"))).status_code == 403  # extended

    # The same signature on another message's id.
    await deliver(gql, pg, secret, load_payload("messages_upsert_text"))
    other = await pg.fetchval("SELECT id FROM whatsapp_messages WHERE message_type = 'text'")
    borrowed = url.replace(voice_note["id"], str(other))
    assert (await gql.http.get(borrowed)).status_code == 403
    # A signature of the original file does not open the MP3 rendition.
    assert (await gql.http.get(url + "&format=mp3")).status_code == 403

    expired = await gql.http.get(_sign(server, voice_note["id"], expires=int(time.time()) - 1))
    assert expired.status_code == 403 and "expired" in expired.json()["error"]
    assert expired.headers["cache-control"] == "no-store"
    # A genuine link of a message that does not exist.
    assert (await gql.http.get(_sign(server, str(uuid.uuid4())))).status_code == 404


async def test_range_requests_let_a_player_seek(server, gql, voice_note):
    ogg = voice_note_ogg()
    url = voice_note["mediaUrl"]
    first = await gql.http.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-99/{len(ogg)}"
    assert first.headers["content-length"] == "100" and first.content == ogg[:100]
    rest = await gql.http.get(url, headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and rest.content == ogg[100:]
    tail = await gql.http.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == ogg[-10:]
    assert tail.headers["content-range"] == f"bytes {len(ogg) - 10}-{len(ogg) - 1}/{len(ogg)}"
    whole = await gql.http.get(url, headers={"Range": "bytes=0-"})  # how a browser starts
    assert whole.status_code == 206 and whole.content == ogg
    beyond = await gql.http.get(url, headers={"Range": f"bytes={len(ogg)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(ogg)}"
    malformed = await gql.http.get(url, headers={"Range": "pages=1-2"})
    assert malformed.status_code == 200 and malformed.content == ogg
    stale = await gql.http.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == ogg
    head = await gql.http.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(ogg))
    assert head.content == b""


async def test_etag_answers_not_modified(server, gql, voice_note):
    url = voice_note["mediaUrl"]
    etag = (await gql.http.get(url)).headers["etag"]
    again = await gql.http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    changed = await gql.http.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200


async def test_the_same_message_keeps_the_same_url_for_a_while(server, gql, pg, voice_note):
    again = await node(gql, pg, VOICE_ID)
    assert again["mediaUrl"] == voice_note["mediaUrl"]  # the browser cache keeps working


@pytest.mark.parametrize(
    ("field", "fmt", "content_type", "codec"),
    [("m4a", "m4a", "audio/mp4", "aac"), ("mp3", "mp3", "audio/mpeg", "mp3")],
)
async def test_voice_note_is_transcoded_for_every_browser(
    server, gql, pg, voice_note, field, fmt, content_type, codec
):
    url = voice_note[field]
    assert f"format={fmt}" in url and url != voice_note["mediaUrl"]
    response = await gql.http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    assert response.headers["etag"].endswith(f'-{fmt}"')
    assert response.headers["content-disposition"].endswith(f".{fmt}")
    with av.open(io.BytesIO(response.content)) as container:
        assert isinstance(container, av.container.InputContainer)
        assert container.duration is not None
        stream = container.streams.audio[0]
        assert stream.codec_context.name.startswith(codec)
        assert 1.2 < container.duration / av.time_base < 2.0  # the 1.5 s voice note
    # Kept in the store: the second request is served from it, with Range.
    original = await pg.fetchval(
        "SELECT media_key FROM whatsapp_messages WHERE id = $1", uuid.UUID(voice_note["id"])
    )
    assert await server.runtime.media.size(f"{original}.{fmt}") == len(response.content)
    part = await gql.http.get(url, headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == response.content[:4]


async def test_audio_that_cannot_be_converted_is_a_clear_error(server, gql, pg, instance, secret):
    await deliver(gql, pg, secret, voice_note_payload(b"OggS" + b"\x00" * 200))
    message = await node(gql, pg, VOICE_ID)
    assert message["mediaState"] == "READY"  # stored as received: it is what WhatsApp sent
    response = await gql.http.get(message["m4a"])
    assert response.status_code == 415 and "cannot be converted" in response.json()["error"]


# -- outgoing -------------------------------------------------------------------------------


async def send_upload(
    gql: GraphQLClient,
    token: str,
    instance: dict[str, Any],
    contact: dict[str, Any],
    message_type: str,
    name: str,
    data: bytes,
    content_type: str,
    **extra: Any,
) -> dict[str, Any]:
    operations = json.dumps(
        {
            "query": SEND,
            "variables": {
                "input": {
                    "instanceId": str(instance["id"]),
                    "contactId": str(contact["id"]),
                    "messageType": message_type,
                    "media": None,
                    **extra,
                }
            },
        }
    )
    response = await gql.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"},
        data={"operations": operations, "map": json.dumps({"0": ["variables.input.media"]})},
        files={"0": (name, data, content_type)},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_image_upload_is_sent_with_the_exact_body_and_plays_back(
    server, gql, pg, vault, evolution, admin_token
):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    image = jpeg()
    answer = await send_upload(
        gql,
        admin_token,
        instance,
        contact,
        "IMAGE",
        "caixa.jpg",
        image,
        "image/jpeg",
        caption="  Veja a caixa  ",
    )
    sent = answer["data"]["sendMessage"]
    assert sent["status"] == "PENDING" and sent["messageType"] == "IMAGE"
    assert sent["mediaState"] == "READY" and sent["textContent"] == "Veja a caixa"
    playback = await gql.http.get(sent["mediaUrl"])  # the agent's own message, at once
    assert playback.content == image
    assert await settled(pg, sent["id"]) == ["sent"]
    [request] = evolution.requests_to("/message/sendMedia/")
    assert request.json == {
        "number": "5511999990002",
        "mediatype": "image",
        "media": base64.b64encode(image).decode(),
        "mimetype": "image/jpeg",
        "fileName": "caixa.jpg",
        "caption": "Veja a caixa",
    }
    assert await pg.fetchval("SELECT media_state FROM whatsapp_messages") == "ready"


async def test_document_upload_with_a_file_name(server, gql, pg, vault, evolution, admin_token):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    document = pdf()
    answer = await send_upload(
        gql,
        admin_token,
        instance,
        contact,
        "DOCUMENT",
        "upload.bin",
        document,
        "application/octet-stream",
        fileName="Orçamento.pdf",
        textContent="Segue o orçamento",
    )
    sent = answer["data"]["sendMessage"]
    assert (sent["mediaMimeType"], sent["mediaFilename"], sent["mediaSize"]) == (
        "application/pdf",
        "Orçamento.pdf",
        len(document),
    )
    assert await settled(pg, sent["id"]) == ["sent"]
    [request] = evolution.requests_to("/message/sendMedia/")
    assert request.json == {
        "number": "5511999990002",
        "mediatype": "document",
        "media": base64.b64encode(document).decode(),
        "mimetype": "application/pdf",
        "fileName": "Orçamento.pdf",
        "caption": "Segue o orçamento",
    }
    download = await gql.http.get(sent["mediaUrl"])
    assert download.headers["content-disposition"] == (
        "inline; filename=\"Or_amento.pdf\"; filename*=UTF-8''Or%C3%A7amento.pdf"
    )


async def test_video_upload(server, gql, pg, vault, evolution, admin_token):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    video = mp4_video()
    sent = (
        await send_upload(
            gql, admin_token, instance, contact, "VIDEO", "clip.mp4", video, "video/mp4"
        )
    )["data"]["sendMessage"]
    assert sent["mediaMimeType"] == "video/mp4" and sent["mediaSeconds"] == 1
    assert await settled(pg, sent["id"]) == ["sent"]
    [request] = evolution.requests_to("/message/sendMedia/")
    assert request.json["mediatype"] == "video"
    assert base64.b64decode(request.json["media"]) == video


async def test_media_by_url_is_sent_as_is_then_copied_from_evolution(
    server, gql, pg, vault, evolution
):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    sent = (
        await gql(
            SEND,
            {
                "input": {
                    "instanceId": str(instance["id"]),
                    "contactId": str(contact["id"]),
                    "messageType": "DOCUMENT",
                    "mediaUrl": "https://cdn.example.com/docs/boleto%201.pdf",
                    "caption": "Boleto",
                }
            },
        )
    )["sendMessage"]
    assert sent["mediaState"] == "PENDING" and sent["mediaUrl"] is None
    assert sent["mediaFilename"] == "boleto 1.pdf"
    assert await settled(pg, sent["id"]) == ["sent"]
    [request] = evolution.requests_to("/message/sendMedia/")
    assert request.json == {
        "number": "5511999990002",
        "mediatype": "document",
        "media": "https://cdn.example.com/docs/boleto%201.pdf",
        "fileName": "boleto 1.pdf",
        "caption": "Boleto",
    }
    wa_id = evolution.sent[0].message["key"]["id"]
    evolution.add_media(
        wa_id,
        pdf("Boleto"),
        mimetype="application/pdf",
        media_type="documentMessage",
        file_name="boleto 1.pdf",
    )
    assert await drive_fetcher(pg, server.runtime, wa_id) == "ready"
    message = await node(gql, pg, wa_id)
    assert (await gql.http.get(message["mediaUrl"])).content == pdf("Boleto")
    assert message["mediaMimeType"] == "application/pdf"


async def test_recording_from_a_browser_is_accepted_as_audio(
    server, gql, pg, vault, evolution, admin_token
):
    from tests.media_samples import browser_recording_webm, recording_wav

    instance, contact = await make_conversation(pg, vault, evolution, gql)
    for name, data, mime in (
        ("gravação.webm", browser_recording_webm(), "audio/webm"),
        ("rec.wav", recording_wav(), "audio/wav"),
    ):
        operations = json.dumps(
            {
                "query": SEND,
                "variables": {
                    "input": {
                        "instanceId": str(instance["id"]),
                        "contactId": str(contact["id"]),
                        "messageType": "AUDIO",
                        "audio": None,
                    }
                },
            }
        )
        response = await gql.http.post(
            "/graphql",
            headers={"Authorization": f"Bearer {gql.token}"},
            data={"operations": operations, "map": json.dumps({"0": ["variables.input.audio"]})},
            files={"0": (name, data, mime)},
        )
        sent = response.json()["data"]["sendMessage"]
        assert sent["mediaState"] == "READY" and sent["mediaMimeType"] == mime
        m4a = await gql.http.get(sent["m4a"])  # plays in Safari too
        assert m4a.status_code == 200 and m4a.headers["content-type"] == "audio/mp4"


@pytest.mark.parametrize(
    ("message_type", "name", "data", "needle"),
    [
        ("IMAGE", "big.jpg", None, "larger than the limit"),
        ("IMAGE", "broken.jpg", b"\xff\xd8\xff\xe0" + b"\x13" * 600, "damaged"),
        ("IMAGE", "fake.jpg", pdf(), "not a recognised image"),
        ("DOCUMENT", "mystery.dat", bytes(range(256)) * 4, "unknown file type"),
        ("DOCUMENT", "cut.pdf", pdf()[:300], "damaged or incomplete"),
        ("VIDEO", "clip.mp4", voice_note_ogg(), "not a recognised video"),
        ("AUDIO", "voice.ogg", b"OggS" + b"\x00" * 300, "damaged"),
        ("DOCUMENT", "empty.txt", b"", "empty"),
    ],
)
async def test_bad_uploads_are_refused_and_nothing_is_stored(
    server, gql, pg, vault, evolution, admin_token, message_type, name, data, needle
):
    if data is None:
        server.runtime.settings = server.runtime.settings.with_overrides(media_max_bytes=4096)
        data = jpeg(640, 480) + b"\0" * 5000
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    answer = await send_upload(
        gql, admin_token, instance, contact, message_type, name, data, "application/octet-stream"
    )
    [error] = answer["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "media"}
    assert needle in error["message"]
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 0
    media_root = server.runtime.settings.data_dir / "media"
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"messageType": "IMAGE"}, "media"),
        ({"messageType": "IMAGE", "mediaUrl": "file:///etc/passwd"}, "mediaUrl"),
        (
            {"messageType": "AUDIO", "audioUrl": "https://x.example/a.ogg", "caption": "oi"},
            "caption",
        ),
        (
            {
                "messageType": "DOCUMENT",
                "mediaUrl": "https://x.example/a.pdf",
                "audioUrl": "https://x.example/b.pdf",
            },
            "audioUrl",
        ),
        ({"caption": "only for media"}, "messageType"),
    ],
)
async def test_invalid_media_sends(gql, pg, vault, evolution, change, field):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    variables = {
        "input": {
            "instanceId": str(instance["id"]),
            "contactId": str(contact["id"]),
            "textContent": "Olá",
            **change,
        }
    }
    if change.get("messageType") in ("IMAGE", "AUDIO", "DOCUMENT"):
        variables["input"].pop("textContent")
    error = await gql.error(SEND, variables)
    assert error.codes == ["BAD_USER_INPUT"]
    assert error.errors[0]["extensions"]["field"] == field
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 0
