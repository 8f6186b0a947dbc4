"""The importer: PyTorch code in, a graph out whose generated code loads the original weights by name."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from codegen.api import generate, validate
from codegen.cli import main
from codegen.importer import from_module, load_generated
from codegen.importer_align import align
from codegen.spec import lookup
from codegen.templates import list_templates, load_template
from tests.codegen.graphgen import random_graph

# The round trip is a property: 260 random graphs (among them seeds that once failed: a Concat reading one tensor
# twice (103), bidirectional GRU states (70, 153), a mean over time of a sequence input (82), SE and MLP widths
# that two parameter values give (74, 227, 250), GRUBlock "seq" (234)).
RANDOM_SEEDS = [*range(260)]


def write_package(graph: dict[str, Any], folder: Path, name: str, shapes: dict[str, list[int]] | None = None) -> Path:
    for path, text in generate(graph, name=name, input_shapes=shapes).items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder / name


def assert_same_model(original: torch.nn.Module, graph: dict[str, Any], tmp_path: Path, inputs: list[torch.Tensor]):
    """The imported graph's code loads ``original``'s state_dict by name (strict) and computes the same."""
    model, _, _ = load_generated(write_package(graph, tmp_path / "imported", "Imported"))
    model.load_state_dict(original.state_dict(), strict=True)
    original.eval()
    model.eval()
    with torch.no_grad():
        expected, actual = original(*inputs), model(*inputs)
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)


def module_paths(graph: dict[str, Any]) -> set[str]:
    """Every module path a graph places, into composite blocks too (``layer1.0`` + ``conv1``)."""
    paths = set()
    for node in graph["nodes"]:
        if node.get("path"):
            paths.add(node["path"])
            block = graph.get("composites", {}).get(node["type"])
            inner = module_paths({"nodes": block["nodes"]}) if block else set()
            paths |= {f"{node['path']}.{p}" for p in inner}
    return paths


def placed_paths(graph: dict[str, Any], model: torch.nn.Module) -> set[str]:
    """The graph's module paths at which its generated ``model`` holds a module or parameter.

    A path on a node whose code is a function call (Flatten, Permute, Chunk) places nothing but maybe an
    ``nn.Identity`` filler that keeps a container's indices, so no import can read it back; it is compared
    like a missing one.
    """
    modules = dict(model.named_modules())
    fillers = {
        n["path"]
        for n in graph["nodes"]
        if n.get("path") and n["type"] != "Identity" and isinstance(modules.get(n["path"]), torch.nn.Identity)
    }
    names = set(modules) | {name for name, _ in model.named_parameters()}
    return (module_paths(graph) & names) - fillers


# Parameters that only size a hidden layer, and that width from the block's input sizes (without batch).
HIDDEN_WIDTH = {
    "SEBlock": ("reduction", lambda dims, reduction: dims[0] // int(reduction)),
    "TransformerEncoderBlock": ("mlp_ratio", lambda dims, ratio: int(dims[-1] * float(ratio))),
    "SwinTransformerBlock": ("mlp_ratio", lambda dims, ratio: int(dims[-1] * float(ratio))),
}


ASSOCIATIVE = ("Add", "Mul")


def canonical(graph: dict[str, Any], paths: set[str]) -> list[Any]:
    """The graph up to node ids and layout: each output as a tree of (type, params with defaults, path, inputs).

    Only the module ``paths`` given count: those of the original graph. A node the original left without a
    path is named by the generated code (``self.conv3``), and the import reads that name back as its path,
    so there equality means "any path"; where the original placed a node, the import must place it there.
    Spellings of one piece of code are one: ``[3, 3]`` and ``3``, a chain of unnamed Adds and one Add of
    three, the parameters of a Bottleneck that give one inner width.
    """
    nodes = {n["id"]: n for n in graph["nodes"]}
    incoming: dict[str, list[list[str]]] = {node_id: [] for node_id in nodes}
    for edge in graph["edges"]:
        incoming[edge[1]].append(edge)
    memo: dict[str, Any] = {}

    def params(node: dict[str, Any]) -> tuple:
        spec = lookup(node["type"])
        if spec is None:  # a composite block: its definition is compared by the outputs it reaches
            return tuple(sorted((k, str(v)) for k, v in node.get("params", {}).items()))
        values = {p.name: p.default for p in spec.params if not p.required}
        values.update(node.get("params", {}))
        if "stride" in values and values["stride"] is None and "ceil_mode" in values:  # pooling: stride = kernel
            values["stride"] = values["kernel_size"]
        values.pop("vocab_size", None)
        values.pop("layout", None)  # an Input's stated layout only guides validation; see kind() for swaps
        if node["type"] == "Bottleneck":  # expansions and widths per group giving one inner width are one model
            planes = int(values["out_channels"]) // int(values.pop("expansion"))
            values["width"] = planes * int(values.pop("width_per_group")) // 64 * int(values["groups"])
        for name, value in values.items():  # [1, 1] and 1 are one kernel size
            if isinstance(value, list) and len(value) > 1 and len({str(v) for v in value}) == 1:
                if getattr(spec.param(name), "kind", "") in ("ints", "padding"):
                    values[name] = value[0]
        if node["type"] == "VGGBlock" and values["convs"] == 1:  # c2 sizes the convolutions after the first
            values["c2"] = values["c1"]
        return tuple(sorted((k, str(v)) for k, v in values.items()))

    def kind(node: dict[str, Any]) -> str:
        """The type; spellings of one piece of code are one (which permute reads better depends on layouts)."""
        if node["type"] in ("Permute_BCT_to_BTH", "Permute_BTH_to_BCT"):
            return "Permute(0, 2, 1)"
        if node["type"] == "Permute" and node["params"].get("dims") == [0, 2, 1]:
            return "Permute(0, 2, 1)"
        if node["type"] == "GRUBlock" and node["params"].get("out") == "seq":  # the same code as a GRU
            return "GRU"
        spec = lookup(node["type"])
        return node["type"] if spec is None else spec.type

    readers = Counter([*(e[0] for e in graph["edges"]), *graph["outputs"]])

    def ref(source: str) -> Any:
        node_id, _, port = source.partition(":")
        return (sig(node_id), port)

    def sig(node_id: str) -> Any:
        if node_id not in memo:
            node = nodes[node_id]
            edges = incoming[node_id]
            ports = list(lookup(node["type"]).ports) if lookup(node["type"]) else []
            if all(len(e) == 3 and (e[2].isdigit() or e[2] in ports) for e in edges):  # ports given: their order
                edges = sorted(edges, key=lambda e: int(e[2]) if e[2].isdigit() else ports.index(e[2]))
            same = kind(node) == "Permute(0, 2, 1)"
            if kind(node) == "GRU":
                node = {**node, "type": "GRU", "params": {k: v for k, v in node["params"].items() if k != "out"}}
            path = node.get("path") if node.get("path") in paths else None
            sources: tuple = ()
            for edge in edges:
                source = ref(edge[0])
                (source_kind, _, source_path, spliced), port = source
                # a + b + c is (a + b) + c in code: a sum of three, however it was drawn
                inner = source_kind == kind(node) in ASSOCIATIVE and readers[edge[0]] == 1 and not source_path
                sources += spliced if inner and not port else (source,)
            memo[node_id] = (kind(node), () if same else params(node), path, sources)
        return memo[node_id]

    return [sig(o) for o in graph["outputs"]]


def inputs_for(shapes: dict[str, list[int]], graph: dict[str, Any]) -> list[torch.Tensor]:
    torch.manual_seed(0)
    tensors = []
    for node_id in graph["inputs"]:
        node = next(n for n in graph["nodes"] if n["id"] == node_id)
        size = (2, *shapes[node_id])
        vocab = node["params"].get("vocab_size")
        tensors.append(torch.randint(0, vocab, size) if vocab else torch.randn(size))
    return tensors


SMALL = {"resnet18": [3, 32, 32], "resnet50": [3, 32, 32], "vgg16": [3, 32, 32], "se_resnet_tiny": None}


@pytest.mark.parametrize("template", [t["name"] for t in list_templates()])
def test_the_cli_round_trips_every_template_exactly(template: str, tmp_path: Path, capsys) -> None:
    """``import --generated`` of a template's package is the template: aligned with it, the same document."""
    graph = load_template(template)
    for node in graph["nodes"]:  # smaller images keep the test quick; the structure is the same
        if node["type"] == "Input" and SMALL.get(template):
            node["params"]["shape"] = SMALL[template]
    package = write_package(graph, tmp_path / "first", "First")
    out = tmp_path / "imported.json"
    assert main(["import", "--generated", str(package), "--out", str(out)]) == 0
    imported = json.loads(out.read_text())
    original, shapes, _ = load_generated(package)
    paths = placed_paths(graph, original)
    assert canonical(imported, paths) == canonical(graph, paths)
    assert align(imported, graph) == graph
    assert_same_model(original, imported, tmp_path, inputs_for(shapes, imported))


