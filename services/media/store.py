"""Where media bytes live: a folder under DATA_DIR (one server, or a shared volume), or any
S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, …) when MEDIA_S3_BUCKET is set.

Keys are relative paths chosen by us (never by a client), so nothing can escape the folder or
the bucket. Objects are written once and never change: a message's media is immutable.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from services.platform.settings import Settings, SettingsError

CHUNK = 256 * 1024
S3_EXTRA_MISSING = (
    "MEDIA_S3_BUCKET is set, but the S3 media store needs the optional aioboto3 package: "
    "install it with pip install 'atendimento[s3]', or unset MEDIA_S3_BUCKET to keep media "
    "in DATA_DIR/media"
)


class MediaStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """The whole object, or None when there is none under `key`."""

    async def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is none under `key`."""

    def stream(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        """`length` bytes from `start`, in chunks (the object must exist)."""

    async def delete(self, key: str) -> None:
        """Remove the object under `key`; nothing there is no error."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix` (a folder: ends with `/`);
        returns how many there were."""

    async def aclose(self) -> None: ...


def create_media_store(settings: Settings) -> MediaStore:
    if settings.media_s3_bucket:
        return S3MediaStore(
            settings.media_s3_bucket,
            endpoint_url=settings.media_s3_endpoint_url,
            region=settings.media_s3_region,
            access_key_id=settings.media_s3_access_key_id,
            secret_access_key=settings.media_s3_secret_access_key,
        )
    return LocalMediaStore(settings.data_dir / "media")


class LocalMediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"media key escapes the store: {key!r}")
        return path

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(path.suffix + ".part")
            temporary.write_bytes(data)
            os.replace(temporary, path)  # readers never see half a file

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def stream(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            while length > 0:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK, length))
                if not chunk:
                    break
                length -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError(f"not a folder prefix: {prefix!r}")
        folder = self._path(prefix)
        if folder == self.root:
            raise ValueError("refusing to delete the whole media store")

        def remove() -> int:
            if not folder.is_dir():
                return 0
            count = sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder)
            return count

        return await asyncio.to_thread(remove)

    async def aclose(self) -> None:
        return None


class S3MediaStore:
    """An S3 bucket through `aioboto3`; one client per process, opened on first use.

    Without MEDIA_S3_ACCESS_KEY_ID the usual AWS credential chain applies (environment,
    instance role…). With an endpoint URL (MinIO, R2, a local test server) path-style
    addressing is used, and checksums are only sent when an operation requires them, which
    S3-compatible servers that predate AWS's default checksums accept.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        # Checked now, at start, not at the first media message hours later; found, not
        # imported: the import is heavy and waits for the first use.
        if importlib.util.find_spec("aioboto3") is None:
            raise SettingsError(S3_EXTRA_MISSING)
        self.bucket = bucket
        self._endpoint_url = endpoint_url
        self._region = region or "us-east-1"
        self._credentials = (access_key_id, secret_access_key)
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    async def _s3(self) -> Any:
        async with self._lock:
            if self._client is None:
                import aioboto3  # imported here: heavy, and only needed with a bucket
                from aiobotocore.config import AioConfig

                session = aioboto3.Session(
                    aws_access_key_id=self._credentials[0],
                    aws_secret_access_key=self._credentials[1],
                    region_name=self._region,
                )
                config = AioConfig(
                    s3={"addressing_style": "path" if self._endpoint_url else "auto"},
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                )
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(
                    session.client("s3", endpoint_url=self._endpoint_url, config=config)
                )
                self._stack = stack
            return self._client

    @staticmethod
    def _missing(error: Exception) -> bool:
        response = getattr(error, "response", None)
        code = str((response or {}).get("Error", {}).get("Code", ""))
        return code in ("NoSuchKey", "404", "NotFound")

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        s3 = await self._s3()
        extra = {"ContentType": content_type} if content_type else {}
        await s3.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)

    async def get(self, key: str) -> bytes | None:
        s3 = await self._s3()
        try:
            answer = await s3.get_object(Bucket=self.bucket, Key=key)
        except Exception as error:
            if self._missing(error):
                return None
            raise
        body = answer["Body"]
        async with body:  # gives the connection back to the pool, read or not
            return bytes(await body.read())

    async def size(self, key: str) -> int | None:
        s3 = await self._s3()
        try:
            answer = await s3.head_object(Bucket=self.bucket, Key=key)
        except Exception as error:
            if self._missing(error):
                return None
            raise
        return int(answer["ContentLength"])

    async def stream(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        if length <= 0:
            return
        s3 = await self._s3()
        answer = await s3.get_object(
            Bucket=self.bucket, Key=key, Range=f"bytes={start}-{start + length - 1}"
        )
        body = answer["Body"]
        async with body:
            while True:
                chunk = await body.read(CHUNK)
                if not chunk:
                    break
                yield bytes(chunk)

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        try:
            await s3.delete_object(Bucket=self.bucket, Key=key)  # S3 answers 204 when absent
        except Exception as error:
            if not self._missing(error):
                raise

    async def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/") or prefix == "/":
            raise ValueError(f"not a folder prefix: {prefix!r}")
        s3 = await self._s3()
        count = 0
        while True:  # listed again after each batch: what was deleted is no longer listed
            listing = await s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1000)
            keys = [item["Key"] for item in listing.get("Contents", [])]
            if not keys:
                return count
            answer = await s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
            )
            if answer.get("Errors"):
                failed = answer["Errors"][0]
                raise RuntimeError(
                    f"S3 refused to delete {len(answer['Errors'])} objects: "
                    f"{failed.get('Code')} {failed.get('Message')}"
                )
            count += len(keys)

    async def aclose(self) -> None:
        async with self._lock:
            if self._stack is not None:
                await self._stack.aclose()
            self._client = self._stack = None
