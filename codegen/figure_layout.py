"""Positions for a figure's boxes when the document carries none: the canvas's layered layout, simplified.

The canvas (frontend/src/lib/layout.ts) lays a graph out with dagre or, for big graphs, with a linear
layered layout; this is the second, with the same rules where they matter for a figure: ranks by longest
path from the inputs, each rank ordered by where its inputs sit, the main path (the longest) straight, and
a graph much longer than wide cut into columns placed side by side (at ranks only one edge crosses) so the
drawing is about a landscape page's shape. Boxes have their own sizes (a block drawn expanded is a big one).
Pure arithmetic on ids and edges: the same input gives the same positions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# The canvas's gaps (layout.ts, top to bottom): between ranks, between the boxes of one rank, between columns.
RANK_GAP = 56
NODE_GAP = 40
COLUMN_GAP = 140
TARGET_ASPECT = 1.45  # width : height of the whole drawing that wrapping aims at
WRAP_MIN_RANKS = 4  # a drawing this short stays one column

Size = tuple[float, float]
Point = tuple[float, float]


class _Ranks:
    """The forward order, each node's rank (longest path from a source) and the longest path itself."""

    def __init__(self, ids: Sequence[str], edges: Sequence[tuple[str, str]]):
        known = set(ids)
        self.preds: dict[str, list[str]] = {i: [] for i in ids}
        self.succs: dict[str, list[str]] = {i: [] for i in ids}
        for a, b in edges:
            if a != b and a in known and b in known:
                self.preds[b].append(a)
                self.succs[a].append(b)
        self.order = self._forward_order(ids)
        self.rank: dict[str, int] = {}
        for node in self.order:
            self.rank[node] = max((self.rank[p] + 1 for p in self.preds[node] if p in self.rank), default=0)
        self.rows: list[list[str]] = []
        for node in self.order:
            while len(self.rows) <= self.rank[node]:
                self.rows.append([])
            self.rows[self.rank[node]].append(node)
        self.main = self._longest_path()

    def _forward_order(self, ids: Sequence[str]) -> list[str]:
        """Kahn's order, ties in document order; nodes on a cycle last, in document order."""
        indegree = {i: len(self.preds[i]) for i in ids}
        queue = [i for i in ids if indegree[i] == 0]
        for node in queue:
            for nxt in self.succs[node]:
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    queue.append(nxt)
        seen = set(queue)
        return queue + [i for i in ids if i not in seen]

    def _longest_path(self) -> set[str]:
        index = {node: k for k, node in enumerate(self.order)}
        reach: dict[str, int] = {}
        nxt: dict[str, str] = {}
        for node in reversed(self.order):
            reach[node] = 0
            for s in self.succs[node]:
                if index[s] > index[node] and reach[s] + 1 > reach[node]:
                    reach[node], nxt[node] = reach[s] + 1, s
        if not self.order:
            return set()
        node = max(self.order, key=lambda n: (reach[n], -index[n]))
        path = {node}
        while node in nxt:
            node = nxt[node]
            path.add(node)
        return path


def layered_positions(
    ids: Sequence[str], edges: Sequence[tuple[str, str]], sizes: dict[str, Size], *, wrap: bool = True
) -> dict[str, Point]:
    """Top-left corners for ``ids`` (each sized in ``sizes``), top to bottom; columns side by side if ``wrap``."""
    if not ids:
        return {}
    ranks = _Ranks(ids, edges)
    depth = [max(sizes[n][1] for n in row) for row in ranks.rows]
    columns = _columns(ranks, depth, sizes) if wrap else [(0, len(ranks.rows))]
    result: dict[str, Point] = {}
    offset = 0.0
    for first, last in columns:
        placed = _place_rows(ranks, ranks.rows[first:last], depth[first:last], sizes)
        left = min(x for x, _ in placed.values())
        top = min(y for _, y in placed.values())
        right = max(x + sizes[n][0] for n, (x, _) in placed.items())
        for node, (x, y) in placed.items():
            result[node] = (x - left + offset, y - top)
        offset += right - left + COLUMN_GAP
    return result


def _place_rows(ranks: _Ranks, rows: list[list[str]], depth: list[float], sizes: dict[str, Size]) -> dict[str, Point]:
    """Each rank ordered by the mean centre of its placed inputs, pushed apart where boxes would overlap,
    and shifted so that its main-path node sits at 0."""
    centre: dict[str, float] = {}
    result: dict[str, Point] = {}
    top = 0.0
    for row, row_depth in zip(rows, depth, strict=True):
        wanted = []
        for k, node in enumerate(row):
            placed = [centre[p] for p in ranks.preds[node] if p in centre]
            wanted.append((sum(placed) / len(placed) if placed else k * (sizes[node][0] + NODE_GAP), k, node))
        wanted.sort()
        xs: list[float] = []
        for k, (mean, _, node) in enumerate(wanted):
            if k == 0:
                xs.append(mean)
                continue
            before = wanted[k - 1][2]
            xs.append(max(mean, xs[-1] + sizes[before][0] / 2 + NODE_GAP + sizes[node][0] / 2))
        on_path = [x for x, (_, _, node) in zip(xs, wanted, strict=True) if node in ranks.main]
        drift = on_path[0] if on_path else sum(x - w[0] for x, w in zip(xs, wanted, strict=True)) / len(xs)
        for x, (_, _, node) in zip(xs, wanted, strict=True):
            centre[node] = x - drift
            width, height = sizes[node]
            result[node] = (round(centre[node] - width / 2), round(top + (row_depth - height) / 2))
        top += row_depth + RANK_GAP
    return result


def _columns(ranks: _Ranks, depth: list[float], sizes: dict[str, Size]) -> list[tuple[int, int]]:
    """Rank ranges [first, last) of each column: as many as bring the drawing nearest a landscape page,
    cut only after ranks that a single edge crosses (a skip never spans two columns)."""
    count = len(ranks.rows)
    if count <= WRAP_MIN_RANKS:
        return [(0, count)]
    end = list(_running_ends(depth))
    length = end[-1]
    width = max(sum(sizes[n][0] for n in row) + NODE_GAP * (len(row) - 1) for row in ranks.rows)

    def aspect_error(k: int) -> float:
        across = k * width + (k - 1) * COLUMN_GAP
        return abs(math.log(across / (length / k) / TARGET_ASPECT))

    k = 1
    while k < count and aspect_error(k + 1) < aspect_error(k):
        k += 1
    if k == 1:
        return [(0, count)]
    crossing = [0] * (count + 1)  # edges crossing the boundary after rank r (a running sum of +1 / -1)
    for node in ranks.order:
        for s in ranks.succs[node]:
            lo, hi = sorted((ranks.rank[node], ranks.rank[s]))
            crossing[lo] += 1
            crossing[hi] -= 1
    for r in range(1, count):
        crossing[r] += crossing[r - 1]
    column = length / k
    cuts: list[int] = []
    for i in range(1, k):
        ideal = i * column
        after = cuts[-1] if cuts else -1
        candidates = [r for r in range(after + 1, count - 1) if crossing[r] == 1]
        if not candidates:
            break
        best = min(candidates, key=lambda r: (abs(end[r] - ideal), r))
        if abs(end[best] - ideal) <= column / 3:
            cuts.append(best)
    bounds = [0, *(c + 1 for c in cuts), count]
    return list(zip(bounds, bounds[1:], strict=False))


def _running_ends(depth: list[float]):
    """Where each rank ends along the flow."""
    offset = 0.0
    for d in depth:
        offset += d
        yield offset
        offset += RANK_GAP
