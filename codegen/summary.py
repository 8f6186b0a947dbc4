"""The model summary: per node and in total, output shapes, parameters, MACs/FLOPs and activation memory.

Conventions (batch 1, the input shapes the graph or the caller gives):

- **MACs** are the multiply-accumulates of matmul/conv-like work: convolutions (groups, dilation, stride
  and transposed ones included), Linear, Bilinear, MatMul, attention (projections and both score
  products), Transformer encoder layers and the recurrent layers. Each node type states its count next to
  its declaration (``NodeSpec.macs``); types without one (activations, normalisation, pooling, reshapes,
  elementwise arithmetic, embeddings) do none.
- **FLOPs** are what ``torch.utils.flop_counter.FlopCounterMode`` counts on the generated model: 2 × MACs
  of every mm/addmm/bmm/convolution/attention op, nothing for elementwise work. So FLOPs = 2 × MACs here,
  and they equal the counter's figure on the unfused paths it sees (attention through the math SDPA
  backend, LSTM without oneDNN; grad mode on, where eval-mode fast paths would hide the ops). One known
  gap: FlopCounterMode has no formula for ``aten._trilinear``, so it counts nothing for Bilinear.
- A built-in block (``Bottleneck``, ``MBConv``, …) is an ``nn.Module`` whose inside the engine does not
  analyse: its count is measured once per constructor and input shape by running the block on the meta
  device (no memory, no arithmetic) under FlopCounterMode. A user block counts its inner nodes, which are
  listed as its children.
- **Activation memory** is per sample: the fp32 bytes of each node's outputs (a user block: every value
  computed inside it), as the validator's memory estimate counts them.
- **Parameters** are split into trainable and frozen: a frozen node's (``trainable: false``) and a parameter a
  node creates with ``requires_grad=False`` (a ``LearnedScale`` that is not learnable) are frozen, every other
  one trainable.

An unknown figure (a size the graph leaves open, a node with an error upstream) is ``None``, and so is
every total it would feed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .analysis import Analysis, NodeInfo, node_activation_bytes, node_init, size_text
from .diagnostics import GraphError
from .ir import Call
from .schema import Graph, Limits
from .spec import CostCtx
from .tensor import UNKNOWN, TensorType, shape_text

FLOPS_PER_MAC = 2  # FlopCounterMode's convention for every matmul/conv-like op


@dataclass(frozen=True)
class NodeSummary:
    """One row: a node of the model, or (in ``children``) a node inside a user block instance."""

    id: str
    type: str
    output_shapes: list[list[Any] | None]  # ``["B", 64, 56, 56]`` per output, unknown sizes as None
    params_trainable: int | None
    params_frozen: int | None
    macs: int | None
    activation_bytes: int | None  # per sample, fp32
    children: tuple[NodeSummary, ...] = ()

    @property
    def params(self) -> int | None:
        return _sum([self.params_trainable, self.params_frozen])

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else self.macs * FLOPS_PER_MAC

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "type": self.type, "output_shapes": self.output_shapes, **figures(self)}
        if self.children:
            data["children"] = [child.to_dict() for child in self.children]
        return data


@dataclass(frozen=True)
class ModelSummary:
    """Every node's row in forward order and the model's totals; see the module docstring for the conventions."""

    name: str
    rows: list[NodeSummary]
    activation_bytes: int | None  # per sample, the validator's estimate (Inputs included)

    @property
    def params_trainable(self) -> int | None:
        return _sum([row.params_trainable for row in self.rows])

    @property
    def params_frozen(self) -> int | None:
        return _sum([row.params_frozen for row in self.rows])

    @property
    def params(self) -> int | None:
        return _sum([self.params_trainable, self.params_frozen])

    @property
    def macs(self) -> int | None:
        return _sum([row.macs for row in self.rows])

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else self.macs * FLOPS_PER_MAC

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: every figure an int or None."""
        return {
            "name": self.name,
            "batch_size": 1,
            "activation_memory": "bytes per sample, fp32",
            "nodes": [row.to_dict() for row in self.rows],
            "totals": figures(self),
        }

    def flat_rows(self) -> Iterator[tuple[tuple[str, ...], NodeSummary]]:
        """``(enclosing block ids, row)`` in forward order, a block's children right after it."""

        def walk(rows: Iterable[NodeSummary], trail: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], NodeSummary]]:
            for row in rows:
                yield trail, row
                yield from walk(row.children, (*trail, row.id))

        yield from walk(self.rows, ())

    def table_rows(self, *, raw: bool = False) -> list[list[str]]:
        """Header, one line per row and the totals; figures as people read them (children indented) or, with
        ``raw``, exact integers (children named ``block/node``)."""
        number = _raw if raw else _count
        size = _raw if raw else _bytes
        header = ["node", "type", "output shape", "params", "trainable", "frozen", "FLOPs", "MACs"]
        header.append("activations (bytes/sample)" if raw else "activations/sample")
        lines = [header]
        for trail, row in self.flat_rows():
            lines.append(
                [
                    "/".join((*trail, row.id)) if raw else "  " * len(trail) + row.id,
                    row.type,
                    " ".join(shape_text(s) if s is not None else "?" for s in row.output_shapes),
                    *(number(n) for n in (row.params, row.params_trainable, row.params_frozen, row.flops, row.macs)),
                    size(row.activation_bytes),
                ]
            )
        totals = (self.params, self.params_trainable, self.params_frozen, self.flops, self.macs)
        return [*lines, ["total", "", "", *(number(n) for n in totals), size(self.activation_bytes)]]

    def to_table(self) -> str:
        """An aligned text table for a terminal."""
        lines = self.table_rows()
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        numeric = range(3, len(widths))
        rendered = []
        for index, line in enumerate(lines):
            cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))]
            rendered.append("  ".join(cells).rstrip())
            if index == 0 or index == len(lines) - 2:
                rendered.append("  ".join("-" * w for w in widths))
        return f"{self.name}: batch 1, activation memory per sample (fp32)\n" + "\n".join(rendered) + "\n"

    def to_markdown(self) -> str:
        """A Markdown document: a heading, the totals, and the per-node table (children indented)."""
        lines = self.table_rows()
        escape = str.maketrans({"|": "\\|"})
        body = [[cell.translate(escape).replace("  ", "\u00a0\u00a0") for cell in line] for line in lines]
        body[-1][0] = "**total**"
        out = [f"# {self.name}: model summary", "", "Batch 1; activation memory per sample (fp32).", ""]
        out += [
            f"- Parameters: {_count(self.params)} ({_count(self.params_trainable)} trainable, "
            f"{_count(self.params_frozen)} frozen)",
            f"- FLOPs: {_count(self.flops)} ({_count(self.macs)} MACs)",
            f"- Activation memory: {_bytes(self.activation_bytes)} per sample",
            "",
        ]
        out.append("| " + " | ".join(body[0]) + " |")
        out.append("| " + " | ".join("---:" if i >= 3 else "---" for i in range(len(body[0]))) + " |")
        out += ["| " + " | ".join(line) + " |" for line in body[1:]]
        return "\n".join(out) + "\n"

    def to_csv(self) -> str:
        """One line per row with exact integers (empty when unknown); block children as ``block/node``."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows(self.table_rows(raw=True))
        return buffer.getvalue()


FIGURES = ("params", "params_trainable", "params_frozen", "flops", "macs", "activation_bytes")


def figures(row: NodeSummary | ModelSummary) -> dict[str, int | None]:
    """The figures of a row or of the whole model's totals, by name."""
    return {name: getattr(row, name) for name in FIGURES}


