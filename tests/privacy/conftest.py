"""Privacy tests run on both media stores: the folder under DATA_DIR and an S3 bucket on a
loopback S3 server (moto's server mode, as the S3 media tests use), and check what is left in
the database and the store after the fact."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import boto3
import pytest
from moto.server import ThreadedMotoServer

from services.platform.settings import Settings

KEY_ID, SECRET = "test-key-id", "test-secret-key"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


@pytest.fixture(params=["folder", "s3"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, store_kind: str, request: pytest.FixtureRequest) -> Settings:
    if store_kind == "folder":
        return settings
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    client = _client(endpoint)
    client.create_bucket(Bucket=bucket)
    client.close()
    return settings.with_overrides(
        media_s3_bucket=bucket,
        media_s3_endpoint_url=endpoint,
        media_s3_region="us-east-1",
        media_s3_access_key_id=KEY_ID,
        media_s3_secret_access_key=SECRET,
    )


@pytest.fixture
def stored(settings: Settings) -> Any:
    """A function listing the media store's objects: {key: size}."""

    def listing() -> dict[str, int]:
        if settings.media_s3_bucket is None:
            root = Path(settings.data_dir) / "media"
            if not root.exists():
                return {}
            return {
                p.relative_to(root).as_posix(): p.stat().st_size
                for p in root.rglob("*")
                if p.is_file()
            }
        client = _client(str(settings.media_s3_endpoint_url))
        try:
            found: dict[str, int] = {}
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=settings.media_s3_bucket
            ):
                found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
            return found
        finally:
            client.close()

    return listing


async def rows_referencing_contact(pg: asyncpg.Connection, contact_id: uuid.UUID) -> dict[str, int]:
    """Rows of every table with a foreign key to whatsapp_contacts that name the contact,
    found from the catalog: tables added later are checked without being named here."""
    keys = await pg.fetch(
        """
        SELECT n.nspname, r.relname, a.attname
        FROM pg_constraint c
        JOIN pg_class r ON r.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
        WHERE c.contype = 'f' AND c.confrelid = 'whatsapp_contacts'::regclass
        """
    )
    assert keys, "the catalog lists no table referencing contacts"
    counts = {}
    for ns, table, column in keys:
        counts[f"{table}.{column}"] = await pg.fetchval(
            f'SELECT count(*) FROM "{ns}"."{table}" WHERE "{column}" = $1', contact_id
        )
    counts["whatsapp_contacts.id"] = await pg.fetchval(
        "SELECT count(*) FROM whatsapp_contacts WHERE id = $1", contact_id
    )
    return counts


async def tables_mentioning(
    pg: asyncpg.Connection, needles: list[str], skip: frozenset[str] = frozenset()
) -> dict[str, int]:
    """Every table of the schema whose rows, as text, hold one of `needles` (a phone number,
    a message text): search indexes, report rows, queues and logs included."""
    tables = await pg.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    found = {}
    for (table,) in tables:
        if table in skip:
            continue
        count = await pg.fetchval(
            f'SELECT count(*) FROM "{table}" t '
            "WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) n WHERE position(n IN t::text) > 0)",
            needles,
        )
        if count:
            found[table] = count
    return found
