"""Generated code computes what the graph describes: random valid graphs, generated vs interpreted.

For every graph drawn by :func:`graphgen.graphs` (hypothesis, derandomised, 320 graphs) and for
160 graphs from :func:`graphgen.random_graph` seeds: generate the package and the single file
(twice: byte-identical), import both, ``build_model()``, build the reference interpreter
(:func:`codegen.interpreter.build_reference`) from the same analysis, copy the generated weights
into it with ``load_state_dict(strict=True)`` (same names, same shapes), and compare outputs on
the same random inputs: exactly, in eval mode and in training mode with the same RNG seed. Every
size the validator inferred is checked against the size at run time.

Also: the drawn graphs are nearly all valid by construction and cover every feature listed in
``REQUIRED_FEATURES``; hand-picked graphs at the edges of shape inference are refused or run as
inferred; the generated files pass ``ruff check`` and ``ruff format --check`` with ruff's
defaults (``--isolated``), as in a user's project.

To reproduce a failure outside pytest: ``check_case(random_graph(seed), Path("/tmp/x"))``.
"""

from __future__ import annotations

import importlib
import itertools
import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from graphgen import Case, graphs, random_graph
from hypothesis import HealthCheck, assume, given, settings

import codegen
from codegen.interpreter import build_reference
from codegen.ir import BinOp, Call, ListOf, Method, Numbered, Ref, Repeat, SelfAttr, Starred
from codegen.render import render_statement
from codegen.tensor import TensorType

EQUIVALENCE_EXAMPLES = 320
SETTINGS = settings(
    max_examples=EQUIVALENCE_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
BATCH = 3
_names = itertools.count()


def make_inputs(case: Case, batch: int = BATCH) -> tuple[torch.Tensor, ...]:
    tensors = []
    for _, kind, dims, vocab in case.inputs:
        if kind == "tokens":
            tensors.append(torch.randint(0, vocab or 2, (batch, *dims)))
        else:
            tensors.append(torch.randn(batch, *dims))
    return tuple(tensors)


def perturb(module: torch.nn.Module) -> None:
    """Move every weight and statistic off its initial value, so swapped wiring cannot hide."""
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            else:
                tensor.add_(torch.randn_like(tensor) * 0.1)


def import_fresh(name: str, folder: Path):
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def forget(name: str) -> None:
    for key in [k for k in sys.modules if k == name or k.startswith(f"{name}.")]:
        del sys.modules[key]


def write(files: dict[str, str], folder: Path) -> None:
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def as_tuple(output) -> tuple[torch.Tensor, ...]:
    if isinstance(output, dict):  # named outputs, in their order
        return tuple(output.values())
    return output if isinstance(output, tuple) else (output,)


def check_case(case: Case, folder: Path) -> None:
    """The whole round trip for one graph; raises on any difference."""
    validation = codegen.validate(case.graph, input_shapes=case.input_shapes)
    assert validation.ok, [str(d) for d in validation.errors]
    name = f"gen{next(_names)}"
    files = codegen.generate(case.graph, name=name, input_shapes=case.input_shapes)
    assert files == codegen.generate(case.graph, name=name, input_shapes=case.input_shapes), "not deterministic"
    single = codegen.generate(case.graph, name=f"{name}_file", layout="file", input_shapes=case.input_shapes)
    write({**files, **single}, folder)

    package = import_fresh(name, folder)
    single_module = import_fresh(f"{name}_file", folder)
    try:
        arg_names = list(package.INPUT_SHAPES)
        assert len(arg_names) == len(case.inputs)
        shapes = {arg: tuple(dims) for arg, (_, _, dims, _) in zip(arg_names, case.inputs)}
        torch.manual_seed(0)
        generated = package.build_model(shapes)
        torch.manual_seed(0)
        from_file = single_module.build_model(shapes)

        analysis = codegen.analyze(codegen.load_graph(case.graph), case.input_shapes)
        example = make_inputs(case, batch=1)
        reference = build_reference(analysis, example)

        perturb(generated)
        state = generated.state_dict()
        reference.load_state_dict(state, strict=True)
        from_file.load_state_dict(state, strict=True)
        assert list(reference.state_dict()) == list(state), "submodules registered in another order"

        inputs = make_inputs(case)
        outputs = []
        for model in (generated, reference, from_file):
            model.eval()
            with torch.no_grad():
                outputs.append(as_tuple(model(*inputs)))
        assert len(outputs[0]) == len(case.graph["outputs"])
        torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)
        torch.testing.assert_close(outputs[0], outputs[2], rtol=0, atol=0)
        with torch.no_grad():
            check_inferred_shapes(analysis, reference, inputs)

        # Training mode too: dropout draws from the RNG in the same order, batch norm uses batch statistics.
        outputs = []
        for model in (generated, reference):
            model.train()
            torch.manual_seed(1)
            outputs.append(as_tuple(model(*inputs)))
        torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)
    finally:
        forget(name)
        forget(f"{name}_file")


