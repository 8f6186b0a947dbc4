"""Hostile graph documents: user text never becomes code, odd names never break it, huge inputs fail fast.

Every string a user controls (ids, labels, metadata, block docs, parameter values, ports, types)
either draws a clear diagnostic or reaches generated source only inside a comment or a string
literal: the generated files parse, their syntax tree holds only what generated code is made of,
no user line break survives as a line break, and importing and running the model leaves a canary
file uncreated and a sentinel global unset. Names that are keywords, builtins, ``nn.Module``
attributes or that collide after sanitising still give code that runs and matches the reference
interpreter. Huge sizes, counts, nesting and strings give errors fast (well under a second each on
an idle machine; the limit allows for a loaded one), not a hang or a ``MemoryError``.
"""

from __future__ import annotations

import ast
import builtins
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from graphgen import Case
from test_equivalence import check_case, forget, import_fresh, write

import codegen
from codegen.diagnostics import GraphError

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = "TORCHCANVAS_PWNED"

# Each payload carries code that, if it ever ran, would create the canary file or set the sentinel.
PAYLOADS = [
    "__import__('pathlib').Path(CANARY).touch()",
    "\"); import os; os.system('touch CANARY')#",
    "'); import os; os.system('touch CANARY')#",
    "'''\nimport pathlib; pathlib.Path(CANARY).touch()\n'''",
    '"""\nimport pathlib; pathlib.Path(CANARY).touch()\n"""',
    "\\\n__import__('builtins').TORCHCANVAS_PWNED = 1",
    "x\nTORCHCANVAS_PWNED = __import__('pathlib').Path(CANARY).touch()",
    "x\rTORCHCANVAS_PWNED = 1",
    "x\r\nTORCHCANVAS_PWNED = 1\n",
    "x\u2028TORCHCANVAS_PWNED = 1\u2029",
    "x\x0cTORCHCANVAS_PWNED = 1",
    "x\x00TORCHCANVAS_PWNED = 1",
    "{__import__('pathlib').Path(CANARY).touch()}",
    "\u202eevil RTL override\u202c and \u200f marks",
    "ünïcödé 日本語 😈",
    "# comment\n# TORCHCANVAS_PWNED\n",
    "A" * 10_000 + "\nTORCHCANVAS_PWNED = 1",
]
PAYLOAD_IDS = [f"payload{i}" for i in range(len(PAYLOADS))]

# What generated code may import, and names that would mean user text became code.
ALLOWED_IMPORTS = {"torch", "torch.nn.functional", "argparse", "time", "torch.nn", None}
FORBIDDEN_NAMES = {
    SENTINEL,
    "CANARY",
    "__import__",
    "os",
    "pathlib",
    "subprocess",
    "eval",
    "exec",
    "compile",
    "open",
    "getattr",
    "setattr",
    "globals",
    "__builtins__",
    "breakpoint",
}


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "user text was executed: the canary file exists"
    assert not hasattr(builtins, SENTINEL), "user text was executed: the sentinel global is set"


def arm(payload: str, canary: Path) -> str:
    return payload.replace("CANARY", repr(str(canary)))


def base_graph() -> dict[str, Any]:
    """A small valid graph with a user block: every place user text can go exists in it."""
    return {
        "version": "0.2",
        "metadata": {"name": "base", "description": "base", "tags": ["t"]},
        "composites": {
            "Unit": {
                "doc": "unit",
                "category": "block",
                "params": [{"name": "c", "type": "int", "default": 4, "doc": "channels"}],
                "nodes": [
                    {"id": "i", "type": "Input", "params": {}},
                    {"id": "conv", "type": "Conv1d", "params": {"out_channels": "$c", "kernel_size": 1}},
                    {"id": "act", "type": "ReLU", "params": {}, "label": "act"},
                ],
                "edges": [["i", "conv"], ["conv", "act"]],
                "inputs": ["i"],
                "outputs": ["act"],
            }
        },
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": [3, 8]}, "label": "in", "ui": {"x": 0}},
            {"id": "unit", "type": "Unit", "params": {"c": 4}, "label": "unit"},
            {"id": "off", "type": "Linear", "params": {"out_features": 2}, "disabled": True},
            {"id": "flat", "type": "Flatten", "params": {}},
            {"id": "fc", "type": "Linear", "params": {"out_features": 2}},
        ],
        "edges": [["inp", "unit"], ["unit", "off"], ["off", "flat"], ["flat", "fc"]],
        "inputs": ["inp"],
        "outputs": ["fc"],
    }


