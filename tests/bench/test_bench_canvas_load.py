"""Opening a 500-node graph in the canvas: navigation → interactive, in headless Chromium.

Issue 5: "a 500-node graph loads and is interactive in headless Chromium in under 1.5 s on this machine".

The site runs as ``make run`` serves it (``tests/e2e/e2e_helpers.py``: one daphne process, embedded mode, SQLite,
DEBUG on, the built canvas in ``static/dist/``); Playwright drives Debian's Chromium. Alice creates, through
the API, a 500-node convolutional graph (an ``Input`` with a shape, a stem, then alternating residual blocks —
Conv2d, BatchNorm2d, ReLU, Conv2d, BatchNorm2d, ``Add`` of the block's input, ReLU — and dense blocks that
``Concat`` the block's input with a 1×1 Conv2d branch; global pooling and a classifier), valid with a shape on
every edge: once with no canvas positions (the canvas lays it out itself, as for a graph imported or written by a
script) and once with positions; and a 10-node baseline of the same kind (stem, a short residual block, the head).

Each load opens ``/graphs/<id>/canvas/`` in a fresh tab of alice's logged-in browser context (warm HTTP cache,
warm server), and a script installed before the page's own (``add_init_script``) stamps ``performance.now()``
(navigation start = 0) from a ``MutationObserver`` the moment each condition first holds in the DOM:

- *nodes*: a ``.react-flow__node`` is in the DOM;
- *fitted*: React Flow has fitted the view (``.react-flow__viewport`` no longer at its initial
  ``translate(0px, 0px) scale(1)``) and the probe node (the stem's ``conv0``) is drawn (not ``visibility:
  hidden``), so it can be clicked; *culled*: the count of nodes in the DOM first fell below its peak (above 250
  nodes the canvas draws only the nodes in view, but its first render draws them all);
- *validated*: the toolbar's ``[data-testid=validity]`` reads "✓ Valid" and every rendered node shows its output
  shape (``[data-testid=node-shape]`` filled): the first ``POST /api/validate/`` answer is on screen;
- *ready*: fitted and validated at once.

Then the test clicks the probe node with a real mouse event (CDP input), and the page stamps when the properties
panel (``[data-testid=properties]``) shows that node's id (``[data-testid=node-id]``), and the next frame after
that. *First interaction latency* = ``pointerdown``'s own timestamp → the panel shows the id. *Interactive* =
ready + first interaction latency (the harness's round trip between the two, a few ms of Playwright, is left
out). The target is met when the p50 of *interactive* of the 500-node graph without positions is under 1.5 s.

Resource Timing splits each load into phases (HTML, bundle, the registry and version fetches, the first validate
request). One more load of each of the 500-node (no positions) and 10-node graphs runs under Chrome's tracing
(Playwright's ``browser.start_tracing``: timeline categories and the V8 sampling profiler); the renderer main
thread's self time is summed by kind of work per phase, and the JavaScript samples are attributed, through the
bundle's source maps (``frontend/build/sourcemaps/``, outside the served files), to the package or source file
they ran in. A further row repeats the 500-node graph with
the browser cache disabled (CDP ``Network.setCacheDisabled``: the bundle is fetched and compiled again, as on a
first visit).

The loads are interleaved (one of each kind per round, the order rotating) so that machine drift hits all rows
alike, after one warm-up round. No timing is asserted: the figures go to the report (``TORCHCANVAS_BENCH_REPORT``).
"""

from __future__ import annotations

import bisect
import json
import re
import time
from collections import Counter, defaultdict

import pytest
from django.templatetags.static import static
from e2e_helpers import MANIFEST, ROOT, api  # tests/e2e, put on the path by conftest.py

import codegen
from graphs.templatetags.canvas import canvas_files

from .report import machine, pct, write_section

pytestmark = pytest.mark.bench

ROUNDS = 7
WARMUP = 1
TARGET_MS = 1500.0
CHANNELS = 16
PROBE = "conv0"  # the node clicked: the stem's convolution, among the first drawn in every graph
TIMEOUT_MS = 60_000
SOURCEMAPS = ROOT / "frontend" / "build" / "sourcemaps"

