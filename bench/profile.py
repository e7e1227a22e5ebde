"""Where a server process spends its CPU while a figure misses its target: py-spy samples it
during one more run of the same load, and the collapsed stacks are summarised by package and
by function. The raw stacks stay in .data/bench/profiles/ (open them with speedscope, or
`py-spy record --format flamegraph` for an SVG)."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sysconfig
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from bench.common import PROFILES, PYTHON, ROOT

T = TypeVar("T")
STDLIB = sysconfig.get_paths()["stdlib"]
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def pyspy() -> str | None:
    """py-spy from the venv, installed there (not into pyproject) on first use."""
    local = Path(PYTHON).parent / "py-spy"
    if local.exists():
        return str(local)
    found = shutil.which("py-spy")
    if found:
        return found
    done = subprocess.run(
        [PYTHON, "-m", "pip", "install", "--quiet", "py-spy"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode == 0 and local.exists():
        return str(local)
    return None


def _package(path: str) -> str:
    if "site-packages/" in path:
        rest = path.split("site-packages/", 1)[1]
        top = rest.split("/", 1)[0].removesuffix(".py")
        return top.split(".")[0] if not top.startswith("_") else top
    root = str(ROOT) + "/"
    if path.startswith(root):
        return "app:" + path[len(root) :].split("/", 1)[0].removesuffix(".py")
    if path.startswith("<"):
        return "builtin"
    name = Path(path).name.removesuffix(".py")
    parent = Path(path).parent.name
    if parent in ("asyncio", "json", "logging", "email", "http", "concurrent"):
        return f"stdlib:{parent}"
    return f"stdlib:{name}"


def short_path(path: str) -> str:
    """A source file as the report names it: no directory of this machine (package-relative)."""
    path = path.split("site-packages/", 1)[-1].replace(str(ROOT) + "/", "")
    return path.removeprefix(STDLIB + "/")


def _short(frame: str) -> tuple[str, str]:
    match = FRAME.match(frame)
    if not match:
        return frame, "?"
    path = match.group("file")
    package = _package(path)
    if match.group("func").endswith("run") and path.endswith("asyncio/runners.py"):
        # uvloop's loop is C code: its own time (socket I/O, callbacks) shows up here.
        return "event loop itself (uvloop: sockets, scheduling)", "event loop (uvloop)"
    return f"{match.group('func')} ({short_path(path)})", package


# Phases of the work, by a file (and optionally a function) anywhere on the stack; a sample
# counts for every phase whose frame it holds, so phases may overlap (nested).
PHASES: tuple[tuple[str, str, str], ...] = (
    ("HTTP request → GraphQL view (all of a query)", "strawberry/http/async_base_view.py", "run"),
    ("  authentication and context (get_context)", "resolvers/view.py", "get_context"),
    ("  parsing the document (graphql-core)", "graphql/language/parser.py", "parse"),
    ("  validating the document (graphql-core rules)", "graphql/validation/validate.py", ""),
    ("  Strawberry extensions (depth / alias limits…)", "strawberry/extensions/", ""),
    ("  executing: resolvers and result completion", "graphql/execution/execute.py", ""),
    ("  JSON encoding of the answer", "json/encoder.py", ""),
    ("SQL: asyncpg calls (client side)", "asyncpg/", ""),
    ("subscriptions: running a subscription", "strawberry/subscriptions/", ""),
    ("  sending on the websocket", "starlette/websockets.py", "send"),
    ("  permessage-deflate compression", "permessage_deflate.py", ""),
    ("webhook receiver (POST /api/webhooks/evolution…)", "resolvers/webhook_route.py", ""),
    ("webhook processor (applying stored events)", "services/webhooks/processor.py", ""),
    ("outbox worker", "services/messaging/outbox.py", ""),
    ("event bus publish/dispatch", "services/platform/events.py", ""),
)


def _phase_shares(stacks: list[tuple[list[str], int]], total: int) -> list[tuple[str, float]]:
    shares = []
    for label, path, func in PHASES:
        hits = 0
        for frames, count in stacks:
            for frame in frames:
                match = FRAME.match(frame)
                if (
                    match
                    and path in match.group("file")
                    and (not func or match.group("func").split(".")[-1] == func)
                ):
                    hits += count
                    break
        if hits:
            shares.append((label, hits / total * 100))
    return shares


def summarise(raw: Path, top: int = 12) -> dict[str, Any]:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack and samples.isdigit():
            stacks.append((stack.split(";"), int(samples)))
    total = sum(c for _, c in stacks)
    self_by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    self_by_func: Counter[str] = Counter()
    for frames, count in stacks:
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        leaf, package = _short(frames[-1])
        self_by_package[package] += count
        self_by_func[leaf] += count
        for name in {_short(f)[0] for f in frames if _short(f)[1].startswith("app:")}:
            inclusive[name] += count
    interesting = [
        (n, c)
        for n, c in inclusive.most_common()
        if not n.startswith(("<module> (", "main (", "serve ("))
    ]
    return {
        "samples": total,
        "phases": _phase_shares(stacks, total) if total else [],
        "by_package": [(p, c / total * 100) for p, c in self_by_package.most_common(top)],
        "self": [(f, c / total * 100) for f, c in self_by_func.most_common(top)],
        "inclusive": [(f, c / total * 100) for f, c in interesting[: top + 4]],
    }


def render(name: str, summary: dict[str, Any], raw: Path) -> list[str]:
    lines = [
        f"profile: {name} — {summary['samples']} samples (py-spy, CPU only, 100 Hz); "
        f"stacks in {raw.relative_to(ROOT)}"
    ]
    lines.append(
        "  self time by package: "
        + ", ".join(f"{p} {share:.0f}%" for p, share in summary["by_package"])
    )
    if summary.get("phases"):
        lines.append("  where the time goes (share of CPU samples with that phase on the stack):")
        lines += [f"    {share:5.1f}%  {label}" for label, share in summary["phases"]]
    lines.append("  hottest functions (self):")
    lines += [f"    {share:5.1f}%  {func}" for func, share in summary["self"]]
    lines.append("  application frames, inclusive (share of samples with the frame on the stack):")
    lines += [f"    {share:5.1f}%  {func}" for func, share in summary["inclusive"]]
    return lines


async def profiled(name: str, pid: int, work: Awaitable[T]) -> tuple[T, list[str]]:
    """Run `work` while py-spy samples process `pid`; answer its result and the summary."""
    spy = pyspy()
    if spy is None:
        return await work, [f"profile: {name} — py-spy could not be installed"]
    PROFILES.mkdir(parents=True, exist_ok=True)
    raw = PROFILES / f"{name}.txt"
    proc = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--full-filenames",
        "--rate",
        "100",
        "--output",
        str(raw),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(1.0)  # let py-spy attach before the load starts
    try:
        result = await work
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        _, err = await proc.communicate()
    if not raw.exists() or raw.stat().st_size == 0:
        return result, [f"profile: {name} — py-spy wrote nothing ({err.decode()[-300:]})"]
    return result, render(name, summarise(raw), raw)
