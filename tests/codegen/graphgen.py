"""A hypothesis strategy for random *valid* TorchCanvas graphs, with the inputs to run them on.

The builder tracks, for every tensor it has made, the true sizes it will have at run time
(``dims``) and which of them the engine's shape inference can know (``known``: graphs without
Input shapes leave sizes, and even ranks, open). Each step picks an operation that is valid for
some tensor already built, so nearly every drawn graph validates: chains, branches, skip
connections and merges (Add/Mul/Concat, with reordered ports), 1D/2D/sequence/flat/token paths
with layout changes before recurrent layers, Split/Chunk outputs (``"split:0"``), disabled nodes,
built-in paper blocks, user composite blocks (nested, with int/float/bool/choice parameters),
several inputs and outputs, and node ids that stress naming (keywords, builtins, ``nn.Module``
attributes, ids that sanitise to the same identifier).

Sizes are tiny so that hundreds of graphs build and run in seconds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

# Ids that stress the naming of generated code; each is used at most once per graph.
AWKWARD_IDS = (
    "x",
    "self",
    "forward",
    "training",
    "parameters",
    "class",
    "lambda",
    "None",
    "print",
    "input",
    "type",
    "torch",
    "nn",
    "F",
    "super",
    "__init__",
    "hidden",
    "identity",
    "x_1",
    "Conv 1",
    "conv-1",
    "conv_1",
    "CONV_1",
    "Conv1",
    "1st layer",
    "ñandú",
    "Ω",
    "a.b",
    "_",
    "state_dict",
    "cuda",
    "to",
)

KINDS = ("1d", "2d", "seq", "flat")
ACTIVATIONS = ("ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "LeakyReLU", "ELU", "Mish", "Hardswish", "Identity")


@dataclass
class Value:
    """A tensor in the graph: where it comes from and what it looks like (batch axis excluded)."""

    ref: str  # edge source: a node id, or "id:k" for output k of a multi-output node
    kind: str  # "1d" (B,C,T), "2d" (B,C,H,W), "seq" (B,T,H), "flat" (B,F), "tokens" (B,T) int64
    dims: tuple[int, ...]  # true sizes at run time
    known: tuple[bool, ...] | None  # per axis: does shape inference know it? None: not even the rank
    node: str  # the node id

    def k(self, axis: int) -> bool:
        """Whether the engine knows the size of ``axis`` (an index into ``dims``)."""
        return self.known is not None and self.known[axis]

    @property
    def rank_known(self) -> bool:
        return self.known is not None

    def with_(self, ref: str, kind: str, dims: tuple[int, ...], known: tuple[bool, ...] | None) -> Value:
        return Value(ref, kind, tuple(dims), None if known is None else tuple(known), ref.split(":")[0])


@dataclass
class Case:
    """A drawn graph plus everything needed to run it."""

    graph: dict[str, Any]
    input_shapes: dict[str, list[int]] | None  # passed to generate()/analyze(), like --input-shape
    inputs: list[tuple[str, str, tuple[int, ...], int | None]]  # (node id, kind, true dims, vocab)
    features: set[str] = field(default_factory=set)  # what the graph exercises, for coverage checks


class HypothesisSource:
    """Choices drawn from hypothesis: examples shrink, and derandomised runs repeat exactly."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def choice(self, options: list[Any]) -> Any:
        return self.draw(st.sampled_from(options))