def expanded(graph: dict[str, Any]) -> dict[str, Any]:
    """``graph`` with every composite instance replaced by its layers and every disabled node bypassed.

    Params are the engine's resolved values (a block's ``$width`` becomes the instance's number), paths
    join the instance's and the layer's (``layer1.0`` + ``conv1``). This is the graph as its generated
    code runs it: what an import of that code can be compared with when the drawing had blocks that the
    importer inlines (a class used once) or ablated nodes (their code is an identity).
    """
    nodes: list[dict[str, Any]] = []
    edges: list[list[str]] = []

    def ref(edge: Any, refs: dict[str, str]) -> str:
        if edge.source in refs:  # a block's input, or a node already replaced by what it passes on
            return refs[edge.source] if edge.output is None else f"{refs[edge.source]}:{edge.output}"
        return f"{edge.source}:{edge.output}" if edge.output is not None else edge.source

    def walk(analysis: Any, prefix: str, path: str | None, refs: dict[str, str]) -> dict[str, str]:
        for node_id in analysis.order:
            info = analysis.info[node_id]
            if info.is_input and node_id in refs:
                continue
            sources = [ref(e, refs) for e in info.inputs]
            inner_path = f"{path}.{info.node.path}" if path and info.node.path else None if path else info.node.path
            if info.node.disabled:
                refs[node_id] = sources[0]
            elif info.inner is not None:
                inner_refs = dict(zip(info.inner.inputs, sources))
                inner_refs = walk(info.inner, f"{prefix}{node_id}/", inner_path, inner_refs)
                outputs = [inner_refs.get(o, f"{prefix}{node_id}/{o}") for o in info.inner.outputs]
                refs[node_id] = outputs[0] if len(outputs) == 1 else f"{prefix}{node_id}"
                for index, output in enumerate(outputs):
                    refs[f"{node_id}:{index}"] = output
            else:
                new_id = f"{prefix}{node_id}"
                node = {"id": new_id, "type": info.node.type, "params": json.loads(json.dumps(info.params))}
                if info.node.type in HIDDEN_WIDTH:  # SE reductions 2 and 3 of 3 channels are one block
                    name, width = HIDDEN_WIDTH[info.node.type]
                    node["params"][name] = width(analysis.edge_type(info.inputs[0]).dims, node["params"][name])
                if inner_path:
                    node["path"] = inner_path
                nodes.append(node)
                for edge, source in zip(info.inputs, sources):
                    edges.append([source, new_id, *([edge.port] if edge.port else [])])
                refs[node_id] = new_id
        return refs

    analysis = validate(graph).analysis
    refs = walk(analysis, "", None, {})
    outputs = [refs.get(o, o) for o in analysis.outputs]
    return {"nodes": nodes, "edges": edges, "inputs": [refs.get(i, i) for i in analysis.inputs], "outputs": outputs}


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_it_round_trips_random_graphs(seed: int, tmp_path: Path) -> None:
    case = random_graph(seed)
    true_shapes = {node_id: list(dims) for node_id, _, dims, _ in case.inputs}
    original, shapes, _ = load_generated(write_package(case.graph, tmp_path / "first", "First", true_shapes))
    imported = from_module(original, shapes)
    for node in case.graph["nodes"]:
        if node["type"] == "Input":
            node["params"]["shape"] = true_shapes[node["id"]]
    paths = placed_paths(case.graph, original)
    assert canonical(expanded(imported), paths) == canonical(expanded(case.graph), paths)
    assert_same_model(original, imported, tmp_path, inputs_for(shapes, imported))