# Installed before the page's scripts: stamps when each condition first holds (see the module's docstring).
WATCHER = """(() => {
  const probe = %(probe)s;
  const b = (window.__bench = { t: {}, longtasks: [], waiting: {} });
  const now = () => performance.now();
  const mark = (key, at) => {
    if (b.t[key] !== undefined) return;
    b.t[key] = at === undefined ? now() : at;
    for (const resolve of b.waiting[key] || []) resolve(b.t[key]);
  };
  // A promise of the stamp `key` (no polling: nothing of the harness runs in the page while it loads).
  b.until = (key, ms) => b.t[key] !== undefined ? Promise.resolve(b.t[key]) : new Promise((resolve, reject) => {
    (b.waiting[key] = b.waiting[key] || []).push(resolve);
    setTimeout(() => reject(new Error(`no "${key}" within ${ms} ms: ${JSON.stringify(b.t)}`)), ms);
  });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {}
  addEventListener("pointerdown", (e) => mark("down", e.timeStamp), true);
  const check = () => {
    const t = b.t;
    if (t.ready === undefined) {
      const nodes = document.querySelectorAll(".react-flow__node");
      if (nodes.length) mark("nodes");
      if (nodes.length < (b.peak || 0)) mark("culled");
      b.peak = Math.max(b.peak || 0, nodes.length);
      const el = document.querySelector(`.react-flow__node[data-id="${probe}"]`);
      const viewport = document.querySelector(".react-flow__viewport");
      const moved = viewport && viewport.style.transform && viewport.style.transform !== "translate(0px, 0px) scale(1)";
      const shown = el && el.style.visibility !== "hidden" && moved;
      if (shown) mark("fitted");
      const validity = document.querySelector('[data-testid="validity"]');
      const valid = validity && validity.textContent.includes("Valid");
      if (valid) mark("valid");
      let shapes = nodes.length > 0;
      for (const node of nodes) {
        const shape = node.querySelector('[data-testid="node-shape"]');
        if (!shape || !shape.textContent.trim()) { shapes = false; break; }
      }
      if (shapes) mark("shapes");
      if (shown && valid && shapes) { mark("ready"); b.rendered = nodes.length; }
    }
    if (t.down !== undefined && t.panel === undefined) {
      const field = document.querySelector('[data-testid="properties"] [data-testid="node-id"]');
      if (field && field.value === probe) {
        mark("panel");
        requestAnimationFrame(() => setTimeout(() => mark("frame"), 0));
      }
    }
  };
  new MutationObserver(check).observe(document, {
    childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["style", "class"],
  });
})();"""