def _sum(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


def _raw(value: int | None) -> str:
    return "" if value is None else str(value)


def _count(value: int | None) -> str:
    """``25.6M``, ``4.11G``, ``950``: three significant digits; ``?`` when unknown."""
    if value is None:
        return "?"
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return str(value)


def _bytes(value: int | None) -> str:
    return "?" if value is None else size_text(value)


# -- counting ------------------------------------------------------------------------------------------


def node_macs(analysis: Analysis, info: NodeInfo) -> int | None:
    """Multiply-accumulates per sample of one node that is not a user block (those sum their children)."""
    if info.is_input or info.node.disabled:
        return 0
    spec = info.spec
    # A placeholder, or a user's class (never imported to measure it), stands for unknown work.
    if info.out is None or spec is None or spec.category in ("imported", "custom"):
        return None
    if spec.composite:
        init = node_init(analysis, info)
        types = tuple(t if t is not None else UNKNOWN for t in analysis.input_types(info.id))
        return None if init is None else measured_block_macs(init, types)
    if spec.macs is None:
        return 0
    inputs = [t if t is not None else UNKNOWN for t in analysis.input_types(info.id)]
    return spec.macs(CostCtx(info.params, inputs, info.out))


def node_frozen_params(analysis: Analysis, info: NodeInfo) -> int:
    """A node's parameters that are not trained: all of a frozen node's (``trainable: false``), or a parameter
    it creates with ``requires_grad=False``.

    User blocks sum their children instead (``_rows``), unless the instance itself is frozen.
    """
    if info.is_input or info.node.disabled or info.out is None:
        return 0
    if not info.node.trainable:
        return info.param_count or 0
    if info.inner is not None or info.spec is None:
        return 0
    init = node_init(analysis, info)
    frozen = isinstance(init, Call) and init.fn == "nn.Parameter" and ("requires_grad", False) in init.kwargs
    return (info.param_count or 0) if frozen else 0


@lru_cache(maxsize=1024)
def measured_block_macs(init: Call, input_types: tuple[TensorType, ...]) -> int | None:
    """A built-in block's MACs: its module run on the meta device under FlopCounterMode, halved."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from .interpreter import base_namespaces
    from .ir import Evaluator

    if not all(t.concrete for t in input_types):
        return None
    try:
        with torch.device("meta"):
            module = Evaluator(base_namespaces()).eval(init)
            inputs = [
                torch.empty(1, *t.dims, dtype=torch.int64 if t.dtype == "int64" else torch.float32)  # type: ignore[misc]
                for t in input_types
            ]
        module.eval()
        with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
            module(*inputs)
    except Exception:  # noqa: BLE001  (a block that cannot run on meta: its count stays unknown, not an error)
        return None
    return counter.get_total_flops() // FLOPS_PER_MAC


def _output_shapes(info: NodeInfo) -> list[list[Any] | None]:
    outs = info.out if isinstance(info.out, tuple) else (info.out,)
    return [t.to_json() if t is not None else None for t in outs]


def _rows(analysis: Analysis, shared: dict[int, tuple[NodeSummary, ...]]) -> list[NodeSummary]:
    rows = []
    for node_id in analysis.order:
        info = analysis.info[node_id]
        children: tuple[NodeSummary, ...] = ()
        macs, frozen = node_macs(analysis, info), node_frozen_params(analysis, info)
        if info.inner is not None and not info.node.disabled:
            children = _children(info.inner, shared)
            macs = _sum([child.macs for child in children]) if info.out is not None else None
            if info.node.trainable:  # a frozen instance froze all of it
                frozen = sum(child.params_frozen or 0 for child in children)
        rows.append(
            NodeSummary(
                id=node_id,
                type=info.type_name,
                output_shapes=_output_shapes(info),
                params_trainable=None if info.param_count is None else info.param_count - frozen,
                params_frozen=frozen if info.param_count is not None else None,
                macs=macs,
                activation_bytes=node_activation_bytes(info) if info.out is not None else None,
                children=children,
            )
        )
    return rows


def _children(inner: Analysis, shared: dict[int, tuple[NodeSummary, ...]]) -> tuple[NodeSummary, ...]:
    """A user block's rows but its Inputs. Instances with the same expansion share one analysis (see
    ``analysis.Scope.expansions``) and so one set of rows, kept in ``shared`` by analysis."""
    if id(inner) not in shared:
        shared[id(inner)] = tuple(row for row in _rows(inner, shared) if not inner.info[row.id].is_input)
    return shared[id(inner)]


def summary_of(analysis: Analysis, name: str = "Model") -> ModelSummary:
    """The summary of an analysis as it stands: nodes with errors upstream get unknown figures."""
    return ModelSummary(name, _rows(analysis, {}), analysis.memory_bytes)


def summarize(
    document_or_graph: Graph | dict[str, Any] | str | bytes,
    *,
    input_shapes: dict[str, list[int]] | None = None,
    limits: Limits | None = None,
) -> ModelSummary:
    """Summarise a valid graph at batch 1; raises :class:`GraphError` with the diagnostics when it has errors."""
    from .api import load_graph, validate  # the API module puts the summary into validation results

    graph = load_graph(document_or_graph, limits=limits)
    result = validate(graph, input_shapes=input_shapes, limits=limits)
    if not result.ok:
        raise GraphError(result.errors)
    return summary_of(result.analysis, graph.name or "Model")


__all__ = ["FLOPS_PER_MAC", "ModelSummary", "NodeSummary", "measured_block_macs", "summarize", "summary_of"]
