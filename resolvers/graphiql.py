"""GraphiQL without a CDN: Strawberry's page loads seven files from unpkg.com; when the same files
have been vendored into `static/graphiql/` (`make graphiql-assets`, which installs them from the
npm registry and checks them against the page's integrity hashes), the page is served pointing at
`/graphql-assets/…` on this server instead. A file that is missing, or whose sha384 differs from
the page's `integrity` attribute, keeps its CDN URL, so the page never references a file the
browser would refuse. The integrity attributes stay: the browser checks the local copies too.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import PlainTextResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

ASSETS_DIR = Path(__file__).resolve().parent.parent / "static" / "graphiql"
ASSETS_PATH = "/graphql-assets"
CDN = "https://unpkg.com/"

_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_URL = re.compile(r"""\b(?:src|href)\s*=\s*["'](https://unpkg\.com/[^"']+)["']""", re.IGNORECASE)
_INTEGRITY = re.compile(r"""\bintegrity\s*=\s*["'](sha384-[A-Za-z0-9+/=]+)["']""", re.IGNORECASE)
_PACKAGE = re.compile(r"^(?P<name>(?:@[^/@]+/)?[^/@]+)@(?P<version>[^/]+)/(?P<path>.+)$")


@dataclass(frozen=True)
class Asset:
    """One CDN file of the page: `https://unpkg.com/<name>@<version>/<path>`."""

    url: str
    name: str
    version: str
    path: str
    integrity: str

    @property
    def relative(self) -> str:
        """Where it lives under ASSETS_DIR and under ASSETS_PATH (the URL's own path)."""
        return self.url[len(CDN) :]


def cdn_assets(page: str) -> list[Asset]:
    """The unpkg.com scripts and stylesheets of a page, with their integrity hashes."""
    assets: list[Asset] = []
    for tag in _TAG.findall(page):
        url, integrity = _URL.search(tag), _INTEGRITY.search(tag)
        if not url:
            continue
        if not integrity:
            raise ValueError(f"{url.group(1)} has no sha384 integrity attribute")
        package = _PACKAGE.match(url.group(1)[len(CDN) :])
        if not package:
            raise ValueError(f"{url.group(1)} is not <package>@<version>/<path>")
        assets.append(
            Asset(
                url.group(1),
                package["name"],
                package["version"],
                package["path"],
                integrity.group(1),
            )
        )
    return assets


def sri_sha384(data: bytes) -> str:
    """The Subresource Integrity value of some bytes."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


_verified: dict[tuple[Path, int, int], str] = {}


def _local_integrity(file: Path) -> str | None:
    try:
        stat = file.stat()
    except OSError:
        return None
    key = (file, stat.st_mtime_ns, stat.st_size)
    if key not in _verified:
        _verified[key] = sri_sha384(file.read_bytes())
    return _verified[key]


def local_page(page: str, prefix: str = ASSETS_PATH, directory: Path = ASSETS_DIR) -> str:
    """`page` with each CDN URL whose verified copy is in `directory` pointing at `prefix`."""
    for asset in cdn_assets(page):
        if _local_integrity(directory / asset.relative) == asset.integrity:
            page = page.replace(f'"{asset.url}"', f'"{prefix}/{asset.relative}"')
    return page


class _AssetFiles:
    """StaticFiles over ASSETS_DIR that answers 404 (not 500) while nothing is vendored."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = StaticFiles(directory=directory, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.directory.is_dir():
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.files(scope, receive, send)


def graphiql_assets_route(directory: Path = ASSETS_DIR) -> Mount:
    return Mount(ASSETS_PATH, app=_AssetFiles(directory), name="graphiql-assets")