class Unit(torch.nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, act: bool = True) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = torch.nn.BatchNorm2d(cout)
        self.act = torch.nn.ReLU(inplace=True) if act else torch.nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Pair(torch.nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.a = Unit(cin, cout, stride)
        self.b = Unit(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = Unit(3, 4)
        self.pairs = torch.nn.Sequential(Pair(4, 8, 2), Pair(8, 8, 1))
        self.last = Unit(8, 6, act=False)  # wired differently from the other Units: stays inlined
        self.fc = torch.nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.last(self.pairs(self.stem(x))).mean((2, 3)))


def test_it_makes_one_composite_of_a_repeated_class_with_parameters_for_what_differs(tmp_path: Path) -> None:
    model = Net()
    graph = from_module(model, [3, 8, 8])
    assert list(graph["composites"]) == ["Unit"]
    unit = graph["composites"]["Unit"]
    assert unit["params"] == [
        {"name": "conv_out_channels", "type": "int", "default": 4},
        {"name": "conv_stride", "type": "int", "default": 1},
    ]
    assert [n.get("path") for n in unit["nodes"]] == [None, "conv", "bn", "act"]
    instances = {n["path"]: n["params"] for n in graph["nodes"] if n["type"] == "Unit"}
    assert instances == {  # Pair holds Units, so it is inlined and its Units are blocks
        "stem": {"conv_out_channels": 4, "conv_stride": 1},
        "pairs.0.a": {"conv_out_channels": 8, "conv_stride": 2},
        "pairs.0.b": {"conv_out_channels": 8, "conv_stride": 1},
        "pairs.1.a": {"conv_out_channels": 8, "conv_stride": 1},
        "pairs.1.b": {"conv_out_channels": 8, "conv_stride": 1},
    }
    assert {n.get("path") for n in graph["nodes"]} >= {"last.conv", "last.bn", "last.act", "fc"}
    assert_same_model(model, graph, tmp_path, [torch.randn(2, 3, 8, 8)])


class Functional(torch.nn.Module):
    """Calls written the many ways hand-written models write them."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 8, 3, padding=1)
        self.seq = torch.nn.GRU(8, 6, batch_first=True)
        self.attn = torch.nn.MultiheadAttention(6, 2, batch_first=True)
        self.fc = torch.nn.Linear(12, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.relu(self.conv(x))
        a, b = y.chunk(2, dim=1)
        c, d = torch.split(y, [3, 5], 1)
        y = torch.cat([a * torch.sigmoid(b), 0.5 * c.tanh() + 1, d / (d.sigmoid() + 1)], dim=1)
        y = torch.nn.functional.adaptive_avg_pool2d(y, 2) * y.mean((2, 3), keepdim=True)
        tokens = y.view(y.shape[0], 8, -1).transpose(1, 2)  # (B, 4, 8)
        seq, _ = self.seq(tokens)
        attended, _ = self.attn(seq, seq, seq, need_weights=False)
        scores = torch.softmax(torch.matmul(attended, attended.transpose(1, 2)), dim=-1)
        mixed = (scores @ attended).permute(0, 2, 1).mean(2)  # (B, 6)
        pooled, _ = torch.flatten(torch.nn.functional.dropout(y, 0.1, self.training), 1).split([6, 42], 1)
        return self.fc(torch.cat([mixed, pooled.unsqueeze(1).squeeze(1)], 1))


def test_it_maps_functions_and_methods_to_nodes(tmp_path: Path) -> None:
    model = Functional()
    graph = from_module(model, [4, 6, 6])
    types = {n["type"] for n in graph["nodes"]}
    assert {"Chunk", "Split", "Concat", "Scalar", "Div", "Mul", "AdaptiveAvgPool2d", "Reshape", "Transpose"} <= types
    assert {"GRU", "MultiheadAttention", "Softmax", "MatMul", "Permute_BTH_to_BCT", "GlobalAvgPool", "Dropout"} <= types
    assert_same_model(model, graph, tmp_path, [torch.randn(2, 4, 6, 6)])


class Tokens(torch.nn.Module):
    """ViT's class token and position embedding and ConvNeXt's layer scale, written as their nodes write them."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        self.layer_scale = torch.nn.Parameter(torch.full((4, 1, 1), 0.5))
        self.class_token = torch.nn.Parameter(torch.zeros(1, 1, 4))
        self.encoder = torch.nn.Module()
        self.encoder.pos_embedding = torch.nn.Parameter(torch.empty(1, 10, 4).normal_(std=0.02))
        self.gamma = torch.nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer_scale * self.conv(x)
        x = x.flatten(2).transpose(1, 2)  # (B, 9, 4)
        x = torch.cat([self.class_token.expand(x.size(0), -1, -1), x], dim=1)
        x = x + self.encoder.pos_embedding
        return x * self.gamma  # the other order of a layer scale's product: the same values


def test_it_reads_parameters_used_as_learned_tensor_nodes_with_their_init(tmp_path: Path) -> None:
    model = Tokens()
    graph = from_module(model, [3, 3, 3])
    learned = {
        n["path"]: (n["type"], n["params"])
        for n in graph["nodes"]
        if "Token" in n["type"] or "Embed" in n["type"] or "Scale" in n["type"]
    }
    assert learned == {
        "layer_scale": ("LayerScale", {"value": 0.5}),  # constant, the default
        "class_token": ("ClassToken", {}),  # zeros, the default
        "encoder.pos_embedding": ("PositionEmbedding", {}),  # normal, std 0.02: the default
        "gamma": ("LayerScale", {"init": "ones"}),
    }
    assert_same_model(model, graph, tmp_path, [torch.randn(2, 3, 3, 3)])


BLOCKS = [  # every built-in block the templates leave out, with arguments other than the defaults
    ("BasicConv2d", (3, 4, 3), {"stride": 2, "padding": 1}, [3, 8, 8]),
    ("Inception", (3, 2, 2, 3, 2, 3, 2), {}, [3, 8, 8]),
    ("InvertedResidualV2", (4, 4), {"expand_ratio": 1}, [4, 8, 8]),
    ("ShuffleNetV2Unit", (4, 8), {"stride": 2}, [4, 8, 8]),
    ("ShuffleNetV2Unit", (8, 8), {}, [8, 8, 8]),
    ("Fire", (3, 2, 3, 4), {}, [3, 8, 8]),
    ("ResBottleneckBlock", (4, 8), {"stride": 2, "group_width": 4, "se_ratio": 0.25}, [4, 8, 8]),
    ("RegNetStage", (4, 8, 2), {"group_width": 2, "bottleneck_multiplier": 0.5, "stage_index": 3}, [4, 8, 8]),
    ("CNBlock", (4,), {"layer_scale": 0.25, "eps": 1e-5}, [4, 8, 8]),
    ("PatchMerging", (4,), {"eps": 1e-6}, [4, 5, 5]),
    ("SwinTransformerBlock", (4, 2), {"window_size": 4, "shift_size": 2, "mlp_ratio": 2.0}, [4, 8, 8]),
]
CHANNELS_LAST = {"PatchMerging", "SwinTransformerBlock"}


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), BLOCKS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BLOCKS)])
def test_it_reads_the_constructor_arguments_of_every_built_in_block_back(name, args, kwargs, shape, tmp_path) -> None:
    from codegen.blocks import BLOCK_CLASSES

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = BLOCK_CLASSES[name](*args, **kwargs)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.block(x.permute(0, 2, 3, 1) if name in CHANNELS_LAST else x)

    model = Wrapper()
    graph = from_module(model, shape)
    node = next(n for n in graph["nodes"] if n["type"] == name)
    assert node["path"] == "block"
    assert {k: v for k, v in node["params"].items() if k in kwargs} == kwargs
    assert_same_model(model, graph, tmp_path, [torch.randn(2, *shape)])


def test_an_imported_composite_compares_and_round_trips(tmp_path: Path) -> None:
    """The importer's own composites (a repeated user class) come back the same from their generated code."""
    graph = from_module(Net(), [3, 8, 8])
    model, shapes, _ = load_generated(write_package(graph, tmp_path / "again", "Again"))
    again = from_module(model, shapes)
    paths = module_paths(graph)
    assert canonical(again, paths) == canonical(graph, paths)
