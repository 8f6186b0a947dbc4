"""Writes benchmark results into docs/benchmarks.md, one section per benchmark module."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import torch

DEFAULT_REPORT = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
TITLE = (
    "# Benchmarks\n\nWritten by `make bench` (tests/bench/). Each section is replaced when its benchmark runs again, "
    "and holds one run\nof it: nothing here is written by hand, so no note can disagree with the figures.\n"
)


def machine() -> str:
    """The machine, and how busy it was when the benchmark wrote this (others' jobs show up as load)."""
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, torch {torch.__version__}; "
        f"load average {os.getloadavg()[0]:.2f} (1 min) as this was written"
    )


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100), linear between closest ranks."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def write_section(key: str, markdown: str) -> Path:
    """Replace (or append) the section ``key`` of the report with ``markdown``."""
    path = Path(os.environ.get("TORCHCANVAS_BENCH_REPORT", DEFAULT_REPORT))
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    begin, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def publish(key: str, lines: list[str]) -> None:
    """Write ``lines`` as the report's section ``key`` and show them (``pytest -s``)."""
    path = write_section(key, "\n".join(lines))
    print("\n".join(lines))
    print(f"written to {path}")