def with_text_everywhere(text: str) -> dict[str, Any]:
    """The payload in every free-text field: metadata, labels, ui, block and parameter docs."""
    graph = base_graph()
    graph["metadata"] = {"name": text, "description": text, "tags": [text], "author": {"note": text}}
    for node in graph["nodes"]:
        node["label"] = text
    graph["nodes"][0]["ui"] = {"note": text}
    unit = graph["composites"]["Unit"]
    unit["doc"] = text
    unit["category"] = text
    unit["params"][0]["doc"] = text
    unit["nodes"][2]["label"] = text
    return graph


def with_text_as_ids(text: str) -> dict[str, Any]:
    """The payload as node ids (model and block), hence as forward() arguments, attributes and comments."""
    raw = json.dumps(base_graph())
    for old in ("inp", "unit", "off", "flat", "fc"):
        raw = raw.replace(f'"{old}"', json.dumps(f"{text}{old}"))
    return json.loads(raw)


def check_source(path: str, source: str) -> None:
    """Only what generated code is made of: no user text outside comments and string literals."""
    tree = ast.parse(source, filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= ALLOWED_IMPORTS, ast.dump(node)
        elif isinstance(node, ast.ImportFrom):
            assert node.module in ALLOWED_IMPORTS or node.level == 1, ast.dump(node)
        elif isinstance(node, ast.Name):
            assert node.id not in FORBIDDEN_NAMES, f"{path}: name {node.id} in generated code"
        elif isinstance(node, ast.Attribute):
            assert node.attr not in {"system", "touch", SENTINEL}, f"{path}: attribute {node.attr}"
        elif isinstance(node, (ast.Lambda, ast.Global, ast.Nonlocal, ast.Await, ast.Yield, ast.Try, ast.While)):
            raise AssertionError(f"{path}: unexpected {type(node).__name__} in generated code")
    for number, line in enumerate(source.splitlines(), 1):
        # A user line break that survived would start a line with the text that followed it.
        assert not line.lstrip().startswith(SENTINEL), f"{path}:{number}: {line[:120]}"
        assert "\r" not in line and "\x00" not in line and "\x0c" not in line, f"{path}:{number}"
    assert source.isascii() or all(ch.isprintable() or ch == "\n" for ch in source), path


def generate_and_run(graph: dict[str, Any], folder: Path, name: str) -> dict[str, str]:
    """Generate both layouts (with train.py), check every file, import and run the model."""
    files = codegen.generate(graph, name=name, with_train=True)
    files |= codegen.generate(graph, name=f"{name}_file", layout="file", with_train=True)
    for path, source in files.items():
        check_source(path, source)
    write(files, folder)
    for module_name in (name, f"{name}_file"):
        module = import_fresh(module_name, folder)
        try:
            model = module.build_model()
            model.eval()
            model(*module.example_inputs(2))
        finally:
            forget(module_name)
    return files


@pytest.mark.parametrize("payload", PAYLOADS, ids=PAYLOAD_IDS)
def test_text_fields_only_ever_become_comments_or_strings(payload: str, canary: Path, tmp_path: Path) -> None:
    graph = with_text_everywhere(arm(payload, canary))
    result = codegen.validate(graph)
    assert result.ok, [str(d) for d in result.errors]
    generate_and_run(graph, tmp_path, "textpkg")


@pytest.mark.parametrize("payload", PAYLOADS, ids=PAYLOAD_IDS)
def test_ids_are_sanitised_or_refused(payload: str, canary: Path, tmp_path: Path) -> None:
    text = arm(payload, canary)
    graph = with_text_as_ids(text)
    result = codegen.validate(graph)
    too_long = len(text) + len("flat") > 100
    has_control = any(ord(c) < 32 or ord(c) == 127 for c in text)
    if too_long or has_control:
        assert not result.ok
        assert {d.code for d in result.errors} == {"BAD_ID"}, [str(d) for d in result.errors]
        with pytest.raises(GraphError):
            codegen.generate(graph)
        return
    assert result.ok, [str(d) for d in result.errors]
    files = generate_and_run(graph, tmp_path, "idpkg")
    model = files["idpkg/model.py"]
    assert "def forward(self, x: torch.Tensor)" in model  # the one input is always `x`


INJECTED_VALUES: list[tuple[str, Any, set[str]]] = [
    # (param path, value, acceptable diagnostic codes)
    ("conv.out_channels", "__import__('os').system('touch /tmp/pwned')", {"PARAM_TYPE"}),
    ("conv.padding", 'same"); import os; os.system("touch /tmp/pwned")#', {"PARAM_RANGE"}),
    ("conv.padding", "same\n", {"PARAM_RANGE"}),
    ("conv.kernel_size", [1, "2); import os"], {"PARAM_TYPE"}),
    ("conv.kernel_size", {"__class__": 1}, {"PARAM_TYPE"}),
    ("conv.bias", "True or __import__('os')", {"PARAM_TYPE"}),
    ("conv.out_channels", 10**12, {"PARAM_RANGE"}),
    ("conv.out_channels", 2.5, {"PARAM_TYPE"}),
    ("conv.out_channels", True, {"PARAM_TYPE"}),
    ("conv.out_channels", float("nan"), {"PARAM_TYPE"}),
    ("conv.out_channels", 1e300, {"PARAM_TYPE"}),
    ("gelu.approximate", "tanh'); import os #", {"PARAM_RANGE"}),
    ("drop.p", float("inf"), {"PARAM_RANGE"}),
    ("drop.p", "0.5", {"PARAM_TYPE"}),
    ("path.mode", 'row"); import os #', {"PARAM_RANGE"}),
    ("path.p", float("nan"), {"PARAM_RANGE"}),
    ("clip.max_val", float("-inf"), {"PARAM_RANGE"}),
    ("clip.max_val", -3.0, {"PARAM_RANGE"}),
    ("prelu.num_parameters", 10**9, {"PARAM_RANGE"}),
    ("prelu.init", "0.25); import os #", {"PARAM_TYPE"}),
    ("shuffle.groups", "2); import os #", {"PARAM_TYPE"}),
    ("shuffle.groups", 3, {"SHAPE"}),
    ("inp.shape", [3, "8); import os"], {"PARAM_TYPE"}),
    ("inp.shape", [3, -8], {"PARAM_RANGE"}),
    ("inp.dtype", "float32'); import os #", {"PARAM_RANGE"}),
    ("conv.__class__", 1, {"UNKNOWN_PARAM"}),
    ("conv.out_channels); import os; (", 1, {"UNKNOWN_PARAM"}),
]


def injectable_graph() -> dict[str, Any]:
    return {
        "version": "0.2",
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": [3, 8]}},
            {"id": "conv", "type": "Conv1d", "params": {"out_channels": 4}},
            {"id": "gelu", "type": "GELU", "params": {}},
            {"id": "drop", "type": "Dropout", "params": {}},
            {"id": "path", "type": "StochasticDepth", "params": {}},
            {"id": "clip", "type": "Hardtanh", "params": {}},
            {"id": "prelu", "type": "PReLU", "params": {}},
            {"id": "shuffle", "type": "ChannelShuffle", "params": {}},
        ],
        "edges": [
            ["inp", "conv"],
            ["conv", "gelu"],
            ["gelu", "drop"],
            ["drop", "path"],
            ["path", "clip"],
            ["clip", "prelu"],
            ["prelu", "shuffle"],
        ],
        "inputs": ["inp"],
        "outputs": ["shuffle"],
    }


