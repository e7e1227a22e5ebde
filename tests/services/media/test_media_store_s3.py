"""The S3 media store against a real S3 endpoint on loopback (moto's server mode), and the whole
media path — incoming voice note, signed URL with Range, transcode, outgoing upload — with the
server configured for S3 (MEDIA_S3_*)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from services.media.store import S3MediaStore, create_media_store
from services.platform.settings import Settings, SettingsError
from tests.api.media_kit import MESSAGES, deliver, voice_note_payload
from tests.helpers import create_instance_row, make_conversation, settled
from tests.media_samples import jpeg, voice_note_ogg

KEY_ID, SECRET = "test-key-id", "test-secret-key"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    name = f"media-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket=name)
    client.close()
    return name


def objects(s3_endpoint: str, bucket: str) -> dict[str, int]:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    try:
        listing = client.list_objects_v2(Bucket=bucket)
        return {item["Key"]: item["Size"] for item in listing.get("Contents", [])}
    finally:
        client.close()


async def test_put_get_size_and_ranges(s3_endpoint, bucket):
    store = S3MediaStore(
        bucket,
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
    )
    try:
        data = bytes(range(256)) * 2000  # over one streaming chunk
        await store.put("messages/a/b", data, "audio/ogg")
        assert await store.get("messages/a/b") == data
        assert await store.size("messages/a/b") == len(data)
        assert b"".join([c async for c in store.stream("messages/a/b", 10, 20)]) == data[10:30]
        assert b"".join([c async for c in store.stream("messages/a/b", 0, len(data))]) == data
        assert await store.get("messages/none") is None
        assert await store.size("messages/none") is None
    finally:
        await store.aclose()
    assert objects(s3_endpoint, bucket) == {"messages/a/b": len(data)}


def test_settings_choose_the_store(tmp_path):
    assert type(create_media_store(Settings(data_dir=tmp_path))).__name__ == "LocalMediaStore"
    chosen = create_media_store(Settings(data_dir=tmp_path, media_s3_bucket="media"))
    assert isinstance(chosen, S3MediaStore) and chosen.bucket == "media"


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str, bucket: str) -> Settings:
    return settings.with_overrides(
        media_s3_bucket=bucket,
        media_s3_endpoint_url=s3_endpoint,
        media_s3_region="us-east-1",
        media_s3_access_key_id=KEY_ID,
        media_s3_secret_access_key=SECRET,
    )


async def test_the_server_keeps_and_serves_media_from_s3(
    server, gql, pg, vault, evolution, s3_endpoint, bucket
):
    assert isinstance(server.runtime.media, S3MediaStore)
    evolution.add_instance(
        "acme-support", token="7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C", state="open"
    )
    instance = await create_instance_row(pg, vault)
    ogg = voice_note_ogg()
    await deliver(gql, pg, vault.webhook_secret("acme-support"), voice_note_payload(ogg))
    message_pk = await pg.fetchval("SELECT id FROM whatsapp_messages")
    key = f"messages/{instance['id']}/{message_pk}"
    assert objects(s3_endpoint, bucket) == {key: len(ogg)}

    contact = await pg.fetchval("SELECT contact_id FROM whatsapp_messages")
    [edge] = (await gql(MESSAGES, {"c": str(contact)}))["messages"]["edges"]
    part = await gql.http.get(edge["node"]["mediaUrl"], headers={"Range": "bytes=4-19"})
    assert part.status_code == 206 and part.content == ogg[4:20]
    m4a = await gql.http.get(edge["node"]["m4a"])
    assert m4a.status_code == 200 and m4a.headers["content-type"] == "audio/mp4"
    assert objects(s3_endpoint, bucket)[f"{key}.m4a"] == len(m4a.content)


async def test_an_outgoing_upload_is_kept_in_s3(
    server, gql, pg, vault, evolution, admin_token, s3_endpoint, bucket
):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    image = jpeg()
    operations = json.dumps(
        {
            "query": "mutation($input: SendMessageInput!) { sendMessage("
            "input: $input) { id mediaUrl } }",
            "variables": {
                "input": {
                    "instanceId": str(instance["id"]),
                    "contactId": str(contact["id"]),
                    "messageType": "IMAGE",
                    "media": None,
                }
            },
        }
    )
    response = await gql.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {admin_token}"},
        data={"operations": operations, "map": json.dumps({"0": ["variables.input.media"]})},
        files={"0": ("foto.jpg", image, "image/jpeg")},
    )
    sent = response.json()["data"]["sendMessage"]
    assert objects(s3_endpoint, bucket) == {f"outgoing/{instance['id']}/{sent['id']}": len(image)}
    assert (await gql.http.get(sent["mediaUrl"])).content == image
    assert await settled(pg, sent["id"]) == ["sent"]
    [request] = evolution.requests_to("/message/sendMedia/")
    assert base64.b64decode(request.json["media"]) == image


def test_a_bucket_without_the_s3_extra_is_refused_naming_the_extra(tmp_path, monkeypatch):
    # aioboto3 is installed here; None in sys.modules makes it unimportable, as if it were not.
    monkeypatch.setitem(sys.modules, "aioboto3", None)
    with pytest.raises(SettingsError, match=r"MEDIA_S3_BUCKET.*pip install 'atendimento\[s3\]'"):
        create_media_store(Settings(data_dir=tmp_path, media_s3_bucket="media"))
    assert type(create_media_store(Settings(data_dir=tmp_path))).__name__ == "LocalMediaStore"


def test_the_server_stops_at_start_when_the_s3_extra_is_missing(tmp_path, database_url):
    blocked = (
        "import runpy, sys; sys.modules['aioboto3'] = None; "
        f"sys.path.insert(0, {str(ROOT)!r}); sys.argv = ['server.py', 'serve']; "
        f"runpy.run_path({str(ROOT / 'server.py')!r}, run_name='__main__')"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_S3_")}
    env.update(
        DATA_DIR=str(tmp_path),
        DATABASE_URL=database_url,
        MEDIA_S3_BUCKET="media",
        PORT="0",
        LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "configuration error: MEDIA_S3_BUCKET is set" in done.stderr
    assert "atendimento[s3]" in done.stderr and "Traceback" not in done.stderr
