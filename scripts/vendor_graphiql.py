"""Vendor GraphiQL's assets so /graphql works without internet access.

Reads the CDN files of the installed Strawberry's GraphiQL page (package, version, path and
sha384 integrity of each), fetches exactly those package versions from the npm registry with
`npm pack` into build/graphiql-npm/ (npm checks each tarball against the registry's own
integrity), and copies the needed files to static/graphiql/<package>@<version>/<path>, each one
checked against the page's integrity attribute. static/graphiql/manifest.json is written last.

    .venv/bin/python scripts/vendor_graphiql.py      # or: make graphiql-assets

Exit status: 0 done (or npm unavailable / registry unreachable: a warning, the page keeps using
the CDN), 1 a file does not match the page's integrity hash (nothing is installed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from strawberry.http.ides import get_graphql_ide_html  # noqa: E402

from resolvers.graphiql import ASSETS_DIR, Asset, cdn_assets, sri_sha384  # noqa: E402

CACHE = ROOT / "build" / "graphiql-npm"


def tarball_name(name: str, version: str) -> str:
    """What `npm pack` calls a package's tarball (@scope/pkg → scope-pkg-1.0.0.tgz)."""
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def npm_pack(npm: str, specs: list[str], cache: Path) -> None:
    subprocess.run(
        [
            npm,
            "pack",
            "--silent",
            "--pack-destination",
            str(cache),
            "--fetch-retries=2",
            "--fetch-retry-mintimeout=2000",
            "--fetch-retry-maxtimeout=10000",
            *specs,
        ],
        check=True,
        cwd=cache,
        stdout=subprocess.DEVNULL,
    )


def member(tarball: Path, path: str) -> bytes:
    """A file of an npm tarball (its files are under `package/`)."""
    with tarfile.open(tarball, "r:gz") as archive:
        extracted = archive.extractfile(f"package/{path}")
        if extracted is None:
            raise KeyError(path)
        return extracted.read()


def vendor(assets: list[Asset], target: Path, cache: Path, npm: str | None) -> int:
    cache.mkdir(parents=True, exist_ok=True)
    packages = sorted({(a.name, a.version) for a in assets})
    missing = [f"{n}@{v}" for n, v in packages if not (cache / tarball_name(n, v)).is_file()]
    if missing:
        if npm is None:
            print(
                "vendor_graphiql: npm not found; GraphiQL keeps loading its assets from unpkg.com",
                file=sys.stderr,
            )
            return 0
        try:
            npm_pack(npm, missing, cache)
        except (subprocess.CalledProcessError, OSError) as error:
            print(
                f"vendor_graphiql: npm pack {' '.join(missing)} failed ({error}); GraphiQL "
                "keeps loading its assets from unpkg.com",
                file=sys.stderr,
            )
            return 0

    files: dict[str, bytes] = {}
    for asset in assets:
        tarball = cache / tarball_name(asset.name, asset.version)
        try:
            data = member(tarball, asset.path)
        except (KeyError, OSError, tarfile.TarError) as error:
            tarball.unlink(missing_ok=True)  # fetched again next time
            print(
                f"vendor_graphiql: {asset.path} not found in {tarball.name} ({error})",
                file=sys.stderr,
            )
            return 1
        if sri_sha384(data) != asset.integrity:
            tarball.unlink()  # fetched again next time
            print(
                f"vendor_graphiql: {asset.name}@{asset.version}/{asset.path} from the npm "
                f"registry is {sri_sha384(data)}, the page expects {asset.integrity}; "
                "nothing installed",
                file=sys.stderr,
            )
            return 1
        files[asset.relative] = data

    # Everything verified: replace the folder in one step.
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".graphiql-", dir=target.parent))
    for relative, data in files.items():
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (staging / relative).write_bytes(data)
    manifest = {a.url: {"path": a.relative, "integrity": a.integrity} for a in assets}
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    print(f"vendor_graphiql: {len(files)} files in {target}, integrity checked")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=ASSETS_DIR)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args(argv)
    assets = cdn_assets(get_graphql_ide_html(graphql_ide="graphiql"))
    if not assets:
        print(
            "vendor_graphiql: Strawberry's GraphiQL page loads nothing from unpkg.com",
            file=sys.stderr,
        )
        return 1
    return vendor(assets, args.target.resolve(), args.cache.resolve(), shutil.which("npm"))


if __name__ == "__main__":
    sys.exit(main())