@pytest.mark.parametrize(
    ("where", "value", "codes"), INJECTED_VALUES, ids=[f"{w}={v!r:.30}" for w, v, _ in INJECTED_VALUES]
)
def test_parameter_values_carrying_code_are_refused(where: str, value: Any, codes: set[str]) -> None:
    graph = injectable_graph()
    node_id, _, param = where.partition(".")
    next(n for n in graph["nodes"] if n["id"] == node_id)["params"][param] = value
    result = codegen.validate(graph)
    assert not result.ok
    assert {d.code for d in result.errors} <= codes, [str(d) for d in result.errors]
    assert all(d.node == node_id for d in result.errors)
    with pytest.raises(GraphError):
        codegen.generate(graph)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda g: g["nodes"][1].update(type="Conv1d'); import os #"), "UNKNOWN_TYPE"),
        (lambda g: g["nodes"][1].update(type="__import__('os')"), "UNKNOWN_TYPE"),
        (lambda g: g["edges"].append(["gelu", "drop", "x'); import os #"]), "BAD_PORT"),
        (lambda g: g["edges"].append(["inp", "nowhere\n import os"]), "DANGLING_EDGE"),
        (lambda g: g.update(outputs=["drop\nimport os"]), "UNKNOWN_OUTPUT"),
        (lambda g: g.update(inputs=["inp", "__import__('os')"]), "UNKNOWN_INPUT"),
        (lambda g: g.update(version="0.2'); import os #"), "PARSE"),
        (lambda g: g.update(extra="__import__('os')"), "PARSE"),
        (lambda g: g["nodes"].append({"id": "", "type": "ReLU"}), "BAD_ID"),
        (lambda g: g["nodes"].append({"id": "a" * 101, "type": "ReLU"}), "BAD_ID"),
        (lambda g: g["nodes"].append({"id": "nul\x00byte", "type": "ReLU"}), "BAD_ID"),
        (lambda g: g["nodes"].append({"id": "conv", "type": "ReLU"}), "DUPLICATE_ID"),
        (lambda g: g["nodes"].append({"id": 7, "type": "ReLU"}), "PARSE"),
    ],
    ids=["type", "type_call", "port", "edge_target", "output", "input", "version", "extra_key", "empty_id"]
    + ["long_id", "nul_id", "duplicate_id", "int_id"],
)
def test_structure_carrying_code_is_refused(mutate, code: str) -> None:
    graph = injectable_graph()
    mutate(graph)
    result = codegen.validate(graph)
    assert code in {d.code for d in result.errors}, [str(d) for d in result.diagnostics]
    with pytest.raises(GraphError):
        codegen.generate(graph)