def check_inferred_shapes(analysis: codegen.Analysis, reference: torch.nn.Module, inputs) -> None:
    """Every size the validator inferred (and printed in shape comments) is the size at run time."""
    values = reference.trace(*inputs)
    for (node_id, index), name in reference.variables.items():
        if name not in values and name.startswith("input_"):
            continue
        actual = values[name]
        inferred = analysis.info[node_id].output(index)
        assert isinstance(inferred, TensorType), (node_id, inferred)
        expected_dtype = torch.int64 if inferred.dtype == "int64" else torch.float32
        assert actual.dtype == expected_dtype, f"{node_id}: inferred {inferred.dtype}, runs as {actual.dtype}"
        if inferred.dims is None:
            continue
        assert actual.dim() == len(inferred.dims) + 1, f"{node_id}: inferred {inferred.describe()}, runs {actual.shape}"
        for axis, size in enumerate(inferred.dims):
            if type(size) is int:
                assert actual.shape[axis + 1] == size, f"{node_id}: inferred {inferred.describe()}, runs {actual.shape}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("equivalence")


@SETTINGS
@given(case=graphs())
def test_generated_code_matches_the_reference_interpreter(case: Case, workdir: Path) -> None:
    # A safety net only: test_the_generator_draws_valid_graphs shows nearly every graph is valid.
    assume(codegen.validate(case.graph, input_shapes=case.input_shapes).ok)
    check_case(case, workdir)


REQUIRED_FEATURES = {
    "module_path",
    "Concat",
    "Add",
    "Mul",
    "broadcast_mul",
    "numbered_ports",
    "multi_output",
    "disabled",
    "input_lazy",
    "input_arg",
    "input_graph",
    "multiple_inputs",
    "multiple_outputs",
    "port_output",
    "named_outputs",
    "composite",
    "nested_composite",
    "awkward_id",
    "long_id",
    "Permute_BCT_to_BTH",
    "GRU",
    "LSTM",
    "Conv1d",
    "Conv2d",
    "Embedding",
    "SEBlock",
    "ResidualBlock",
    "VGGBlock",
    "Bottleneck",
    "InceptionBlock",
    "DenseLayer",
    "MBConv",
    "InvertedResidual",
    "TransformerEncoderBlock",
    "PositionalEncoding",
    "Split",
    "Chunk",
    "Bilinear",
}
SEEDS = 160


def test_seeded_graphs_match_the_reference_interpreter_and_cover_the_engine(workdir: Path) -> None:
    """The same check on graphs drawn from seeds: independent, uniform draws that surely cover every feature.

    (Hypothesis derives each example from earlier ones, so how often it draws a given feature
    varies from run to run; these seeds make the coverage claim below hold every time.)
    """
    seen: Counter[str] = Counter()
    for seed in range(SEEDS):
        case = random_graph(seed)
        seen.update(case.features)
        try:
            check_case(case, workdir)
        except Exception as exc:
            raise AssertionError(f"seed {seed}: {json.dumps(case.graph)[:3000]}") from exc
    assert not REQUIRED_FEATURES - set(seen), f"never drawn: {sorted(REQUIRED_FEATURES - set(seen))}"


def test_nearly_every_hypothesis_graph_is_valid_by_construction() -> None:
    """The validity filter in the hypothesis test is a safety net, not how valid graphs are found."""
    valid: list[bool] = []

    @SETTINGS
    @given(case=graphs())
    def collect(case: Case) -> None:
        valid.append(codegen.validate(case.graph, input_shapes=case.input_shapes).ok)

    collect()
    assert len(valid) >= 300
    assert sum(valid) >= 0.95 * len(valid), f"only {sum(valid)} of {len(valid)} drawn graphs are valid"


RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def random_statements(count: int, seed: int = 0) -> list[str]:
    """Forward and ``__init__`` statements with names of every realistic length, as the renderer splits them.

    Generated names are at most 48 characters plus a ``_N`` suffix; calls, method chains, merges,
    splits into many outputs and operator chains cover every shape of statement a node renders.
    """
    rng = random.Random(seed)

    def name() -> str:
        return ("v" + "abcdefghi_" * 6)[: rng.choice([1, 3, 8, 20, 30, 40, 48, 52])].rstrip("_")

    def refs(low: int, high: int) -> tuple[Ref, ...]:
        return tuple(Ref(name()) for _ in range(rng.randint(low, high)))

    def value() -> object:
        kind = rng.randrange(9)
        if kind == 0:
            return Call(SelfAttr(name()), refs(1, 3))
        if kind == 1:
            return Call("torch.cat", (ListOf(refs(2, 6)),), (("dim", rng.choice([1, -1])),))
        if kind == 2:
            return Method(Ref(name()), "permute", (0, 2, 1))
        if kind == 3:
            return Method(Method(Ref(name()), "flatten", (2,)), "mean", (), (("dim", 2),))
        if kind == 4:
            op, operands = rng.choice("+*"), refs(2, 6)
            expr = operands[0]
            for operand in operands[1:]:
                expr = BinOp(op, expr, operand)
            return expr
        if kind == 5:
            sections = [rng.randint(1, 999) for _ in range(rng.randint(2, 12))]
            return Call("torch.split", (Ref(name()), sections), (("dim", 1),))
        if kind == 6:
            kwargs = (("kernel_size", (3, 3)), ("padding", "same"), ("bias", False))[: rng.randint(0, 3)]
            args = tuple(rng.randint(1, 9999) for _ in range(rng.randint(0, 3)))
            return Call(f"nn.{rng.choice(['Conv2d', 'LazyConv2d', 'ReLU', 'Linear'])}", args, kwargs)
        if kind == 7:
            return Call(SelfAttr(name()), refs(1, 2), (("need_weights", False),))
        return container()

    def container() -> object:
        """What module paths build in ``__init__``: Sequentials with loops, named generators, ModuleLists."""
        block = Call(rng.choice(["Bottleneck", "nn.Linear", "EncoderBlockWithALongName"]), refs(0, 1) + (64,))
        grown = Call("DenseLayer", (BinOp("+", 64, BinOp("*", 32, Ref("i"))), 32, 4), (("drop_rate", 0.0),))
        kind = rng.randrange(4)
        if kind == 0:
            members = [block, Starred(Repeat(rng.choice([block, grown]), "i", rng.randint(2, 24)))][: rng.randint(1, 2)]
            return Call("nn.Sequential", tuple(members[::-1] if rng.random() < 0.5 else members))
        if kind == 1:
            item = (Numbered(rng.choice(["denselayer", "encoder_layer_"]), BinOp("+", Ref("i"), 1)), grown)
            return Call("nn.Sequential", (Call("OrderedDict", (Repeat(item, "i", 6, generator=True),)),))
        if kind == 2:
            entries = [("conv0", block), ("norm0", Call("nn.BatchNorm2d", (64,)))][: rng.randint(1, 2)]
            return Call("nn.Sequential", (Call("OrderedDict", (ListOf(tuple(entries)),)),))
        return Call("nn.ModuleList", (rng.choice([ListOf((block, Call("nn.Identity"))), Repeat(block, "_", 3)]),))

    lines = ["def forward(self):"]
    for _ in range(count):
        if rng.random() < 0.3:
            targets = ", ".join(name() if rng.random() < 0.8 else "_" for _ in range(rng.randint(2, 5)))
        else:
            targets = rng.choice(["x", name(), f"self.{name()}"])
        comment = rng.choice(["", "# (B, 3, 4)", "# (B, 64, 128, 128)"])
        lines += render_statement("    ", targets, value(), comment)
    return lines


