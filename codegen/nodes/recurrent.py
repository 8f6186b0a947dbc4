"""Recurrent layers over sequences (B, T, H)."""

from __future__ import annotations

from ..diagnostics import insert_node
from ..dims import mul
from ..ir import Assign, Item, ListOf, call, kw_unless
from ..params import Bool, Choice, Float, Int
from ..spec import CostCtx, EmitCtx, InferCtx, NodeCode, NodeSpec, known_product, register
from ..tensor import CHANNELS_FIRST, SEQUENCE, TensorType


def sequence_input(ctx: InferCtx, what: str, index: int = 0) -> TensorType:
    """Input ``index`` as (B, T, H); a channels-first (B, C, T) tensor gets a Permute suggestion."""
    x = ctx.input(index, ranks=(3,))
    if x.rank_known and ctx.inputs[index].rank_known and x.layout == CHANNELS_FIRST:
        raise ctx.fail(
            "LAYOUT",
            f"{what} expects (B, T, H) but receives {x.describe()}; insert Permute_BCT_to_BTH",
            insert_node("Permute_BCT_to_BTH", ctx.edge(index)),
            edge_index=index,
        )
    if x.rank_known and x.dims[-1] is None:
        raise ctx.fail(
            "NEEDS_SHAPE", f"cannot infer {what}'s input size without input shapes: set `shape` on the Input node"
        )
    return x


def _rnn_params(with_nonlinearity: bool = False) -> tuple:
    params = (
        Int("hidden_size", doc="Features in the hidden state.", min=1, max=100_000),
        Int("num_layers", default=1, min=1, max=64, doc="Stacked recurrent layers."),
        Bool("bidirectional", default=False, doc="Also run the sequence backwards; doubles the output features."),
        Float("dropout", default=0.0, min=0.0, max=1.0, max_exclusive=True, doc="Dropout between stacked layers."),
        Bool("bias", default=True, doc="Learn bias weights."),
    )
    if with_nonlinearity:
        params += (Choice("nonlinearity", default="tanh", choices=("tanh", "relu"), doc="Activation inside the cell."),)
    return params


def _hidden(params: dict) -> object:
    return mul(params["hidden_size"], 2 if params["bidirectional"] else 1)


def _infer_rnn(name: str):
    def infer(ctx: InferCtx) -> TensorType:
        x = sequence_input(ctx, name)
        p = ctx.params
        if p["dropout"] and p["num_layers"] == 1:
            ctx.warn("PARAM_RANGE", "dropout only acts between stacked layers; it has no effect with num_layers=1")
        if name == "GRUBlock" and p["out"] == "last":
            return TensorType((_hidden(p),), None, x.dtype)
        time = x.dims[0] if x.dims else None
        return TensorType((time, _hidden(p)), SEQUENCE, x.dtype)

    return infer


def _recurrent_macs(gates: int):
    """Every time step, every layer and direction: ``gates`` products of input and hidden state with their
    weights, ``gates · H · (in + H)``; a stacked layer reads the previous layer's ``H · dirs`` features."""

    def macs(ctx: CostCtx) -> int | None:
        p = ctx.params
        time, features, hidden = ctx.size(0, 0), ctx.size(0, -1), p["hidden_size"]
        directions = 2 if p["bidirectional"] else 1
        total = 0
        for layer in range(p["num_layers"]):
            width = features if layer == 0 else hidden * directions
            step = known_product(directions, gates, hidden, None if width is None else width + hidden, time)
            if step is None:
                return None
            total += step
        return total

    return macs


def _rnn_init(cls: str, ctx: EmitCtx):
    p = ctx.params
    kwargs = {
        "num_layers": kw_unless(p["num_layers"], 1),
        "bias": kw_unless(p["bias"], True),
        "batch_first": True,
        "dropout": kw_unless(p["dropout"], 0.0),
        "bidirectional": kw_unless(p["bidirectional"], False),
    }
    if "nonlinearity" in p:
        kwargs = {"nonlinearity": kw_unless(p["nonlinearity"], "tanh"), **kwargs}
    return call(f"nn.{cls}", ctx.in_types[0].size(-1), p["hidden_size"], **kwargs)


def _emit_sequence(cls: str):
    def emit(ctx: EmitCtx) -> NodeCode:
        init = _rnn_init(cls, ctx)
        return NodeCode(init, (Assign((ctx.out, "_"), call(ctx.module, ctx.x)),))

    return emit


def emit_gru_block(ctx: EmitCtx) -> NodeCode:
    init = _rnn_init("GRU", ctx)
    if ctx.params["out"] == "seq":
        return NodeCode(init, (Assign((ctx.out, "_"), call(ctx.module, ctx.x)),))
    hidden = ctx.temp("hidden")
    last = Item(hidden, -1)
    value = call("torch.cat", ListOf((Item(hidden, -2), last)), dim=1) if ctx.params["bidirectional"] else last
    return NodeCode(init, (Assign(("_", hidden.name), call(ctx.module, ctx.x)), ctx.assign(value)))


register(
    NodeSpec(
        "GRU",
        "recurrent",
        "Gated recurrent unit over (B, T, H); outputs the whole sequence (B, T, H·dirs).",
        _infer_rnn("GRU"),
        _emit_sequence("GRU"),
        params=_rnn_params(),
        summary=("hidden_size", "num_layers"),
        macs=_recurrent_macs(3),
    ),
    NodeSpec(
        "LSTM",
        "recurrent",
        "Long short-term memory over (B, T, H); outputs the whole sequence (B, T, H·dirs).",
        _infer_rnn("LSTM"),
        _emit_sequence("LSTM"),
        params=_rnn_params(),
        summary=("hidden_size", "num_layers"),
        macs=_recurrent_macs(4),
    ),
    NodeSpec(
        "RNN",
        "recurrent",
        "Elman RNN over (B, T, H); outputs the whole sequence (B, T, H·dirs).",
        _infer_rnn("RNN"),
        _emit_sequence("RNN"),
        params=_rnn_params(with_nonlinearity=True),
        summary=("hidden_size", "num_layers"),
        macs=_recurrent_macs(1),
    ),
    NodeSpec(
        "GRUBlock",
        "recurrent",
        "GRU with a choice of output: `last` gives the final hidden state (B, H·dirs), `seq` the sequence.",
        _infer_rnn("GRUBlock"),
        emit_gru_block,
        params=_rnn_params()
        + (Choice("out", default="last", choices=("last", "seq"), doc="Final state or full sequence."),),
        summary=("hidden_size", "out"),
        macs=_recurrent_macs(3),
    ),
)