def unit_block(name: str = "Unit", param: str = "c", default: Any = 4, **extra: Any) -> dict[str, Any]:
    graph = base_graph()
    unit = graph["composites"].pop("Unit")
    unit["params"] = [{"name": param, "type": "int", "default": default, **extra}]
    unit["nodes"][1]["params"]["out_channels"] = f"${param}" if param.isidentifier() else 4
    graph["composites"][name] = unit
    graph["nodes"][1]["type"] = name
    graph["nodes"][1]["params"] = {}
    return graph


def with_mbconv(graph: dict[str, Any]) -> dict[str, Any]:
    """The graph with an MBConv on a 4-D input, whose generated code carries a class `SqueezeExcitation`."""
    graph["nodes"] += [
        {"id": "img", "type": "Input", "params": {"shape": [8, 4, 4]}},
        {"id": "mb", "type": "MBConv", "params": {"out_channels": 8}},
    ]
    graph["edges"].append(["img", "mb"])
    graph["inputs"].append("img")
    graph["outputs"].append("mb")
    return graph


@pytest.mark.parametrize(
    "graph",
    [
        unit_block(name="unit"),
        unit_block(name="My Block"),
        unit_block(name="Block'); import os #"),
        unit_block(name="Ünit"),
        unit_block(name="None"),
        unit_block(name="True"),
        unit_block(name="F"),
        unit_block(name="INPUT_SHAPES"),
        unit_block(name="ValueError"),
        with_mbconv(unit_block(name="SqueezeExcitation")),
        unit_block(param="c'); import os #"),
        unit_block(param="class"),
        unit_block(param="self"),
        unit_block(param="super"),
        unit_block(param="nn"),
        unit_block(param="torch"),
        unit_block(param="in_channels"),
        unit_block(param="__class__"),
        unit_block(param="__c"),
        unit_block(param="__init__"),
        unit_block(param="Unit"),
        unit_block(default="__import__('os').system('touch /tmp/pwned')"),
        unit_block(default=4, type="int'); import os #"),
    ],
    ids=["lowercase", "space", "quote", "non_ascii", "None", "True", "F", "INPUT_SHAPES", "ValueError"]
    + ["helper_class", "param_quote", "param_keyword", "param_self", "param_super", "param_nn", "param_torch"]
    + ["param_in_channels", "param_class_cell", "param_mangled", "param_dunder", "param_own_block"]
    + ["default_code", "type_code"],
)
def test_block_names_and_parameters_that_would_break_code_are_refused(graph: dict[str, Any]) -> None:
    result = codegen.validate(graph)
    assert not result.ok
    assert {d.code for d in result.errors} <= {"PARSE", "COMPOSITE", "PARAM_TYPE", "PARAM_RANGE"}, result.errors
    with pytest.raises(GraphError):
        codegen.generate(graph)