@pytest.mark.skipif(RUFF is None, reason="needs ruff")
def test_generated_files_pass_ruff_with_its_defaults(tmp_path: Path) -> None:
    """``ruff check`` and ``ruff format --check`` with ruff's own defaults (``--isolated``) on many graphs.

    Also a file of random statements with long names, split by the renderer the way ruff splits them.
    """
    cases: list[Case] = []

    @settings(SETTINGS, max_examples=80)
    @given(case=graphs())
    def collect(case: Case) -> None:
        if codegen.validate(case.graph, input_shapes=case.input_shapes).ok:
            cases.append(case)

    collect()
    for index, case in enumerate(cases):
        files = codegen.generate(case.graph, name=f"pkg{index}", with_train=True, input_shapes=case.input_shapes)
        files |= codegen.generate(
            case.graph, name=f"single{index}", layout="file", with_train=True, input_shapes=case.input_shapes
        )
        write(files, tmp_path / "generated")
    (tmp_path / "statements.py").write_text("\n".join(random_statements(600)) + "\n")  # format only
    check = subprocess.run(
        [RUFF, "check", "--isolated", "--no-cache", "generated"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout[-4000:]
    fmt = subprocess.run(
        [RUFF, "format", "--isolated", "--no-cache", "--check", "--diff", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout[-4000:] + fmt.stderr[-2000:]


# ---------------------------------------------------------------------------------------------
# Hand-picked graphs at the edges of shape inference: each is refused, or runs as inferred.


def chain_graph(kind: str, shape: list[int], *layers: tuple[str, dict]) -> Case:
    params = {"shape": shape, **({"layout": "BTH"} if kind == "seq" else {})}
    nodes = [{"id": "inp", "type": "Input", "params": params}]
    nodes += [{"id": f"n{i}", "type": t, "params": p} for i, (t, p) in enumerate(layers)]
    ids = [n["id"] for n in nodes]
    graph = {
        "version": "0.2",
        "nodes": nodes,
        "edges": [[a, b] for a, b in zip(ids, ids[1:])],
        "inputs": ["inp"],
        "outputs": [ids[-1]],
    }
    return Case(graph, None, [("inp", kind, tuple(shape), None)])


EDGE_CASES = {
    "transpose_then_gru": chain_graph("1d", [3, 5], ("Transpose", {}), ("GRU", {"hidden_size": 2})),
    "permute_then_lstm": chain_graph("1d", [3, 5], ("Permute", {"dims": [0, 2, 1]}), ("LSTM", {"hidden_size": 2})),
    "linear_on_time_steps": chain_graph("1d", [3, 5], ("Linear", {"out_features": 2})),
    "gap_over_time": chain_graph("seq", [5, 3], ("GlobalAvgPool", {})),
    "layernorm_on_sequence": chain_graph("seq", [5, 3], ("LayerNorm", {})),
    "maxpool_on_sequence": chain_graph("seq", [5, 4], ("MaxPool1d", {})),
    "unsqueeze_then_conv2d": chain_graph("seq", [5, 3], ("Unsqueeze", {"dim": 1}), ("Conv2d", {"out_channels": 2})),
    "reshape_to_sequence": chain_graph("flat", [12], ("Reshape", {"shape": [4, 3]}), ("Transpose", {})),
    "chunk_on_time": chain_graph("1d", [3, 6], ("Chunk", {"chunks": 3, "dim": 2}), ("Identity", {})),
    "se_block_on_a_sequence": chain_graph("seq", [5, 3], ("SEBlock", {"reduction": 1})),
    "attention_on_channels_first": chain_graph("1d", [4, 5], ("MultiheadAttention", {"num_heads": 1})),
    "batchnorm1d_on_a_sequence": chain_graph("seq", [5, 3], ("BatchNorm1d", {})),
    "conv1d_on_a_sequence": chain_graph("seq", [5, 3], ("Conv1d", {"out_channels": 2})),
    "groupnorm_on_a_sequence": chain_graph("seq", [5, 3], ("GroupNorm", {"num_groups": 1})),
    "instancenorm_on_a_sequence": chain_graph("seq", [5, 3], ("InstanceNorm1d", {"affine": True})),
    "linear_channels_last": chain_graph(
        "2d",
        [3, 4, 5],
        ("Permute", {"dims": [0, 2, 3, 1]}),
        ("LayerNorm", {"eps": 1e-6}),
        ("Linear", {"out_features": 6}),
        ("Permute", {"dims": [0, 3, 1, 2]}),
        ("Conv2d", {"out_channels": 2}),
    ),
    "linear_after_transposing_channels_last": chain_graph(
        "2d", [3, 4, 5], ("Transpose", {"dim0": 1, "dim1": 3}), ("Linear", {"out_features": 2})
    ),
    "layernorm2d": chain_graph("2d", [3, 4, 5], ("LayerNorm2d", {"eps": 1e-6}), ("Conv2d", {"out_channels": 2})),
    "scalar_ops": chain_graph(
        "1d",
        [3, 5],
        ("Scalar", {"op": "sub", "value": 0.5}),
        ("Scalar", {"op": "div", "value": 4.0}),
        ("Scalar", {"op": "add", "value": -1.0}),
        ("Scalar", {"op": "mul", "value": 3.0}),
    ),
    # The recipe ops (tests/codegen/test_recipe_ops.py has their references and errors; graphgen does not draw them).
    "normalize_scale_argmax_embedding": chain_graph(
        "1d",
        [3, 5],
        ("Normalize", {"p": 1.0}),
        ("LearnedScale", {"value": 0.5}),
        ("ArgMax", {"dim": 1}),
        ("Embedding", {"num_embeddings": 3, "embedding_dim": 2}),
    ),
    "constant_then_frozen_scale": chain_graph(
        "seq", [5, 3], ("Constant", {"value": 2.0, "shape": [4, 1]}), ("LearnedScale", {"learnable": False})
    ),
}


@pytest.mark.parametrize("case", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_what_the_validator_accepts_runs_as_inferred(case: Case, workdir: Path) -> None:
    if codegen.validate(case.graph).ok:
        check_case(case, workdir)


# ---------------------------------------------------------------------------------------------
# Learned tensors (ViT's class token and position embedding, ConvNeXt's layer scale): every init
# choice, channels-first and token inputs, and a layer scale inside a block class sized symbolically.

VIT_TOKENS = (("Conv2d", {"out_channels": 6, "kernel_size": 2, "stride": 2}), ("Flatten", {"start_dim": 2}))
SCALED_CONV = {
    "params": [{"name": "c", "type": "int", "doc": "Channels."}],
    "nodes": [
        {"id": "x", "type": "Input", "params": {}},
        {"id": "dwconv", "type": "Conv2d", "params": {"out_channels": "$c", "kernel_size": 3, "padding": 1}},
        {"id": "layer_scale", "type": "LayerScale", "params": {"init": "ones"}},
    ],
    "edges": [["x", "dwconv"], ["dwconv", "layer_scale"]],
    "inputs": ["x"],
    "outputs": ["layer_scale"],
}


TOKEN_HEAD = {  # a class token and its read-out inside a block class, sized by the block's input width
    "params": [],
    "nodes": [
        {"id": "x", "type": "Input", "params": {}},
        {"id": "class_token", "type": "ClassToken", "params": {"init": "ones"}},
        {"id": "mix", "type": "MultiheadAttention", "params": {"num_heads": 1}},
        {"id": "cls", "type": "SelectToken", "params": {}},
    ],
    "edges": [["x", "class_token"], ["class_token", "mix"], ["mix", "cls"]],
    "inputs": ["x"],
    "outputs": ["cls"],
}


def with_block(case: Case) -> Case:
    case.graph["composites"] = {"ScaledConv": SCALED_CONV, "TokenHead": TOKEN_HEAD}
    return case


LEARNED_CASES = {
    "vit_head": chain_graph(
        "2d",
        [3, 4, 4],
        *VIT_TOKENS,
        ("Permute_BCT_to_BTH", {}),
        ("ClassToken", {}),
        ("PositionEmbedding", {"init": "trunc_normal", "std": 0.5}),
        ("SelectToken", {}),
        ("Linear", {"out_features": 3}),
    ),
    "tokens_ones_zeros_normal_constant": chain_graph(
        "seq",
        [5, 4],
        ("ClassToken", {"init": "normal", "std": 1.0}),
        ("PositionEmbedding", {"init": "ones"}),
        ("LayerScale", {"init": "constant", "value": -2.0}),
        ("SelectToken", {"index": 5}),
    ),
    "layer_scale_on_bchw": chain_graph("2d", [4, 3, 3], ("LayerScale", {}), ("LayerScale", {"init": "zeros"})),
    "layer_scale_on_bct": chain_graph("1d", [4, 3], ("LayerScale", {"init": "trunc_normal"})),
    "layer_scale_in_a_block": with_block(chain_graph("2d", [4, 3, 3], ("ScaledConv", {"c": 5}))),
    "class_token_in_a_block": with_block(chain_graph("seq", [3, 4], ("TokenHead", {}))),
}


@pytest.mark.parametrize("case", LEARNED_CASES.values(), ids=LEARNED_CASES.keys())
def test_learned_tensors_run_as_the_reference_interpreter(case: Case, workdir: Path) -> None:
    assert codegen.validate(case.graph).ok, codegen.validate(case.graph).to_dict()["diagnostics"]
    check_case(case, workdir)


GOLDEN = Path(__file__).parent / "golden"
# Golden graphs that use MatMul, Sub and Div, which the random graphs do not draw.
GOLDEN_CASES = {
    "convnext_block": ("2d", (3, 32, 32)),
    "scaled_attention": ("seq", (6, 8)),
}


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_the_golden_arithmetic_graphs_run_as_interpreted(name: str, workdir: Path) -> None:
    graph = json.loads((GOLDEN / name / "graph.json").read_text())
    kind, dims = GOLDEN_CASES[name]
    check_case(Case(graph, None, [(graph["inputs"][0], kind, dims, None)]), workdir)