class RandomSource:
    """Independent, uniform choices from a seed: steady coverage of every feature across seeds."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, options: list[Any]) -> Any:
        return self.rng.choice(options)


class Builder:
    def __init__(self, source: HypothesisSource | RandomSource):
        self.source = source
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[list[str]] = []
        self.ids: set[str] = set()
        self.counter = 0
        self.pool: list[Value] = []  # every single-output value, in creation order
        self.consumed: set[str] = set()
        self.features: set[str] = set()
        self.composites: dict[str, dict[str, Any]] = {}
        self.composite_kinds: dict[str, str] = {}
        self.awkward = list(AWKWARD_IDS)
        self.vocab = 2
        self.long_ids = self.coin(0.08)
        self.paths: dict[str, int] = {}  # module path family -> members so far

    # -- helpers -------------------------------------------------------------------------------
    def choice(self, options):
        return self.source.choice(list(options))

    def integer(self, low: int, high: int) -> int:
        return self.source.integer(low, high)

    def coin(self, p: float = 0.5) -> bool:
        """True with probability ``p``; shrinks towards False (the plainer graph)."""
        return self.source.integer(0, 999) >= 1000 * (1 - p)

    def new_id(self, base: str) -> str:
        if self.long_ids or self.coin(0.06):  # long ids make long lines, formatted as ruff would
            self.features.add("long_id")
            base = f"{base}_{'with_a_rather_long_descriptive_name' * self.integer(1, 3)}"[:96]
        elif self.awkward and self.coin(0.12):
            candidate = self.awkward.pop(self.integer(0, len(self.awkward) - 1))
            if candidate not in self.ids:
                self.ids.add(candidate)
                self.features.add("awkward_id")
                return candidate
        while True:
            self.counter += 1
            candidate = f"{base}{self.counter}"
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate

    def add_node(self, base: str, type_: str, params: dict[str, Any], sources: list[str], **extra: Any) -> str:
        node_id = self.new_id(base)
        node = {"id": node_id, "type": type_, "params": params, **extra}
        if type_ != "Input" and self.coin(0.3):
            node["path"] = self.module_path()
        self.nodes.append(node)
        for source in sources:
            self.edges.append([source, node_id])
            self.consumed.add(source)
        self.features.add(type_)
        return node_id

    def module_path(self) -> str:
        """A fresh module path: numbered members of ``body`` or ``blocks.stage``, named ``named.layerN``, or
        numbered containers in a numbered one (``grid.0.1``).

        Whether a family becomes an nn.Sequential, a ModuleList or a plain container depends on how its
        members happen to be wired, which is what the equivalence tests then check.
        """
        self.features.add("module_path")
        family = self.choice(["body", "blocks.stage", "named", "grid"])
        index = self.paths.get(family, 0)
        self.paths[family] = index + 1
        if family == "grid":
            return f"grid.{index // 2}.{index % 2}"
        return f"named.layer{index + 1}" if family == "named" else f"{family}.{index}"

    def emit(self, value: Value) -> Value:
        self.pool.append(value)
        return value

    # -- inputs --------------------------------------------------------------------------------
    def add_input(self, mode: str) -> tuple[Value, tuple[str, str, tuple[int, ...], int | None]]:
        kind = self.choice(("1d", "2d", "2d", "seq", "flat", "tokens"))
        dims = {
            "1d": lambda: (self.integer(1, 4), self.integer(4, 8)),
            "2d": lambda: (self.integer(1, 4), self.integer(4, 7), self.integer(4, 7)),
            "seq": lambda: (self.integer(2, 5), self.integer(2, 6)),
            "flat": lambda: (self.integer(2, 8),),
            "tokens": lambda: (self.integer(3, 6),),
        }[kind]()
        params: dict[str, Any] = {}
        vocab = None
        if kind == "seq":
            params["layout"] = "BTH"
        if kind == "tokens":
            params["dtype"] = "int64"
            vocab = self.integer(3, 12)
            if self.coin():
                params["vocab_size"] = vocab
        if mode == "graph":
            params["shape"] = list(dims)
        node_id = self.add_node("inp", "Input", params, [])
        known = tuple(True for _ in dims) if mode != "lazy" else None
        if kind == "seq" and mode == "lazy":
            known = (False, False)  # the stated BTH layout fixes the rank, not the sizes
        value = Value(node_id, kind, dims, known, node_id)
        self.features.add(f"input_{mode}")
        return value, (node_id, kind, dims, vocab)

    # -- unary operations ----------------------------------------------------------------------
    def unary(self, x: Value) -> Value | None:
        """Apply one random operation that fits ``x``; None when the drawn one does not fit."""
        ops = {
            "1d": self.ops_1d,
            "2d": self.ops_2d,
            "seq": self.ops_seq,
            "flat": self.ops_flat,
            "tokens": self.ops_tokens,
        }[x.kind]
        name, op = self.choice(ops(x))
        if x.kind != "tokens" and self.coin(0.06):
            return self.disabled(x, name)
        return op(x)

    def disabled(self, x: Value, type_: str) -> Value:
        """A node switched off for an ablation: identity, whatever its type and params say."""
        options: dict[str, dict[str, Any]] = {
            "Conv2d": {"out_channels": 7, "kernel_size": 5},
            "Linear": {"out_features": 3},
            "GRU": {"hidden_size": 5},
            "Split": {"sections": [1, 1]},
            "ResidualBlock": {"out_channels": 9},
            "ReLU": {},
        }
        for name, block in self.composites.items():
            options[name] = {p["name"]: 1 for p in block["params"] if "default" not in p}
        type_ = type_ if type_ in options else self.choice(sorted(options))
        node_id = self.add_node("off", type_, options[type_], [x.ref], disabled=True)
        self.features.add("disabled")
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def activation(self, x: Value) -> Value:
        type_ = self.choice(ACTIVATIONS)
        params: dict[str, Any] = {}
        if type_ == "LeakyReLU" and self.coin():
            params["negative_slope"] = self.choice((0.2, 0.05))
        if type_ == "GELU" and self.coin():
            params["approximate"] = "tanh"
        if type_ == "ELU" and self.coin():
            params["alpha"] = 0.5
        node_id = self.add_node("act", type_, params, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def dropout(self, x: Value) -> Value:
        params = {"p": self.choice((0.1, 0.5))} if self.coin() else {}
        node_id = self.add_node("drop", "Dropout", params, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def softmax(self, x: Value) -> Value | None:
        if not x.rank_known:
            return None
        rank = len(x.dims) + 1
        dim = self.choice([d for d in range(-rank, rank) if d not in (0, -rank)])
        node_id = self.add_node("softmax", self.choice(("Softmax", "LogSoftmax")), {"dim": dim}, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def common(self) -> list[tuple[str, Any]]:
        return [
            ("ReLU", self.activation),
            ("ReLU", self.activation),
            ("Dropout", self.dropout),
            ("Softmax", self.softmax),
        ]

    # 1D (B, C, T) -------------------------------------------------------------------------------
    def ops_1d(self, x: Value) -> list[tuple[str, Any]]:
        return [
            *self.common(),
            ("Conv1d", self.conv),
            ("Conv1d", self.conv),
            ("ConvTranspose1d", self.conv_transpose),
            ("BatchNorm1d", self.batchnorm),
            ("InstanceNorm1d", self.instancenorm),
            ("MaxPool1d", self.window_pool),
            ("AdaptiveAvgPool1d", self.adaptive_pool),
            ("GlobalAvgPool", self.global_pool),
            ("Flatten", self.flatten),
            ("Permute_BCT_to_BTH", self.to_sequence),
            ("Permute_BCT_to_BTH", self.to_sequence),
            ("SEBlock", self.se_block),
            ("GroupNorm", self.groupnorm),
            ("LocalResponseNorm", self.lrn),
            ("Upsample", self.upsample),
            ("Split", self.split),
            ("Unsqueeze", self.unsqueeze),
            ("Composite", self.composite),
        ]

    # 2D (B, C, H, W) ----------------------------------------------------------------------------
    def ops_2d(self, x: Value) -> list[tuple[str, Any]]:
        return [
            *self.common(),
            ("Conv2d", self.conv),
            ("Conv2d", self.conv),
            ("ConvTranspose2d", self.conv_transpose),
            ("BatchNorm2d", self.batchnorm),
            ("InstanceNorm2d", self.instancenorm),
            ("GroupNorm", self.groupnorm),
            ("LocalResponseNorm", self.lrn),
            ("Dropout2d", self.dropout2d),
            ("MaxPool2d", self.window_pool),
            ("AdaptiveAvgPool2d", self.adaptive_pool),
            ("GlobalAvgPool", self.global_pool),
            ("Flatten", self.flatten),
            ("ZeroPad2d", self.zero_pad),
            ("PixelShuffle", self.pixel_shuffle),
            ("Upsample", self.upsample),
            ("Transpose", self.transpose_2d),
            ("SEBlock", self.se_block),
            ("ResidualBlock", self.residual_block),
            ("ResidualBlock", self.residual_block),
            ("Bottleneck", self.bottleneck),
            ("VGGBlock", self.vgg_block),
            ("VGGBlock", self.vgg_block),
            ("InceptionBlock", self.inception),
            ("DenseLayer", self.dense_layer),
            ("MBConv", self.mbconv),
            ("InvertedResidual", self.inverted_residual),
            ("Split", self.split),
            ("Chunk", self.chunk),
            ("Composite", self.composite),
            ("Composite", self.composite),
            ("Composite", self.composite),
        ]

    # Sequence (B, T, H) -------------------------------------------------------------------------
    def ops_seq(self, x: Value) -> list[tuple[str, Any]]:
        return [
            *self.common(),
            ("GRU", self.rnn),
            ("GRU", self.rnn),
            ("GRUBlock", self.gru_block),
            ("MultiheadAttention", self.attention),
            ("TransformerEncoderLayer", self.encoder_layer),
            ("TransformerEncoderBlock", self.transformer_block),
            ("PositionalEncoding", self.positional_encoding),
            ("LayerNorm", self.layernorm),
            ("Linear", self.linear),
            ("Linear", self.linear),
            ("Permute_BTH_to_BCT", self.to_channels),
            ("GlobalAvgPool", self.global_pool),
            ("Split", self.split),
            ("Composite", self.composite),
        ]

    # Flat (B, F) ----------------------------------------------------------------------------------
    def ops_flat(self, x: Value) -> list[tuple[str, Any]]:
        return [
            *self.common(),
            ("Linear", self.linear),
            ("Linear", self.linear),
            ("Linear", self.linear),
            ("BatchNorm1d", self.batchnorm),
            ("LayerNorm", self.layernorm),
            ("Unsqueeze", self.unsqueeze),
            ("Reshape", self.reshape),
            ("Chunk", self.chunk),
            ("Composite", self.composite),
        ]

    def ops_tokens(self, x: Value) -> list[tuple[str, Any]]:
        return [("Embedding", self.embedding)]

    # -- the operations ------------------------------------------------------------------------
    def conv(self, x: Value) -> Value | None:
        nd = 1 if x.kind == "1d" else 2
        if not x.rank_known and self.coin(0.3):
            pass  # a Lazy conv on an input of unknown rank
        channels, spatial = x.dims[0], x.dims[1:]
        out = self.integer(1, 6)
        kernel = self.integer(1, 3)
        stride = self.choice((1, 1, 2))
        dilation = self.choice((1, 1, 2))
        padding: Any = self.choice((0, 1, "same", "valid")) if stride == 1 else self.choice((0, 1))
        groups = 1
        if self.coin(0.15):
            common = [g for g in (2, 3) if channels % g == 0 and out % g == 0]
            if common:
                groups = common[0]
        params: dict[str, Any] = {"out_channels": out}
        if nd == 2 and self.coin(0.2):
            params["kernel_size"] = [kernel, self.integer(1, 3)]
        elif kernel != 3 or self.coin():
            params["kernel_size"] = kernel
        if stride != 1:
            params["stride"] = stride
        if padding != 0:
            params["padding"] = padding
        if dilation != 1:
            params["dilation"] = dilation
        if groups != 1:
            params["groups"] = groups
        if self.coin(0.2):
            params["bias"] = False
        kernels = params.get("kernel_size", 3)
        kernels = kernels if isinstance(kernels, list) else [kernels] * nd
        sizes = []
        for size, k in zip(spatial, kernels):
            if padding == "same":
                sizes.append(size)
                continue
            pad = 0 if padding == "valid" else padding
            span = dilation * (k - 1) + 1
            if size + 2 * pad < span:
                return None
            sizes.append((size + 2 * pad - span) // stride + 1)
        node_id = self.add_node("conv", f"Conv{nd}d", params, [x.ref])
        known = (True, *(x.k(i + 1) for i in range(nd)))
        return self.emit(x.with_(node_id, x.kind, (out, *sizes), known))

    def conv_transpose(self, x: Value) -> Value | None:
        nd = 1 if x.kind == "1d" else 2
        out, kernel, stride = self.integer(1, 4), self.integer(1, 3), self.choice((1, 2))
        padding = self.choice((0, 1)) if kernel > 1 else 0
        output_padding = self.choice((0, 1)) if stride == 2 else 0
        params: dict[str, Any] = {"out_channels": out, "kernel_size": kernel, "stride": stride, "padding": padding}
        if output_padding:
            params["output_padding"] = output_padding
        sizes = [(s - 1) * stride - 2 * padding + (kernel - 1) + output_padding + 1 for s in x.dims[1:]]
        if min(sizes) < 1 or max(sizes) > 16:
            return None
        node_id = self.add_node("deconv", f"ConvTranspose{nd}d", params, [x.ref])
        known = (True, *(x.k(i + 1) for i in range(nd)))
        return self.emit(x.with_(node_id, x.kind, (out, *sizes), known))

    def batchnorm(self, x: Value) -> Value:
        type_ = "BatchNorm2d" if x.kind == "2d" else "BatchNorm1d"
        params: dict[str, Any] = {}
        if self.coin(0.3):
            params["eps"] = 0.001
        if self.coin(0.2):
            params["momentum"] = 0.3
        if self.coin(0.2):
            params["affine"] = False
        node_id = self.add_node("bn", type_, params, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def instancenorm(self, x: Value) -> Value | None:
        if math.prod(x.dims[1:]) < 2:
            return None
        type_ = "InstanceNorm2d" if x.kind == "2d" else "InstanceNorm1d"
        params = {"affine": True} if x.k(0) and self.coin() else {}
        node_id = self.add_node("inorm", type_, params, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def groupnorm(self, x: Value) -> Value | None:
        if not x.k(0):
            return None
        groups = self.choice([g for g in (1, 2, 3) if x.dims[0] % g == 0])
        if x.dims[0] // groups * math.prod(x.dims[1:]) < 2:
            return None  # one value per group: PyTorch refuses it (at batch size 1, as in build_model)
        node_id = self.add_node("gn", "GroupNorm", {"num_groups": groups}, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def lrn(self, x: Value) -> Value:
        node_id = self.add_node("lrn", "LocalResponseNorm", {"size": self.integer(1, 3)}, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def dropout2d(self, x: Value) -> Value:
        node_id = self.add_node("drop2d", "Dropout2d", {"p": 0.2}, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def window_pool(self, x: Value) -> Value | None:
        nd = 1 if x.kind == "1d" else 2
        kernel = self.integer(1, 3)
        stride = self.choice((None, 1, 2))
        padding = self.choice((0, kernel // 2))
        ceil = self.coin(0.2)
        step = stride or kernel
        sizes = []
        for size in x.dims[1:]:
            if size + 2 * padding < kernel:
                return None
            numerator = size + 2 * padding - kernel
            out = (-(-numerator // step) if ceil else numerator // step) + 1
            if ceil and (out - 1) * step >= size + padding:
                out -= 1
            sizes.append(out)
        params: dict[str, Any] = {"kernel_size": kernel}
        if stride is not None:
            params["stride"] = stride
        if padding:
            params["padding"] = padding
        if ceil:
            params["ceil_mode"] = True
        type_ = f"{self.choice(('Max', 'Avg'))}Pool{nd}d"
        node_id = self.add_node("pool", type_, params, [x.ref])
        return self.emit(x.with_(node_id, x.kind, (x.dims[0], *sizes), (x.k(0), *(x.k(i + 1) for i in range(nd)))))

    def adaptive_pool(self, x: Value) -> Value:
        nd = 1 if x.kind == "1d" else 2
        size = self.integer(1, 3)
        type_ = f"Adaptive{self.choice(('Avg', 'Max'))}Pool{nd}d"
        node_id = self.add_node("apool", type_, {"output_size": size}, [x.ref])
        return self.emit(x.with_(node_id, x.kind, (x.dims[0], *(size,) * nd), (x.k(0), *(True,) * nd)))

    def global_pool(self, x: Value) -> Value:
        node_id = self.add_node("gap", self.choice(("GlobalAvgPool", "GAP")), {}, [x.ref])
        # A sequence whose rank the engine does not know is averaged like channels-first: over axis 2.
        over_time = x.kind == "seq" and x.rank_known
        features = x.dims[-1] if over_time else x.dims[0]
        known = x.k(len(x.dims) - 1 if over_time else 0)
        return self.emit(x.with_(node_id, "flat", (features,), (known,)))

    def flatten(self, x: Value) -> Value:
        if x.kind == "2d" and self.coin(0.4):
            node_id = self.add_node("flat", "Flatten", {"start_dim": 2}, [x.ref])
            known = (x.k(0), x.k(1) and x.k(2))
            return self.emit(x.with_(node_id, "1d", (x.dims[0], x.dims[1] * x.dims[2]), known))
        node_id = self.add_node("flat", "Flatten", {}, [x.ref])
        known = x.known is not None and all(x.known)
        return self.emit(x.with_(node_id, "flat", (math.prod(x.dims),), (known,)))

    def to_sequence(self, x: Value) -> Value:
        if self.coin(0.2):
            node_id = self.add_node("perm", "Permute", {"dims": [0, 2, 1]}, [x.ref])
        elif self.coin(0.1):
            node_id = self.add_node("perm", "Transpose", {"dim0": 1, "dim1": 2}, [x.ref])
        else:
            node_id = self.add_node("perm", "Permute_BCT_to_BTH", {}, [x.ref])
        known = (x.k(1), x.k(0)) if x.rank_known else (False, False)
        return self.emit(x.with_(node_id, "seq", (x.dims[1], x.dims[0]), known))

    def to_channels(self, x: Value) -> Value:
        node_id = self.add_node("perm", "Permute_BTH_to_BCT", {}, [x.ref])
        known = (x.k(1), x.k(0)) if x.rank_known else (False, False)
        return self.emit(x.with_(node_id, "1d", (x.dims[1], x.dims[0]), known))

    def transpose_2d(self, x: Value) -> Value:
        if self.coin():
            node_id = self.add_node("swap", "Transpose", {"dim0": 2, "dim1": 3}, [x.ref])
        else:
            node_id = self.add_node("swap", "Permute", {"dims": [0, 1, 3, 2]}, [x.ref])
        c, h, w = x.dims
        known = None if not x.rank_known else (x.k(0), x.k(2), x.k(1))
        if not x.rank_known:
            known = (False, False, False)
        return self.emit(x.with_(node_id, "2d", (c, w, h), known))

    def se_block(self, x: Value) -> Value | None:
        if not x.k(0):
            return None
        reduction = self.integer(1, max(1, x.dims[0]))
        params = {"reduction": reduction} if reduction != 16 else {}
        node_id = self.add_node("se", "SEBlock", params, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def residual_block(self, x: Value) -> Value | None:
        if not x.k(0):
            return None
        out = self.choice((x.dims[0], self.integer(1, 5)))
        kernel, stride = self.choice((1, 3)), self.choice((1, 1, 2))
        params: dict[str, Any] = {"out_channels": out}
        if kernel != 3:
            params["kernel_size"] = kernel
        if stride != 1:
            params["stride"] = stride
        node_id = self.add_node("res", "ResidualBlock", params, [x.ref])
        sizes = tuple((s - 1) // stride + 1 for s in x.dims[1:])
        return self.emit(x.with_(node_id, "2d", (out, *sizes), (True, x.k(1), x.k(2))))

    def bottleneck(self, x: Value) -> Value | None:
        if not x.k(0):
            return None
        expansion = self.choice((1, 2, 4))
        out = expansion * self.integer(1, 2)
        stride = self.choice((1, 2))
        params: dict[str, Any] = {"out_channels": out, "expansion": expansion}
        if stride != 1:
            params["stride"] = stride
        if self.coin(0.3):  # ResNeXt-style: out // expansion * 32 // 64 * 2 keeps the inner width at least 1
            params |= {"groups": 2, "width_per_group": 32 * self.integer(2, 4)}
        node_id = self.add_node("bottleneck", "Bottleneck", params, [x.ref])
        sizes = tuple((s - 1) // stride + 1 for s in x.dims[1:])
        return self.emit(x.with_(node_id, "2d", (out, *sizes), (True, x.k(1), x.k(2))))

    def vgg_block(self, x: Value) -> Value | None:
        c1, c2 = self.integer(1, 4), self.integer(1, 4)
        kernel, convs, pool, lrn = self.choice((1, 3, 2)), self.choice((1, 2)), self.coin(0.7), self.coin(0.2)
        growth = 0 if kernel % 2 else convs
        sizes = tuple(s + growth for s in x.dims[1:])
        if pool:
            if min(sizes) < 2:
                return None
            sizes = tuple(s // 2 for s in sizes)
        params: dict[str, Any] = {"c1": c1, "c2": c2}
        if kernel != 3:
            params["k"] = kernel
        if not pool:
            params["pool"] = False
        if lrn:
            params["lrn"] = True
        if self.coin(0.3):
            params["batch_norm"] = True
        if convs != 2:
            params["convs"] = convs
        node_id = self.add_node("vgg", "VGGBlock", params, [x.ref])
        channels = c1 if convs == 1 else c2
        known = (True, x.k(1), x.k(2))
        return self.emit(x.with_(node_id, "2d", (channels, *sizes), known))

    def inception(self, x: Value) -> Value | None:
        if not x.k(0):
            return None
        params = {name: self.integer(1, 3) for name in ("c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj")}
        node_id = self.add_node("inception", "InceptionBlock", params, [x.ref])
        channels = params["c1"] + params["c3"] + params["c5"] + params["pool_proj"]
        return self.emit(x.with_(node_id, "2d", (channels, *x.dims[1:]), (True, x.k(1), x.k(2))))

    def dense_layer(self, x: Value) -> Value | None:
        if not x.k(0):
            return None
        growth = self.integer(1, 3)
        params = {"growth_rate": growth, "bn_size": self.integer(1, 2)}
        node_id = self.add_node("dense", "DenseLayer", params, [x.ref])
        return self.emit(x.with_(node_id, "2d", (x.dims[0] + growth, *x.dims[1:]), x.known))

    def mbconv(self, x: Value) -> Value | None:
        if not x.k(0):
            return None
        out, stride = self.choice((x.dims[0], self.integer(1, 4))), self.choice((1, 2))
        params: dict[str, Any] = {"out_channels": out, "expand_ratio": self.choice((1, 2)), "stride": stride}
        if self.coin(0.3):
            params["se_ratio"] = 0.0
        if self.coin(0.3):  # drops samples of the residual branch in training, when there is one
            params["stochastic_depth_prob"] = 0.5
        node_id = self.add_node("mbconv", "MBConv", params, [x.ref])
        sizes = tuple((s - 1) // stride + 1 for s in x.dims[1:])
        return self.emit(x.with_(node_id, "2d", (out, *sizes), (True, x.k(1), x.k(2))))

    def inverted_residual(self, x: Value) -> Value | None:
        if not x.k(0):
            return None
        out, stride = self.choice((x.dims[0], self.integer(1, 4))), self.choice((1, 2))
        expanded = self.choice((x.dims[0], self.integer(1, 12)))  # the input's width skips the expansion
        params: dict[str, Any] = {"expanded_channels": expanded, "out_channels": out, "stride": stride}
        if self.coin():
            params["use_se"] = True
        if self.coin():
            params["activation"] = "hardswish"
        node_id = self.add_node("inverted", "InvertedResidual", params, [x.ref])
        sizes = tuple((s - 1) // stride + 1 for s in x.dims[1:])
        return self.emit(x.with_(node_id, "2d", (out, *sizes), (True, x.k(1), x.k(2))))

    def zero_pad(self, x: Value) -> Value:
        padding = self.choice((1, [1, 0, 0, 2]))
        left, right, top, bottom = padding if isinstance(padding, list) else (padding,) * 4
        node_id = self.add_node("pad", "ZeroPad2d", {"padding": padding}, [x.ref])
        c, h, w = x.dims
        known = (x.k(0), x.k(1), x.k(2)) if x.rank_known else (False, False, False)
        return self.emit(x.with_(node_id, "2d", (c, h + top + bottom, w + left + right), known))

    def pixel_shuffle(self, x: Value) -> Value | None:
        if x.dims[0] % 4 or not x.k(0):
            return None
        node_id = self.add_node("shuffle", "PixelShuffle", {"upscale_factor": 2}, [x.ref])
        c, h, w = x.dims
        return self.emit(x.with_(node_id, "2d", (c // 4, h * 2, w * 2), (True, x.k(1), x.k(2))))

    def upsample(self, x: Value) -> Value | None:
        if max(x.dims[1:]) > 8:
            return None
        modes = ("nearest", "linear") if x.kind == "1d" else ("nearest", "bilinear", "bicubic")
        mode = self.choice(modes)
        scale = self.choice((2.0, 1.5)) if mode == "nearest" else 2.0
        params: dict[str, Any] = {"scale_factor": scale}
        if mode != "nearest":
            params["mode"] = mode
            if self.coin():
                params["align_corners"] = True
        node_id = self.add_node("up", "Upsample", params, [x.ref])
        sizes = tuple(math.floor(s * scale) for s in x.dims[1:])
        known = (x.k(0), *(x.k(i + 1) for i in range(len(sizes)))) if x.rank_known else None
        return self.emit(x.with_(node_id, x.kind, (x.dims[0], *sizes), known))

    def unsqueeze(self, x: Value) -> Value | None:
        if not x.rank_known:
            return None
        if x.kind == "flat":
            dim = self.choice((1, -1, 2))
            node_id = self.add_node("unsq", "Unsqueeze", {"dim": dim}, [x.ref])
            dims = (1, x.dims[0]) if dim == 1 else (x.dims[0], 1)
            known = (True, x.k(0)) if dim == 1 else (x.k(0), True)
            return self.emit(x.with_(node_id, "1d", dims, known))
        node_id = self.add_node("unsq", "Unsqueeze", {"dim": 1}, [x.ref])
        return self.emit(x.with_(node_id, "2d", (1, *x.dims), (True, *x.known)))  # type: ignore[misc]

    def reshape(self, x: Value) -> Value | None:
        features = x.dims[0]
        factors = [f for f in (2, 3) if features % f == 0]
        if not factors:
            return None
        f = self.choice(factors)
        shape = self.choice(([f, -1], [f, features // f], [-1, features // f]))
        node_id = self.add_node("reshape", self.choice(("Reshape", "View")), {"shape": shape}, [x.ref])
        known = tuple(s != -1 or x.k(0) for s in shape)
        return self.emit(x.with_(node_id, "1d", (f, features // f), known))

    def split(self, x: Value) -> Value | None:
        axis = len(x.dims) - 1 if x.kind == "seq" else 0
        size = x.dims[axis]
        if size < 2 or not x.rank_known:
            return None
        cut = self.integer(1, size - 1)
        sections = [cut, size - cut]
        dim = axis + 1 if self.coin() else axis - len(x.dims)
        params: dict[str, Any] = {"sections": sections}
        if dim != 1:
            params["dim"] = dim
        node_id = self.add_node("split", "Split", params, [x.ref])
        return self.pieces(x, node_id, axis, sections)

    def chunk(self, x: Value) -> Value | None:
        if not x.k(0) or x.dims[0] % 2:
            return None
        node_id = self.add_node("chunk", "Chunk", {"chunks": 2}, [x.ref])
        return self.pieces(x, node_id, 0, [x.dims[0] // 2] * 2)

    def pieces(self, x: Value, node_id: str, axis: int, sections: list[int]) -> Value:
        self.features.add("multi_output")
        values = []
        for k, size in enumerate(sections):
            dims = tuple(size if a == axis else d for a, d in enumerate(x.dims))
            known = tuple(True if a == axis else x.k(a) for a in range(len(x.dims)))
            values.append(x.with_(f"{node_id}:{k}", x.kind, dims, known))
        # Consume every piece but the last now (so none is dead), in a random order.
        for piece in values[:-1]:
            self.activation(piece)
        return values[-1]

    def rnn(self, x: Value) -> Value | None:
        if not x.k(1):
            return None
        type_ = self.choice(("GRU", "LSTM", "RNN"))
        hidden = self.integer(1, 5)
        params: dict[str, Any] = {"hidden_size": hidden}
        if self.coin(0.3):
            params["num_layers"] = 2
            if self.coin():
                params["dropout"] = 0.1
        bidirectional = self.coin(0.3)
        if bidirectional:
            params["bidirectional"] = True
        if self.coin(0.15):
            params["bias"] = False
        if type_ == "RNN" and self.coin():
            params["nonlinearity"] = "relu"
        node_id = self.add_node("rnn", type_, params, [x.ref])
        out = hidden * (2 if bidirectional else 1)
        return self.emit(x.with_(node_id, "seq", (x.dims[0], out), (x.k(0), True)))

    def gru_block(self, x: Value) -> Value | None:
        if not x.k(1):
            return None
        hidden, bidirectional, last = self.integer(1, 5), self.coin(0.3), self.coin(0.7)
        params: dict[str, Any] = {"hidden_size": hidden}
        if bidirectional:
            params["bidirectional"] = True
        if self.coin(0.3):
            params["num_layers"] = 2
        if not last:
            params["out"] = "seq"
        node_id = self.add_node("gru", "GRUBlock", params, [x.ref])
        out = hidden * (2 if bidirectional else 1)
        if last:
            return self.emit(x.with_(node_id, "flat", (out,), (True,)))
        return self.emit(x.with_(node_id, "seq", (x.dims[0], out), (x.k(0), True)))

    def heads(self, x: Value) -> int | None:
        if not x.k(1):
            return None
        return self.choice([h for h in (1, 2, 3) if x.dims[1] % h == 0])

    def attention(self, x: Value) -> Value | None:
        heads = self.heads(x)
        if heads is None:
            return None
        node_id = self.add_node("mha", "MultiheadAttention", {"num_heads": heads}, [x.ref])
        return self.emit(x.with_(node_id, "seq", x.dims, x.known))

    def encoder_layer(self, x: Value) -> Value | None:
        heads = self.heads(x)
        if heads is None:
            return None
        params: dict[str, Any] = {"nhead": heads, "dim_feedforward": self.integer(2, 8)}
        if self.coin():
            params["norm_first"] = True
        if self.coin():
            params["activation"] = "gelu"
        node_id = self.add_node("encoder", "TransformerEncoderLayer", params, [x.ref])
        return self.emit(x.with_(node_id, "seq", x.dims, x.known))

    def transformer_block(self, x: Value) -> Value | None:
        heads = self.heads(x)
        if heads is None:
            return None
        ratios = [r for r in (1.0, 2.0, 0.5) if int(x.dims[1] * r) >= 1]
        params: dict[str, Any] = {"num_heads": heads, "mlp_ratio": self.choice(ratios)}
        if self.coin(0.3):
            params["eps"] = 1e-6  # torchvision's ViT
        node_id = self.add_node("vit", "TransformerEncoderBlock", params, [x.ref])
        return self.emit(x.with_(node_id, "seq", x.dims, x.known))

    def positional_encoding(self, x: Value) -> Value | None:
        if not x.k(1):
            return None
        params: dict[str, Any] = {"max_len": x.dims[0] + self.integer(0, 2)}  # the sequence's length, or more
        if self.coin(0.3):
            params["dropout"] = 0.1
        node_id = self.add_node("pos", "PositionalEncoding", params, [x.ref])
        return self.emit(x.with_(node_id, "seq", x.dims, x.known))

    def layernorm(self, x: Value) -> Value | None:
        last = len(x.dims) - 1
        if not x.k(last):
            return None
        params = {"eps": 1e-6} if self.coin(0.3) else {}
        node_id = self.add_node("ln", "LayerNorm", params, [x.ref])
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))

    def linear(self, x: Value) -> Value:
        out = self.integer(1, 6)
        params: dict[str, Any] = {"out_features": out}
        if self.coin(0.15):
            params["bias"] = False
        node_id = self.add_node("fc", self.choice(("Linear", "Linear", "Dense")), params, [x.ref])
        dims = (*x.dims[:-1], out)
        known = None if not x.rank_known else (*x.known[:-1], True)  # type: ignore[index]
        return self.emit(x.with_(node_id, x.kind, dims, known))

    def embedding(self, x: Value) -> Value:
        size = self.vocab + self.integer(0, 3)
        dim = self.integer(2, 6)
        params: dict[str, Any] = {"num_embeddings": size, "embedding_dim": dim}
        if self.coin(0.3):
            params["padding_idx"] = 0
        node_id = self.add_node("embed", "Embedding", params, [x.ref])
        return self.emit(x.with_(node_id, "seq", (x.dims[0], dim), (x.k(0), True)))

    # -- user composite blocks -------------------------------------------------------------------
    def composite(self, x: Value) -> Value | None:
        """An instance of a user block (defining it on first use); the block may contain another."""
        kind = x.kind
        if not x.rank_known or not x.k(0 if kind != "seq" else 1):
            template = "Swish"  # needs no input size: fine on tensors of unknown size, even rank
            kind = "any" if not x.rank_known else kind
        elif self.coin(0.15):
            template = "Swish"
        elif kind == "2d":
            template = self.choice(("ConvUnit", "Stage", "ResUnit", "Stage", "SplitUnit", "Stage", "ConvUnit"))
        elif kind == "1d":
            template = "Conv1dUnit"
        elif kind == "seq":
            template = self.choice(("Mlp", "SeqRes"))
        else:
            template = "Head"
        name = self.define(template, kind)
        channels = x.dims[-1] if x.kind in ("seq", "flat") else x.dims[0]
        params, out_channels = self.instance_params(template, channels)
        node_id = self.add_node("block", name, params, [x.ref])
        self.features.add("composite")
        dims = (*x.dims[:-1], out_channels) if x.kind in ("seq", "flat") else (out_channels, *x.dims[1:])
        return self.emit(x.with_(node_id, x.kind, dims, x.known))

    def instance_params(self, template: str, channels: int) -> tuple[dict[str, Any], int]:
        if template == "ConvUnit":
            c = self.integer(1, 4)
            params: dict[str, Any] = {"c": c}
            if self.coin():
                params["approx"] = "tanh"
            if self.coin():
                params["bias"] = False
            if self.coin():
                params["slope"] = 0.3
            return params, c
        if template == "ResUnit":
            return {"c": channels}, channels
        if template == "Stage":
            c = self.integer(1, 3)
            return ({"c": c} if c != 2 or self.coin() else {}), c * 2
        if template == "SplitUnit":
            c = self.integer(1, 3)
            return {"c": c}, 1 + c
        if template == "Conv1dUnit":
            c, k = self.integer(1, 4), self.choice((1, 3))
            return ({"c": c, "k": k} if k != 3 else {"c": c}), c
        if template == "Mlp":
            h = self.integer(1, 5)
            params = {"h": h}
            if self.coin():
                params["p"] = 0.25
            return params, h
        if template == "SeqRes":
            return {"h": channels}, channels
        if template == "Swish":
            return ({"p": 0.3} if self.coin() else {}), channels
        h = self.integer(1, 5)
        return {"h": self.integer(1, 4), "o": h}, h

    def define(self, template: str, kind: str) -> str:
        name = f"{template}{kind.upper()}" if template in ("Head", "Swish") else template
        if name in self.composites:
            return name
        body = COMPOSITE_TEMPLATES[template]()
        if template == "Stage":
            self.define("ConvUnit", kind)
        self.composites[name] = body
        self.composite_kinds[name] = kind
        if template == "Stage":
            self.features.add("nested_composite")
        return name

    # -- merges ----------------------------------------------------------------------------------
    def merge(self, current: Value) -> Value | None:
        """Add/Mul/Concat/Bilinear of tensors built so far (skip connections and branches)."""
        op = self.choice(("Add", "Mul", "Concat", "Bilinear", "Broadcast"))
        for attempt in (op, "Add", "Concat"):
            merged = self.merge_with(attempt, current)
            if merged is not None:
                return merged
        return None

    def merge_with(self, op: str, current: Value) -> Value | None:
        candidates = [v for v in self.pool if v.kind != "tokens" and v.rank_known]
        if op == "Bilinear":
            flats = [v for v in candidates if v.kind == "flat" and v.k(0)]
            if not flats:
                return None
            a, b = self.choice(flats), self.choice(flats)
            out = self.integer(1, 4)
            node_id = self.new_id("bilinear")
            self.nodes.append({"id": node_id, "type": "Bilinear", "params": {"out_features": out}})
            if self.coin():  # named ports, listed in reverse order
                self.edges += [[b.ref, node_id, "x2"], [a.ref, node_id, "x1"]]
            else:
                self.edges += [[a.ref, node_id], [b.ref, node_id]]
            self.consumed |= {a.ref, b.ref}
            self.features.add("Bilinear")
            return self.emit(a.with_(node_id, "flat", (out,), (True,)))
        if op == "Broadcast":
            return self.broadcast(candidates)
        groups: dict[tuple[Any, ...], list[Value]] = {}
        for v in candidates:
            if op == "Concat":
                axis = self.concat_axis(v)
                key = (v.kind, axis, tuple(d for a, d in enumerate(v.dims) if a != axis))
            else:
                key = (v.kind, v.dims)
            groups.setdefault(key, []).append(v)
        options = [g for g in groups.values() if len(g) >= 2]
        if not options:
            return None
        with_current = [g for g in options if any(v.ref == current.ref for v in g)]
        group = self.choice(with_current if with_current and self.coin(0.7) else options)
        count = 3 if len(group) >= 3 and self.coin(0.3) else 2
        picked = [group.pop(self.integer(0, len(group) - 1)) for _ in range(count)]
        node_id = self.new_id(op.lower())
        first = picked[0]
        if op == "Concat":
            axis = self.concat_axis(first)
            dim = axis + 1 if self.coin(0.7) else axis - len(first.dims)
            params = {"dim": dim} if dim != 1 else {}
            total = sum(v.dims[axis] for v in picked)
            dims = tuple(total if a == axis else d for a, d in enumerate(first.dims))
            known = tuple(
                all(v.k(a) for v in picked) if a == axis else any(v.k(a) for v in picked)
                for a in range(len(first.dims))
            )
        else:
            params = {}
            dims = first.dims
            known = tuple(any(v.k(a) for v in picked) for a in range(len(first.dims)))
        type_ = {"Add": self.choice(("Add", "Add", "Sum")), "Mul": "Mul", "Concat": "Concat"}[op]
        self.nodes.append({"id": node_id, "type": type_, "params": params})
        if self.coin(0.25):  # explicit argument positions, listed in reverse
            self.features.add("numbered_ports")
            for position, v in reversed(list(enumerate(picked))):
                self.edges.append([v.ref, node_id, str(position)])
        else:
            self.edges += [[v.ref, node_id] for v in picked]
        self.consumed |= {v.ref for v in picked}
        self.features.add(op)
        return self.emit(first.with_(node_id, first.kind, dims, known))

    def concat_axis(self, v: Value) -> int:
        return len(v.dims) - 1 if v.kind in ("seq", "flat") else 0

    def broadcast(self, candidates: list[Value]) -> Value | None:
        """``x * gate`` where the gate is (B, C, 1, ...) from adaptive pooling: a squeeze-excite shape."""
        options = [v for v in candidates if v.kind in ("1d", "2d") and v.k(0)]
        if not options:
            return None
        x = self.choice(options)
        nd = len(x.dims) - 1
        pooled = self.add_node("squeeze", f"AdaptiveAvgPool{nd}d", {"output_size": 1}, [x.ref])
        gate = self.add_node("gate", "Sigmoid", {}, [pooled])
        node_id = self.new_id("scale")
        self.nodes.append({"id": node_id, "type": "Mul", "params": {}})
        order = [x.ref, gate] if self.coin() else [gate, x.ref]
        self.edges += [[order[0], node_id], [order[1], node_id]]
        self.consumed |= {x.ref, gate}
        self.features.add("broadcast_mul")
        return self.emit(x.with_(node_id, x.kind, x.dims, x.known))


# ---------------------------------------------------------------------------------------------
# User composite templates: bodies written with "$param" references


def _unit(nodes: list[dict[str, Any]], params: list[dict[str, Any]], doc: str = "") -> dict[str, Any]:
    ids = [n["id"] for n in nodes]
    edges = [[a, b] for a, b in zip(ids, ids[1:])]
    block = {"params": params, "nodes": nodes, "edges": edges, "inputs": [ids[0]], "outputs": [ids[-1]]}
    if doc:
        block["doc"] = doc
    return block


def _conv_unit() -> dict[str, Any]:
    return _unit(
        [
            {"id": "inp", "type": "Input", "params": {}},
            {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$c", "padding": 1, "bias": "$bias"}},
            {"id": "bn", "type": "BatchNorm2d", "params": {}},
            {"id": "act", "type": "GELU", "params": {"approximate": "$approx"}},
            {"id": "leaky", "type": "LeakyReLU", "params": {"negative_slope": "$slope"}},
        ],
        [
            {"name": "c", "type": "int", "default": 8, "min": 1, "doc": "Output channels."},
            {"name": "approx", "type": "choice", "choices": ["none", "tanh"], "default": "none"},
            {"name": "bias", "type": "bool", "default": True},
            {"name": "slope", "type": "float", "default": 0.1},
        ],
        "Conv-BN-GELU-LeakyReLU unit.",
    )


def _res_unit() -> dict[str, Any]:
    block = _unit(
        [
            {"id": "x", "type": "Input", "params": {}},
            {"id": "conv1", "type": "Conv2d", "params": {"out_channels": "$c", "padding": 1}},
            {"id": "relu", "type": "ReLU", "params": {}},
            {"id": "conv2", "type": "Conv2d", "params": {"out_channels": "$c", "kernel_size": 1}},
            {"id": "sum", "type": "Add", "params": {}},
        ],
        [{"name": "c", "type": "int"}],
    )
    block["edges"].append(["x", "sum"])
    block["outputs"] = ["sum"]
    return block


def _stage() -> dict[str, Any]:
    return _unit(
        [
            {"id": "inp", "type": "Input", "params": {}},
            {"id": "unit", "type": "ConvUnit", "params": {"c": "$c", "approx": "tanh"}},
            {"id": "widen", "type": "Conv2d", "params": {"out_channels": "$c * 2", "kernel_size": 1}},
            {"id": "off", "type": "Conv2d", "params": {"out_channels": 5}, "disabled": True},
        ],
        [{"name": "c", "type": "int", "default": 2, "min": 1}],
        "A nested block: a ConvUnit, then a 1x1 convolution doubling its channels.",
    )


def _split_unit() -> dict[str, Any]:
    return {
        "params": [{"name": "c", "type": "int", "default": 3}],
        "nodes": [
            {"id": "inp", "type": "Input", "params": {}},
            {"id": "stem", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 1}},
            {"id": "parts", "type": "Split", "params": {"sections": [1, 3]}},
            {"id": "wide", "type": "Conv2d", "params": {"out_channels": "$c", "kernel_size": 1}},
            {"id": "cat", "type": "Concat", "params": {}},
        ],
        "edges": [["inp", "stem"], ["stem", "parts"], ["parts:1", "wide"], ["parts:0", "cat"], ["wide", "cat"]],
        "inputs": ["inp"],
        "outputs": ["cat"],
    }


def _conv1d_unit() -> dict[str, Any]:
    return _unit(
        [
            {"id": "inp", "type": "Input", "params": {}},
            {"id": "conv", "type": "Conv1d", "params": {"out_channels": "$c", "kernel_size": "$k", "padding": "same"}},
            {"id": "bn", "type": "BatchNorm1d", "params": {}},
            {"id": "relu", "type": "ReLU", "params": {}},
        ],
        [{"name": "c", "type": "int", "default": 4}, {"name": "k", "type": "int", "default": 3, "min": 1}],
    )


def _mlp() -> dict[str, Any]:
    return _unit(
        [
            {"id": "inp", "type": "Input", "params": {}},
            {"id": "norm", "type": "LayerNorm", "params": {}},
            {"id": "fc1", "type": "Linear", "params": {"out_features": "$h * 2"}},
            {"id": "act", "type": "GELU", "params": {}},
            {"id": "drop", "type": "Dropout", "params": {"p": "$p"}},
            {"id": "fc2", "type": "Linear", "params": {"out_features": "$h"}},
        ],
        [{"name": "h", "type": "int", "default": 4}, {"name": "p", "type": "float", "default": 0.1, "max": 0.9}],
    )


def _seq_res() -> dict[str, Any]:
    block = _unit(
        [
            {"id": "inp", "type": "Input", "params": {}},
            {"id": "fc", "type": "Linear", "params": {"out_features": "$h"}},
            {"id": "tanh", "type": "Tanh", "params": {}},
            {"id": "add", "type": "Add", "params": {}},
        ],
        [{"name": "h", "type": "int"}],
    )
    block["edges"].append(["inp", "add"])
    return block


def _head() -> dict[str, Any]:
    return _unit(
        [
            {"id": "inp", "type": "Input", "params": {}},
            {"id": "hidden", "type": "Linear", "params": {"out_features": "$h"}},
            {"id": "relu", "type": "ReLU", "params": {}},
            {"id": "out", "type": "Linear", "params": {"out_features": "$o"}},
        ],
        [{"name": "h", "type": "int", "default": 4}, {"name": "o", "type": "int", "default": 2}],
    )


def _swish() -> dict[str, Any]:
    return {
        "params": [{"name": "p", "type": "float", "default": 0.0, "min": 0.0, "max": 0.9, "doc": "Dropout."}],
        "nodes": [
            {"id": "inp", "type": "Input", "params": {}},
            {"id": "gate", "type": "Sigmoid", "params": {}},
            {"id": "mul", "type": "Mul", "params": {}},
            {"id": "drop", "type": "Dropout", "params": {"p": "$p"}},
        ],
        "edges": [["inp", "gate"], ["inp", "mul"], ["gate", "mul"], ["mul", "drop"]],
        "inputs": ["inp"],
        "outputs": ["drop"],
        "doc": "x * sigmoid(x), then dropout: needs no input size.",
    }


COMPOSITE_TEMPLATES = {
    "Swish": _swish,
    "ConvUnit": _conv_unit,
    "ResUnit": _res_unit,
    "Stage": _stage,
    "SplitUnit": _split_unit,
    "Conv1dUnit": _conv1d_unit,
    "Mlp": _mlp,
    "SeqRes": _seq_res,
    "Head": _head,
}


# ---------------------------------------------------------------------------------------------


@st.composite
def graphs(draw, max_steps: int = 12) -> Case:
    """A random valid graph with the sizes of its inputs (see :class:`Case`), drawn by hypothesis."""
    return build(HypothesisSource(draw), max_steps)


def random_graph(seed: int, max_steps: int = 12) -> Case:
    """The same kind of graph from a seed, without hypothesis."""
    return build(RandomSource(seed), max_steps)


def build(source: HypothesisSource | RandomSource, max_steps: int) -> Case:
    b = Builder(source)
    mode = b.choice(("graph", "graph", "graph", "lazy", "arg"))
    count = b.choice((1, 1, 1, 2, 3))
    heads: list[Value] = []
    inputs = []
    input_shapes: dict[str, list[int]] = {}
    for _ in range(count):
        input_mode = b.choice(("graph", "lazy", "arg")) if b.coin(0.25) else mode
        value, spec = b.add_input(input_mode)
        if spec[1] == "tokens":
            b.vocab = spec[3]
            value = b.embedding(value)
        else:
            b.pool.append(value)
        if input_mode == "arg":
            input_shapes[spec[0]] = list(spec[2])
        heads.append(value)
        inputs.append(spec)
    steps = b.integer(2, max_steps)
    current, pending = heads[0], heads[1:]
    for _ in range(steps):
        if pending and b.coin(0.35):  # work on another input; merges join the paths later
            current = pending.pop(0)
        elif len(b.pool) >= 2 and b.coin(0.25):
            merged = b.merge(current)
            if merged is not None:
                current = merged
                continue
        elif b.coin(0.12):  # branch from an earlier tensor
            current = b.choice(b.pool)
        for _attempt in range(3):
            made = b.unary(current)
            if made is not None:
                current = made
                break

    # Outputs: the last tensor and maybe other open ends; one of a multi-output node's through its port
    # (``"split:1"``) or through an activation after it.
    def output_ref(value: Any) -> str:
        if ":" not in value.ref:
            return value.node
        if b.coin(0.5):
            b.features.add("port_output")
            return value.ref
        return b.activation(value).node

    outputs = [output_ref(current)]
    for _ in range(2):
        open_ends = [v for v in b.pool if v.ref not in b.consumed and v.node not in outputs and v.ref not in outputs]
        if open_ends and b.coin(0.4):
            outputs.append(output_ref(b.choice(open_ends)))
            b.features.add("multiple_outputs")
    if b.coin(0.03):
        outputs.append(inputs[0][0])  # an input passed straight through
    listed: list[str] | dict[str, str] = list(dict.fromkeys(outputs))
    if b.coin(0.15):  # named outputs: forward() returns a dict
        names = ["logits", "head0/logits", "mean", "std.dev", "out-1", "_z", "9"]
        first = b.integer(0, len(names) - 1)  # names from a rotation: distinct, in a drawn order
        listed = {names[(first + k) % len(names)]: ref for k, ref in enumerate(listed)}
        b.features.add("named_outputs")
    graph: dict[str, Any] = {
        "version": "0.2",
        "metadata": {"name": b.choice(("", "demo", "My model", "tiny-net"))},
        "nodes": b.nodes,
        "edges": b.edges,
        "inputs": [spec[0] for spec in inputs],
        "outputs": listed,
    }
    if not graph["metadata"]["name"]:
        del graph["metadata"]
    if b.composites:
        graph["composites"] = b.composites
    if len(inputs) > 1:
        b.features.add("multiple_inputs")
    return Case(graph, input_shapes or None, inputs, b.features)