def test_a_block_parameter_cannot_hide_another_block_of_the_graph(tmp_path: Path) -> None:
    """`Outer(Inner=8)` would make the name `Inner` an int inside Outer's constructor, which builds an `Inner`."""
    graph = base_graph()
    inner = graph["composites"].pop("Unit")
    outer = {
        "params": [{"name": "Inner", "type": "int", "default": 4}],
        "nodes": [{"id": "i", "type": "Input"}, {"id": "body", "type": "Inner", "params": {"c": "$Inner"}}],
        "edges": [["i", "body"]],
        "inputs": ["i"],
        "outputs": ["body"],
    }
    graph["composites"] = {"Inner": inner, "Outer": outer}
    graph["nodes"][1]["type"] = "Outer"
    graph["nodes"][1]["params"] = {}
    assert [d.message for d in codegen.validate(graph).errors] == [
        "block Outer: parameter name `Inner` is reserved in generated code; rename it"
    ]
    outer["params"][0]["name"] = "inner"
    outer["nodes"][1]["params"]["c"] = "$inner"
    check_case(Case(graph, None, [("inp", "1d", (3, 8), None)]), tmp_path)


@pytest.mark.parametrize("param", ["forward", "training", "input", "int", "x", "_c", "parameters", "Unit_"])
def test_block_parameters_named_like_builtins_or_module_attributes_give_code_that_runs(param: str, tmp_path: Path):
    """Only names the constructor body reads are refused: these stay usable and match the interpreter."""
    graph = unit_block(param=param)
    graph["nodes"][1]["params"] = {param: 5}
    check_case(Case(graph, None, [("inp", "1d", (3, 8), None)]), tmp_path)


STRING_DEFAULTS = [
    "none'); __import__('pathlib').Path(CANARY).touch() #",
    "x' if __import__('pathlib').Path(CANARY).touch() else '",
    'x" if __import__("pathlib").Path(CANARY).touch() else "',
    "x\\' if __import__('pathlib').Path(CANARY).touch() else '",
    "both ' and \" quotes",
]


@pytest.mark.parametrize("evil", STRING_DEFAULTS)
def test_block_parameter_defaults_with_quotes_stay_string_literals(evil: str, canary: Path, tmp_path: Path) -> None:
    """A choice parameter's default is user text, rendered as a literal in the class signature.

    Regression: the renderer used to turn every ' of such a text into ", which closed the literal
    early: the second payload then ran when the generated module was imported.
    """
    graph = base_graph()
    evil = arm(evil, canary)
    unit = graph["composites"]["Unit"]
    unit["params"].append({"name": "mode", "type": "choice", "choices": [evil, "tanh"], "default": evil})
    unit["nodes"].append({"id": "gelu", "type": "GELU", "params": {"approximate": "tanh"}})
    unit["edges"].append(["act", "gelu"])
    unit["outputs"] = ["gelu"]
    files = generate_and_run(graph, tmp_path, "choicepkg")
    tree = ast.parse(files["choicepkg/blocks.py"])
    init = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    defaults = dict(zip([a.arg for a in init.args.args][-len(init.args.defaults) :], init.args.defaults))
    assert isinstance(defaults["mode"], ast.Constant) and defaults["mode"].value == evil


# ---------------------------------------------------------------------------------------------
# Names: keywords, builtins, nn.Module attributes, case and sanitising collisions


