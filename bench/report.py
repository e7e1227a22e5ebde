"""The results table on stdout and in BENCHMARKS.md.

BENCHMARKS.md is rewritten by every full run, except the block between the ANALYSIS markers,
which is kept as it is: that is where people write what the figures mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import Context, Figure
from bench.machine import one_line

START = "<!-- analysis:start -->"
END = "<!-- analysis:end -->"
DEFAULT_ANALYSIS = "(No analysis written yet.)"


def table(figures: list[Figure]) -> list[str]:
    rows = [("part", "figure", "value", "target", "met")]
    rows += [
        (f.part, f.name + (f"  ({f.note})" if f.note else ""), f.shown(), f.target, f.met_text())
        for f in figures
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    widths[1] = min(widths[1], 80)
    out = []
    for number, row in enumerate(rows):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def print_table(ctx: Context, machine: dict[str, Any]) -> None:
    print("\n" + "=" * 100)
    print(f"machine: {one_line(machine)}")
    print("\n".join(table(ctx.figures)))
    missed = [f for f in ctx.figures if f.met is False]
    met = [f for f in ctx.figures if f.met]
    print(
        f"\ntargets met: {len(met)}, missed: {len(missed)}"
        + (
            " — "
            + "; ".join(f"{f.part}: {f.name} = {f.shown()} (target {f.target})" for f in missed)
            if missed
            else ""
        )
    )
    for note in ctx.notes:
        print(f"note: {note}")


def _markdown_table(figures: list[Figure]) -> list[str]:
    lines = ["| part | figure | value | target | met |", "|---|---|---|---|---|"]
    for f in figures:
        name = f.name + (f" ({f.note})" if f.note else "")
        met = {None: "", True: "yes", False: "**no**"}[f.met]
        lines.append(f"| {f.part} | {name} | {f.shown()} | {f.target} | {met} |")
    return lines


def write_markdown(
    path: Path, ctx: Context, machine: dict[str, Any], command: str, started: str, elapsed: float
) -> None:
    analysis = DEFAULT_ANALYSIS
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if START in text and END in text:
            analysis = text.split(START, 1)[1].split(END, 1)[0].strip() or DEFAULT_ANALYSIS
    sizes = ctx.sizes
    seeded = ctx.seeded
    missed = [f for f in ctx.figures if f.met is False]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`.venv/bin/python -m bench`); the analysis section is kept "
        "between runs, everything else is the latest run's output. Nothing here is a test: "
        "the suite only measures and reports.",
        "",
        f"- **date**: {started}",
        f"- **command**: `{command}` ({sizes.name} sizes, {elapsed / 60:.1f} min)",
        f"- **machine**: {one_line(machine)}",
        f"- **PostgreSQL settings**: {machine.get('postgresql_settings') or 'unknown'} "
        "(stock configuration, same server for the application and the peer)",
        f"- **code measured**: {machine.get('code', 'unknown')}",
        f"- **machine load**: 1-minute load average {machine.get('load_at_start')} at the start, "
        f"{machine.get('load_at_end')} at the end (anything else running on the two cores "
        "shows up in the figures)",
        f"- **data**: {seeded.get('messages', 0):,} messages, {seeded.get('contacts', 0):,} "
        f"contacts, hot chat {seeded.get('hot_messages', 0):,} messages (seed {seeded.get('seed')},"
        f" COPY in {seeded.get('seconds')} s)",
        f"- **method**: each figure is the median of {sizes.runs} run(s) of "
        f"{sizes.duration:g} s after {sizes.warmup:g} s warm-up; the load generator is a "
        "separate process (raw asyncio HTTP/1.1 keep-alive, one connection per concurrent "
        "client); the application, PostGraphile and the floor are measured interleaved in the "
        "same run, and ratios are medians of per-run ratios; the servers run with the "
        "webhook flood limits raised (the load comes from one address to a few numbers)"
        + (f"; peer: {seeded['peer']}" if seeded.get("peer") else ""),
        "",
        "## Results",
        "",
        *_markdown_table(ctx.figures),
        "",
        f"Targets met: {sum(1 for f in ctx.figures if f.met)}, missed: {len(missed)}.",
        "",
    ]
    if missed:
        lines += ["Missed:", ""]
        lines += [f"- {f.part}: {f.name} = {f.shown()} (target {f.target})" for f in missed]
        lines.append("")
    if ctx.notes:
        lines += ["Notes from the run:", ""] + [f"- {n}" for n in ctx.notes] + [""]
    lines += ["## Analysis", "", START, analysis, END, ""]
    if ctx.plans:
        lines += ["## SQL plans and profiles (latest run)", "", "```", *ctx.plans, "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