# What the page stamped, and Navigation and Resource Timing, read once the load is over.
TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource").map((r) => ({
    name: new URL(r.name).pathname, start: r.startTime, end: r.responseEnd,
  }));
  return { t: window.__bench.t, rendered: window.__bench.rendered, peak: window.__bench.peak, longtasks: window.__bench.longtasks,
           html: nav.responseEnd, resources };
}"""
UNTIL = "([key, ms]) => window.__bench.until(key, ms)"


# --- graphs ---------------------------------------------------------------------------------------------------


def conv_net(n: int) -> dict:
    """An ``n``-node valid convolutional graph: stem, alternating residual (Add) and dense (Concat) blocks, head."""
    nodes: list[dict] = []
    edges: list[list[str]] = []

    def add(node_id: str, node_type: str, params: dict | None = None, *inputs: str) -> str:
        nodes.append({"id": node_id, "type": node_type, "params": params or {}})
        edges.extend([source, node_id] for source in inputs)
        return node_id

    def conv(node_id: str, x: str, kernel: int = 3) -> str:
        params = {"out_channels": CHANNELS, "kernel_size": kernel}
        if kernel == 3:
            params["padding"] = 1
        return add(node_id, "Conv2d", params, x)

    x = add("input", "Input", {"shape": [3, 32, 32]})
    x = add("relu0", "ReLU", {}, add("bn0", "BatchNorm2d", {}, conv(PROBE, x)))
    head = 2
    block = 0
    while (left := n - head - len(nodes)) > 0:
        p = f"b{block}_"
        if left >= 7 and block % 2 == 0:  # residual: relu(x + bn(conv(relu(bn(conv(x))))))
            y = add(p + "relu1", "ReLU", {}, add(p + "bn1", "BatchNorm2d", {}, conv(p + "conv1", x)))
            y = add(p + "bn2", "BatchNorm2d", {}, conv(p + "conv2", y))
            x = add(p + "relu2", "ReLU", {}, add(p + "add", "Add", {}, x, y))
        elif left >= 7:  # dense: concat(x, relu(bn(conv1x1(x)))) → conv1x1 → bn → relu
            y = add(p + "relu1", "ReLU", {}, add(p + "bn1", "BatchNorm2d", {}, conv(p + "conv1", x, 1)))
            y = conv(p + "conv2", add(p + "cat", "Concat", {"dim": 1}, x, y), 1)
            x = add(p + "relu2", "ReLU", {}, add(p + "bn2", "BatchNorm2d", {}, y))
        elif left >= 4:  # short residual: relu(x + bn(conv(x)))
            y = add(p + "bn1", "BatchNorm2d", {}, conv(p + "conv1", x))
            x = add(p + "relu1", "ReLU", {}, add(p + "add", "Add", {}, x, y))
        else:
            x = add(p + "relu", "ReLU", {}, x)
        block += 1
    x = add("fc", "Linear", {"out_features": 10}, add("pool", "GlobalAvgPool", {}, x))
    return {"version": "0.2", "nodes": nodes, "edges": edges, "inputs": ["input"], "outputs": [x]}


def with_positions(document: dict) -> dict:
    """The same graph with canvas positions: top to bottom by depth, side by side within a depth."""
    depth: dict[str, int] = {}
    sources: dict[str, list[str]] = defaultdict(list)
    for source, target in document["edges"]:
        sources[target].append(source)
    columns: Counter[int] = Counter()
    nodes = []
    for node in document["nodes"]:  # already in topological order
        d = depth[node["id"]] = max((depth[s] + 1 for s in sources[node["id"]]), default=0)
        nodes.append({**node, "ui": {"x": 240 * columns[d], "y": 130 * d}})
        columns[d] += 1
    return {**document, "nodes": nodes}


# --- one load -------------------------------------------------------------------------------------------------


def open_canvas(context, url: str, *, cold: bool = False, tracing=None) -> tuple[dict, bytes | None]:
    """Open ``url`` in a fresh tab, wait until ready, click the probe node, wait for the properties panel.

    The page's stamps and timings, and Chrome's trace of the load up to ready when ``tracing`` (the browser):
    started before the tab, and given time to reach every process (a spare renderer Chrome keeps ready may be
    the one that serves the page)."""
    trace = None
    if tracing is not None:
        tracing.start_tracing()
        time.sleep(0.5)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        if cold:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.goto(url, wait_until="commit")
        page.wait_for_function("() => window.__bench", polling=100, timeout=TIMEOUT_MS)  # the watcher is in
        page.evaluate(UNTIL, ["ready", TIMEOUT_MS])
        if tracing is not None:
            trace = tracing.stop_tracing()
            tracing = None
        box = page.locator(f'.react-flow__node[data-id="{PROBE}"]').bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.evaluate(UNTIL, ["frame", TIMEOUT_MS])
        return page.evaluate(TIMINGS), trace
    finally:
        if tracing is not None:
            tracing.stop_tracing()
        page.close()


def entry_url() -> str:
    """The path of the canvas's entry script (its name is a hash of its content), as the page includes it."""
    return static(canvas_files()[2])


def figures(timings: dict, graph_id: int) -> dict:
    """The figures of one load (ms since navigation start), from the page's stamps and Resource Timing."""
    t = timings["t"]

    def first(prefix: str) -> dict:
        return next(r for r in timings["resources"] if r["name"].startswith(prefix))

    registry, version = first("/api/registry/"), first(f"/api/graphs/{graph_id}/versions/")
    validate = first("/api/validate/")
    before = [(start, duration) for start, duration in timings["longtasks"] if start < t["ready"]]
    return {
        "html": timings["html"],
        "bundle": first(entry_url())["end"],
        "boot": min(registry["start"], version["start"]),  # the app's first effect: bundle run, React mounted
        "data": max(registry["end"], version["end"]),
        "nodes": t["nodes"],
        "fitted": t["fitted"],
        "culled": t.get("culled"),
        "validate_sent": validate["start"],
        "validate_back": validate["end"],
        "ready": t["ready"],
        "click": t["panel"] - t["down"],
        "click_frame": t["frame"] - t["down"],
        "interactive": t["ready"] + t["panel"] - t["down"],
        "rendered": timings["rendered"],
        "peak": timings["peak"],
        "longtasks": sum(duration for _, duration in before),
        "longest": max((duration for _, duration in before), default=0.0),
    }