def chain_case(ids: list[str], types: list[tuple[str, dict[str, Any]]], shape: list[int]) -> Case:
    nodes = [{"id": ids[0], "type": "Input", "params": {"shape": shape}}]
    nodes += [{"id": node_id, "type": t, "params": p} for node_id, (t, p) in zip(ids[1:], types)]
    graph = {
        "version": "0.2",
        "nodes": nodes,
        "edges": [[a, b] for a, b in zip(ids, ids[1:])],
        "inputs": [ids[0]],
        "outputs": [ids[-1]],
    }
    return Case(graph, None, [(ids[0], "1d", tuple(shape), None)])


NAME_SETS = {
    "keywords": ["class", "def", "return", "None", "True", "lambda", "yield", "match", "_"],
    "builtins": ["input", "print", "len", "type", "id", "object", "super", "Exception", "__import__"],
    "module_attributes": [
        "forward",
        "training",
        "parameters",
        "state_dict",
        "to",
        "cuda",
        "_modules",
        "__init__",
        "T_destination",
    ],
    "generated_names": ["self", "x", "torch", "nn", "F", "x_1", "hidden", "INPUT_SHAPES", "build_model"],
    "case_only": ["Conv", "conv", "CONV", "cOnV", "conV", "Co_nv", "co-nv", "co nv", "co.nv"],
    "sanitised_alike": ["a b", "a-b", "a_b", "a__b", "a.b", "A_B", "a\tb", " a b ", "a/b"],
    "unicode": ["Ω", "日本語", "😈", "\u202eabc", "é", "e\u0301", "ﬁ", "\u00a0", "ß"],
}


@pytest.mark.parametrize("names", NAME_SETS.values(), ids=NAME_SETS.keys())
def test_awkward_ids_give_code_that_runs_and_matches_the_interpreter(names: list[str], tmp_path: Path) -> None:
    ids = [n for n in names if "\t" not in n]
    layers = [("Conv1d", {"out_channels": 3, "kernel_size": 1}), ("ReLU", {}), ("Tanh", {}), ("LayerNorm", {})]
    types = [layers[i % len(layers)] for i in range(len(ids) - 1)]
    check_case(chain_case(ids, types, [3, 5]), tmp_path)
    files = codegen.generate(chain_case(ids, types, [3, 5]).graph, name="names")
    attributes = [
        line.split("=")[0].strip()
        for line in files["names/model.py"].splitlines()
        if "self." in line and " = nn." in line
    ]
    assert len(attributes) == len(set(attributes)), attributes


def test_a_tab_in_an_id_is_refused() -> None:
    result = codegen.validate(chain_case(["inp", "a\tb"], [("ReLU", {})], [3]).graph)
    assert [d.code for d in result.errors] == ["BAD_ID"]


def test_every_input_name_is_a_distinct_forward_argument(tmp_path: Path) -> None:
    ids = ["x", "X", "self", "input", "x_1", "class"]
    nodes = [{"id": i, "type": "Input", "params": {"shape": [2]}} for i in ids] + [{"id": "sum", "type": "Add"}]
    graph = {"version": "0.2", "nodes": nodes, "edges": [[i, "sum"] for i in ids], "inputs": ids, "outputs": ["sum"]}
    case = Case(graph, None, [(i, "flat", (2,), None) for i in ids])
    check_case(case, tmp_path)
    tree = ast.parse(codegen.generate(graph, name="args", layout="file")["args.py"])
    forward = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "forward")
    arguments = [a.arg for a in forward.args.args]
    assert len(arguments) == len(set(arguments)) == len(ids) + 1


# ---------------------------------------------------------------------------------------------
# Size: every huge thing is refused fast


def timed(fn, limit: float = 10.0):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    assert elapsed < limit, f"took {elapsed:.1f}s"
    return result


def chain(*nodes: dict[str, Any], shape: list[int] | None = None) -> dict[str, Any]:
    ids = ["inp", *(n["id"] for n in nodes)]
    params = {"shape": shape} if shape else {}
    return {
        "version": "0.2",
        "nodes": [{"id": "inp", "type": "Input", "params": params}, *nodes],
        "edges": [[a, b] for a, b in zip(ids, ids[1:])],
        "inputs": ["inp"],
        "outputs": [ids[-1]],
    }


def deep_list(depth: int) -> list[Any]:
    root = current = []
    for _ in range(depth):
        current.append([])
        current = current[0]
    return root


HUGE: dict[str, tuple[Any, str]] = {
    "out_channels_1e12": (
        chain({"id": "c", "type": "Conv2d", "params": {"out_channels": 10**12}}, shape=[3, 8, 8]),
        "PARAM_RANGE",
    ),
    "linear_1e6_by_1e6": (
        chain({"id": "fc", "type": "Linear", "params": {"out_features": 10**6}}, shape=[10**6]),
        "BUDGET",
    ),
    "activations_1e24": (chain({"id": "r", "type": "ReLU"}, shape=[10**6, 10**6, 10**6, 10**6]), "BUDGET"),
    "position_table_1e12": (
        chain(
            {"id": "tokens", "type": "Permute_BCT_to_BTH"},
            {"id": "pos", "type": "PositionEmbedding"},
            shape=[10**6, 10**6],
        ),
        "BUDGET",
    ),
    "layer_scale_of_1e999": (
        '{"nodes": [{"id": "i", "type": "Input", "params": {"shape": [3, 4]}},'
        ' {"id": "s", "type": "LayerScale", "params": {"init": "constant", "value": 1e999}}],'
        ' "edges": [["i", "s"]], "inputs": ["i"], "outputs": ["s"]}',
        "PARAM_RANGE",
    ),
    "input_shape_1e100": (chain({"id": "r", "type": "ReLU"}, shape=[10**100]), "PARAM_RANGE"),
    "nodes_1e6": ('{"nodes": [' + "0," * 10**6 + "0]}", "LIMIT"),
    "edges_1e6": ('{"nodes": [], "edges": [' + "0," * 10**6 + "0]}", "LIMIT"),
    "nodes_1e6_parsed": ({"nodes": [{"id": "n", "type": "ReLU"}] * 10**6}, "LIMIT"),
    "json_nested_1e5": ("[" * 10**5 + "]" * 10**5, "PARSE"),
    "metadata_nested_1e5": ('{"nodes": [], "metadata": {"a": ' + "[" * 10**5 + "]" * 10**5 + "}}", "PARSE"),
    "id_10MB": (chain({"id": "n" * 10**7, "type": "ReLU"}), "BAD_ID"),
    "composites_1e4": ({"nodes": [], "composites": {f"B{i}": {} for i in range(10**4)}}, "LIMIT"),
    "not_utf8": (b'{"nodes": "\xff\xfe"}', "PARSE"),
    "not_json": ("{nodes: [}", "PARSE"),
    "not_an_object": ("[1, 2, 3]", "PARSE"),
    "nan": ('{"nodes": [{"id": "i", "type": "Input", "params": {"shape": [NaN]}}]}', "PARAM_TYPE"),
}


def with_expression(expression: str, c: int = 4) -> dict[str, Any]:
    """The base graph with its block's `out_channels` set to ``expression`` over the parameter `c`."""
    graph = base_graph()
    graph["composites"]["Unit"]["nodes"][1]["params"]["out_channels"] = expression
    graph["nodes"][1]["params"] = {"c": c}
    return graph


# Each term of `$c+$c+...` used to be one level of recursion: ~1,000 raised RecursionError (a 500 in the API).
HUGE |= {
    f"expression_{terms}_terms": (with_expression("+".join(["$c"] * terms)), "EXPRESSION_TOO_LONG")
    for terms in (102, 1000, 10**5)
}
HUGE["expression_3000_characters"] = (with_expression("$c" + " " * 3000), "EXPRESSION_TOO_LONG")


CASES_HUGE = [pytest.param(document, code, id=name) for name, (document, code) in HUGE.items()] + [
    pytest.param(chain({"id": "t", "type": "T" * 10**7}), "UNKNOWN_TYPE", id="type_10MB"),
    pytest.param(
        chain({"id": "t", "type": "ReLU", "params": {"k" * 10**7: 1}}),
        "UNKNOWN_PARAM",
        id="param_key_10MB",
    ),
]