# --- the trace ------------------------------------------------------------------------------------------------

KINDS = ("script", "style + layout", "paint", "GC", "loading, IPC, other", "idle")
SCRIPT = {"FunctionCall", "EvaluateScript", "RunMicrotasks", "TimerFire", "FireAnimationFrame", "EventDispatch"}
STYLE_LAYOUT = {
    "UpdateLayoutTree",
    "ParseAuthorStyleSheet",
    "Layout",
    "HitTest",
    "ResizeObserver::BroadcastObservations",
}
PAINT = {"Paint", "PrePaint", "Layerize", "Commit", "UpdateLayer", "PaintImage", "CompositeLayers"}


def kind_of(name: str) -> str:
    if name.startswith("V8.GC") or name in ("MinorGC", "MajorGC") or name.startswith("BlinkGC"):
        return "GC"
    if name in SCRIPT or name.startswith(("v8.", "V8.")):
        return "script"
    if name in STYLE_LAYOUT or name.startswith("IntersectionObserver"):
        return "style + layout"
    if name in PAINT:
        return "paint"
    return "loading, IPC, other"  # task wrappers, mojo messages, HTML parsing, resource callbacks


def trace_events(raw: bytes, timings: dict) -> tuple[list[dict], int, float] | None:
    """The events, the renderer process of the canvas page and its navigation start (µs, trace clock)."""
    data = json.loads(raw)
    events = data["traceEvents"] if isinstance(data, dict) else data
    for e in events:
        if e.get("name") == "navigationStart" and "/canvas/" in e["args"].get("data", {}).get("documentLoaderURL", ""):
            return events, e["pid"], e["ts"]
    # A renderer that missed its navigationStart event: align on the bundle's request instead.
    bundle = next(r for r in timings["resources"] if r["name"] == entry_url())
    for e in events:
        if e.get("name") == "ResourceSendRequest" and e["args"]["data"].get("url", "").endswith(entry_url()):
            return events, e["pid"], e["ts"] - 1000 * bundle["start"]
    return None


def main_thread_slices(events: list[dict], pid: int, begin: float) -> list[tuple[float, float, str]]:
    """(start ms, self ms, kind) of every complete event on the renderer's main thread (children subtracted)."""
    spans = sorted(
        (e["ts"], -(e["ts"] + e["dur"]), e["name"])
        for e in events
        if e.get("ph") == "X" and e["pid"] == pid and e["tid"] == pid and e.get("dur", 0) > 0 and e["ts"] >= begin
    )
    slices = []
    stack: list[list] = []  # open spans: [end, name, start, duration, time in children]

    def close(span: list) -> None:
        end, name, start, duration, children = span
        slices.append(((start - begin) / 1000, (duration - children) / 1000, kind_of(name)))

    for start, minus_end, name in spans:
        end = -minus_end
        while stack and stack[-1][0] <= start:
            close(stack.pop())
        if stack:
            end = min(end, stack[-1][0])
            stack[-1][4] += end - start
        stack.append([end, name, start, end - start, 0.0])
    for span in reversed(stack):
        close(span)
    return slices


def by_phase(slices: list[tuple[float, float, str]], bounds: list[tuple[str, float]]) -> list[tuple[str, dict]]:
    """Main-thread self time by kind within each phase (a slice counts where it starts); the rest is idle."""
    rows = []
    begin = 0.0
    for label, end in bounds:
        kinds = {kind: 0.0 for kind in KINDS}
        for start, self_ms, kind in slices:
            if begin <= start < end:
                kinds[kind] += self_ms
        kinds["idle"] = max(0.0, end - begin - sum(kinds.values()))
        rows.append((f"{label} ({begin:.0f}–{end:.0f})", kinds))
        begin = end
    return rows