@pytest.mark.parametrize(("document", "code"), CASES_HUGE)
def test_huge_or_malformed_documents_fail_fast_with_a_clear_error(document: Any, code: str) -> None:
    result = timed(lambda: codegen.validate(document))
    assert not result.ok
    assert code in {d.code for d in result.errors}, [str(d)[:200] for d in result.errors]
    assert all(len(d.message) < 100_000 for d in result.diagnostics)
    with pytest.raises(GraphError):
        timed(lambda: codegen.generate(document))


def test_ten_megabyte_texts_are_cut_short_in_generated_code(tmp_path: Path) -> None:
    graph = with_text_everywhere("long text " * 10**6)
    files = timed(lambda: codegen.generate(graph, name="longtext", layout="file"))
    assert len(files["longtext.py"]) < 20_000


def test_deeply_nested_metadata_is_refused_not_crashed() -> None:
    """Metadata is free-form JSON: nested about as deep as JSON parsing allows, it must not crash hashing.

    (``validate`` may still call such a document fine, as it does not hash it; ``generate`` refuses it
    with a PARSE diagnostic rather than a RecursionError.)
    """
    for depth in (900, 950, 980, 985, 990, 995, 1000, 1200):
        document = json.dumps({**chain({"id": "r", "type": "ReLU"}, shape=[3]), "metadata": {"x": 0}})
        document = document.replace('{"x": 0}', '{"x": ' + "[" * depth + "]" * depth + "}")
        codegen.validate(document)
        try:
            files = codegen.generate(document, layout="file")
        except GraphError as exc:
            assert {d.code for d in exc.diagnostics} == {"PARSE"}
        else:
            assert "Model.py" in files
    deep = {**chain({"id": "r", "type": "ReLU"}, shape=[3]), "metadata": {"x": deep_list(10**5)}}
    codegen.validate(deep)
    with pytest.raises(GraphError) as refused:
        codegen.generate(deep)
    assert [d.message for d in refused.value.diagnostics] == ["the document is nested too deeply"]


def test_an_integer_with_thousands_of_digits_is_a_parse_error() -> None:
    document = '{"nodes": [{"id": "i", "type": "Input", "params": {"shape": [' + "9" * 5000 + "]}}]}"
    result = codegen.validate(document)
    assert not result.ok


def block_bomb(fan: int, depth: int) -> dict[str, Any]:
    """Block Lk holds ``fan`` copies of block Lk+1: a small document that expands to fan**depth layers."""
    composites = {}
    for level in range(depth):
        inner = f"L{level + 1}" if level + 1 < depth else "ReLU"
        nodes = [{"id": "i", "type": "Input"}] + [{"id": f"n{k}", "type": inner} for k in range(fan)]
        ids = [n["id"] for n in nodes]
        composites[f"L{level}"] = {
            "nodes": nodes,
            "edges": [[a, b] for a, b in zip(ids, ids[1:])],
            "inputs": ["i"],
            "outputs": [ids[-1]],
        }
    return {**chain({"id": "b", "type": "L0"}, shape=[3]), "composites": composites}


def test_an_exponential_block_expansion_is_refused_fast() -> None:
    script = (
        "import json, sys, codegen\n"
        "result = codegen.validate(json.loads(sys.stdin.read()))\n"
        "print(json.dumps([d.code for d in result.errors]))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(block_bomb(10, 8)),
            capture_output=True,
            text=True,
            timeout=8,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": ""},
        )
    except subprocess.TimeoutExpired:
        pytest.fail("validating a 90-node document did not finish in 8 seconds")
    assert "LIMIT" in json.loads(done.stdout), done.stderr[-2000:]


def test_reasonable_nesting_of_blocks_is_accepted() -> None:
    graph = block_bomb(3, 4)
    assert timed(lambda: codegen.validate(graph)).ok


def test_an_expression_at_the_length_cap_generates_code_that_matches_the_interpreter(tmp_path: Path) -> None:
    operators = ["+", "-", "*", "//"]
    expression = "$c" + "".join(f" {operators[k % 4]} $c" for k in range(100))  # 100 operators, the cap
    graph = with_expression(expression, c=2)
    check_case(Case(graph, None, [("inp", "1d", (3, 8), None)]), tmp_path)
    assert codegen.validate(graph).shapes()["unit"] == ["B", eval(expression.replace("$c", "2")), 8]  # noqa: S307