# Source maps: the bundle's minified positions → the package or source file they came from.
B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def decode_mappings(mappings: str) -> list[tuple[list[int], list[tuple[int, int | None]]]]:
    """Per generated line: the columns of its segments and their (source index, name index)."""
    lines = []
    source = original_line = original_column = name = 0
    for line in mappings.split(";"):
        column = 0
        columns: list[int] = []
        targets: list[tuple[int, int | None]] = []
        for segment in filter(None, line.split(",")):
            values = []
            shift = value = 0
            for char in segment:
                digit = B64[char]
                value += (digit & 31) << shift
                if digit & 32:
                    shift += 5
                else:
                    values.append(-(value >> 1) if value & 1 else value >> 1)
                    shift = value = 0
            column += values[0]
            if len(values) >= 4:
                source += values[1]
                original_line += values[2]
                original_column += values[3]
                named = None
                if len(values) == 5:
                    name += values[4]
                    named = name
                columns.append(column)
                targets.append((source, named))
        lines.append((columns, targets))
    return lines


class SourceMaps:
    """The source maps of the bundle's files as they were when the trace was taken."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.maps: dict[str, tuple | None] = {}

    @staticmethod
    def snapshot() -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in SOURCEMAPS.glob("*.map")}

    def where(self, url: str, line: int, column: int) -> tuple[str, str | None]:
        """(package or source file, original name) of a position in a bundle file."""
        name = url.rsplit("/", 1)[-1]
        if name not in self.maps:
            raw = self.files.get(name + ".map")
            if raw is None:
                self.maps[name] = None
            else:
                data = json.loads(raw)
                self.maps[name] = (data["sources"], data.get("names", []), decode_mappings(data["mappings"]))
        found = self.maps[name]
        if not found or line >= len(found[2]):
            return "bundle (unmapped)", None
        sources, names, lines = found
        columns, targets = lines[line]
        i = bisect.bisect_right(columns, column) - 1
        if i < 0:
            return "bundle (unmapped)", None
        source, named = targets[i]
        package = re.search(r"node_modules/((?:@[^/]+/)?[^/]+)", sources[source])
        where = package.group(1) if package else re.sub(r"^(\.\./)*", "", sources[source])
        return where, names[named] if named is not None else None


def js_profile(events: list[dict], pid: int, begin: float, bounds: list[tuple[str, float]], maps: SourceMaps):
    """Self and inclusive sampled time (ms) by package/source file, self time by function, and self time by
    package/source file in each phase of ``bounds``, from navigation start to the last bound."""
    start = next(e["args"]["data"]["startTime"] for e in events if e.get("name") == "Profile" and e["pid"] == pid)
    nodes: dict[int, dict] = {}
    samples: list[tuple[float, int]] = []
    clock = start
    for chunk in sorted(
        (e for e in events if e.get("name") == "ProfileChunk" and e["pid"] == pid), key=lambda e: e["ts"]
    ):
        data = chunk["args"]["data"]
        profile = data.get("cpuProfile", {})
        for node in profile.get("nodes", []):
            nodes[node["id"]] = node
        for sample, delta in zip(profile.get("samples", []), data.get("timeDeltas", [])):
            clock += delta
            samples.append((clock, sample))
    samples.sort()
    named: dict[int, tuple[str, str]] = {}

    def where(node_id: int) -> tuple[str, str]:
        if node_id not in named:
            frame = nodes[node_id]["callFrame"]
            url, function = frame.get("url", ""), frame.get("functionName") or "(anonymous)"
            if not url:  # (program), (garbage collector), (idle), native functions
                named[node_id] = (function if function.startswith("(") else f"native {function}", function)
            elif "/static/dist/" in url:
                group, original = maps.where(url, frame.get("lineNumber", 0), frame.get("columnNumber", 0))
                named[node_id] = (group, original or function)
            else:
                named[node_id] = (f"other script {url.rsplit('/', 1)[-1][:40]}", function)
        return named[node_id]

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    functions: Counter[tuple[str, str]] = Counter()
    ends = [end for _, end in bounds]
    phases: list[Counter[str]] = [Counter() for _ in bounds]
    for (at, node_id), (following, _) in zip(samples, samples[1:]):
        if not 0 <= (at - begin) / 1000 < ends[-1]:
            continue
        ms = (following - at) / 1000
        group, function = where(node_id)
        own[group] += ms
        phases[bisect.bisect_right(ends, (at - begin) / 1000)][group] += ms
        functions[(group, function)] += ms
        seen = set()
        while node_id is not None:
            seen.add(where(node_id)[0])
            node_id = nodes[node_id].get("parent")
        for name in seen:
            inclusive[name] += ms
    return own, inclusive, functions, phases


def analyse(raw: bytes, timings: dict, graph_id: int, maps: SourceMaps) -> dict | None:
    found = trace_events(raw, timings)
    if found is None:
        return None
    events, pid, begin = found
    f = figures(timings, graph_id)
    bounds = [
        ("HTML, bundle, app start", f["boot"]),
        ("registry + version fetch", f["data"]),
        ("layout, first render, fit", f["fitted"]),
        ("debounce, validate request", f["validate_back"]),
        ("validation rendered", f["ready"]),
    ]
    own, inclusive, functions, phases = js_profile(events, pid, begin, bounds, maps)
    profiler = next(e["args"]["data"]["startTime"] for e in events if e.get("name") == "Profile" and e["pid"] == pid)
    return {
        "figures": f,
        "phases": by_phase(main_thread_slices(events, pid, begin), bounds),
        "own": own,
        "inclusive": inclusive,
        "functions": functions,
        "js_phases": phases,
        "profiler_start": (profiler - begin) / 1000,
    }


# --- the benchmark --------------------------------------------------------------------------------------------


def test_canvas_load(browser, site, login):
    from playwright.sync_api import Error as PlaywrightError

    big = conv_net(500)
    small = conv_net(10)
    graphs = {"500": big, "500 positions": with_positions(big), "10": small}
    for document in graphs.values():
        result = codegen.validate(document)
        assert result.ok and not result.diagnostics, result.to_dict()["diagnostics"][:3]

    page = login("alice")
    context = page.context
    ids: dict[str, int] = {}
    for key, document in graphs.items():
        created = api(page, "POST", "/api/graphs/", {"name": f"bench canvas {key}", "document": document})
        assert created["status"] == 201, created
        ids[key] = created["json"]["id"]
    page.close()
    context.add_init_script(WATCHER % {"probe": json.dumps(PROBE)})

    kinds = {"500": ("500", False), "500 positions": ("500 positions", False), "10": ("10", False)}
    kinds["500 cold"] = ("500", True)
    results: dict[str, list[dict]] = {kind: [] for kind in kinds}
    retried = 0
    build_before = MANIFEST.read_bytes()
    for i in range(WARMUP + ROUNDS):
        order = list(kinds)[i % len(kinds) :] + list(kinds)[: i % len(kinds)]  # rotate who goes first
        for kind in order:
            graph, cold = kinds[kind]
            url = site.url(f"/graphs/{ids[graph]}/canvas/")
            try:
                timings, _ = open_canvas(context, url, cold=cold)
            except PlaywrightError:  # the shared machine stalled, or the bundle was being rebuilt: once more
                retried += 1
                timings, _ = open_canvas(context, url, cold=cold)
            if i >= WARMUP:
                results[kind].append(figures(timings, ids[graph]))

    maps = SourceMaps(SourceMaps.snapshot())
    traces = {}
    for graph in ("500", "10"):
        analysed = None
        for _ in range(3):  # a trace that missed the page's renderer is taken again
            timings, raw = open_canvas(context, site.url(f"/graphs/{ids[graph]}/canvas/"), tracing=browser)
            if (analysed := analyse(raw, timings, ids[graph], maps)) is not None:
                break
        assert analysed is not None, "three traces of the canvas missed its renderer process"
        traces[graph] = analysed
    rebuilt = maps.files != SourceMaps.snapshot() or MANIFEST.read_bytes() != build_before

    lines = report(graphs, results, traces, retried, rebuilt, browser.version)
    path = write_section("canvas", "\n".join(lines))
    print("\n".join(lines))
    print(f"written to {path}")


# --- the report -----------------------------------------------------------------------------------------------

LABELS = {
    "500": "500 nodes, no positions (laid out by the canvas)",
    "500 positions": "500 nodes, with positions",
    "500 cold": "500 nodes, no positions, browser cache disabled",
    "10": "10 nodes, no positions (baseline)",
}
PHASES = [
    ("html", "HTML received"),
    ("bundle", "the canvas's entry script received"),
    ("boot", "app started (first API fetch sent)"),
    ("data", "registry + graph version received"),
    ("nodes", "first `.react-flow__node` in the DOM"),
    ("fitted", "view fitted, probe node drawn"),
    ("culled", "off-screen nodes removed from the DOM"),
    ("validate_sent", "`POST /api/validate/` sent"),
    ("validate_back", "validation answer received"),
    ("ready", "**ready**: validation on screen"),
    ("interactive", "**interactive** (ready + first click)"),
]


def report(graphs, results, traces, retried: int, rebuilt: bool, chromium: str) -> list[str]:
    order = ["500", "500 positions", "500 cold", "10"]

    def stat(kind: str, key: str, how) -> float | None:
        values = [f[key] for f in results[kind] if f[key] is not None]  # "culled" only above 250 nodes
        return how(values) if values else None

    p50 = {kind: {key: stat(kind, key, lambda v: pct(v, 50)) for key in results[kind][0]} for kind in order}
    top = {kind: {key: stat(kind, key, max) for key in results[kind][0]} for kind in order}
    base = p50["10"]["interactive"]
    headline = p50["500"]["interactive"]
    worst = max(p50[kind]["interactive"] for kind in ("500", "500 positions"))
    edges = {key: len(document["edges"]) for key, document in graphs.items()}
    lines = [
        "## Canvas: a 500-node graph, navigation → interactive",
        "",
        f"Machine: {machine()}; headless Chromium {chromium} driven by Playwright (the site, the browser and the "
        "test share the CPUs).",
        "The site as `make run` serves it (daphne, embedded mode, SQLite, DEBUG on, the built bundle). Graphs made "
        "through the API by alice: 500 nodes (stem, alternating residual blocks with `Add` and dense blocks with "
        f"`Concat`, Conv2d/BatchNorm2d/ReLU, head; {edges['500']} edges, a shape on every edge) without canvas "
        "positions and with them; baseline, same run: the same kind of graph at 10 nodes "
        f"({edges['10']} edges). Each load is a fresh tab of alice's logged-in context (warm HTTP cache, warm "
        f"server), {ROUNDS} per row after {WARMUP} warm-up round, interleaved with the order rotating.",
        "",
        "Measured in the page (`performance.now()`, navigation start = 0) by a `MutationObserver` installed before "
        "the page's scripts. **Ready**: React Flow has fitted the view (`.react-flow__viewport` moved from its "
        'initial transform) with the probe node (`conv0`) drawn, the toolbar\'s `validity` reads "✓ Valid" and '
        "every node in the DOM shows its output shape (the first validation answer is on screen). Then a real mouse "
        "click on the probe node; **first click** = its `pointerdown` timestamp → the properties panel shows the "
        "node's id. **Interactive** = ready + first click (the harness's own round trip in between is left out). "
        "Above 250 nodes the canvas renders only the nodes in view (`onlyRenderVisibleElements`): the 500-node view "
        f"opens on its first nodes, {p50['500']['rendered']:.0f} of them in the DOM when ready — but its first render "
        f"puts all of them in the DOM ({p50['500']['peak']:.0f} without positions, "
        f"{p50['500 positions']['peak']:.0f} with: peak count seen by the observer) and culls them only once the "
        "view is fitted.",
        "",
        "| (ms) | ready p50 | ready max | first click p50 | first click max | **interactive p50** | interactive max "
        "| ratio to 10 nodes (p50) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in order:
        a, b = p50[kind], top[kind]
        lines.append(
            f"| {LABELS[kind]} | {a['ready']:.0f} | {b['ready']:.0f} | {a['click']:.1f} | {b['click']:.1f} "
            f"| **{a['interactive']:.0f}** | {b['interactive']:.0f} | {a['interactive'] / base:.2f} |"
        )
    lines += [
        "",
        f"Target: 500 nodes interactive under {TARGET_MS / 1000:.1f} s — {headline:.0f} ms at p50 without "
        f"positions ({'met' if headline < TARGET_MS else 'NOT met'}); worst p50 of the two 500-node rows "
        f"{worst:.0f} ms; worst single 500-node load {max(top[k]['interactive'] for k in order if k != '10'):.0f} ms "
        "(cache disabled included). Ratio 500 / 10 nodes at p50: "
        f"{headline / base:.2f} (no positions), {p50['500 positions']['interactive'] / base:.2f} (with positions).",
        "",
        "Per load, interactive (ms): "
        + "; ".join(f"{kind}: " + ", ".join(f"{f['interactive']:.0f}" for f in results[kind]) for kind in order)
        + ".",
        "",
        "### Where the time goes",
        "",
        "When each step was reached (ms since navigation start, p50 of the loads above; Resource Timing and the "
        "page's stamps):",
        "",
        "| step | " + " | ".join(kind for kind in order) + " |",
        "| --- | " + " | ".join("---:" for _ in order) + " |",
    ]
    for key, label in PHASES:
        cells = ("—" if p50[kind][key] is None else f"{p50[kind][key]:.0f}" for kind in order)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| long tasks before ready: total / longest | "
        + " | ".join(f"{p50[kind]['longtasks']:.0f} / {p50[kind]['longest']:.0f}" for kind in order)
        + " |"
    )
    for graph, label in (("500", "500 nodes, no positions"), ("10", "10 nodes")):
        trace = traces[graph]
        lines += [
            "",
            f"One traced load of the {label} graph (ready at {trace['figures']['ready']:.0f} ms under tracing and "
            f"the sampling profiler, which slow it; the renderer process, started for the navigation, began sampling "
            f"at {trace['profiler_start']:.0f} ms): the renderer main thread's self time by kind of work, per "
            "phase (ms; an event counts in the phase where it starts; idle = waiting on the network, the server "
            "or a timer, and in the first phase also the renderer process's own start-up, before it records):",
            "",
            "| phase (ms) | " + " | ".join(KINDS) + " | JavaScript in it, sampled self time (ms) |",
            "| --- | " + " | ".join("---:" for _ in KINDS) + " | --- |",
        ]
        totals = dict.fromkeys(KINDS, 0.0)
        for (phase, kinds), code in zip(trace["phases"], trace["js_phases"]):
            top = [(group, ms) for group, ms in code.most_common() if not group.startswith("(")][:4]
            js = "—" if rebuilt else ", ".join(f"{group} {ms:.0f}" for group, ms in top)
            lines.append(f"| {phase} | " + " | ".join(f"{kinds[k]:.0f}" for k in KINDS) + f" | {js} |")
            for k in KINDS:
                totals[k] += kinds[k]
        lines.append("| **total** | " + " | ".join(f"**{totals[k]:.0f}**" for k in KINDS) + " | |")
    trace = traces["500"]
    if rebuilt:
        lines += ["", "(The bundle was rebuilt while the trace ran: its JavaScript samples are not attributed.)"]
    else:
        total = sum(trace["own"].values())
        lines += [
            "",
            f"JavaScript samples of the traced 500-node load up to ready ({total:.0f} ms sampled), by where the code "
            "comes from (the bundle's source maps); self = in that code's own functions, inclusive = with what it "
            "called. `(program)` is the browser's native work outside JavaScript (HTML and CSS parsing, script compilation, "
            "style, layout, paint, loading):",
            "",
            "| code | self (ms) | inclusive (ms) |",
            "| --- | ---: | ---: |",
        ]
        for group, ms in trace["own"].most_common(14):
            lines.append(f"| {group} | {ms:.0f} | {trace['inclusive'][group]:.0f} |")
        app = [(k, v) for k, v in trace["inclusive"].most_common() if k.startswith("frontend/")][:6]
        hottest = [(key, ms) for key, ms in trace["functions"].most_common(20) if not key[0].startswith("(")][:10]
        lines += [
            "",
            "Inclusive time of the canvas's own source files: "
            + ", ".join(f"`{k}` {v:.0f} ms" for k, v in app)
            + ". Hottest functions (self): "
            + ", ".join(f"`{function}` ({group}) {ms:.0f} ms" for (group, function), ms in hottest)
            + ".",
        ]
    if retried:
        lines += [
            "",
            f"{retried} load(s) timed out and were retried once (the machine stalled or the bundle was rebuilt).",
        ]
    return lines
