"""ONNX, torch.export and TorchScript exports: every template in every format reloads and matches its PyTorch
model; node types a format cannot express are named before anything is built; failures are one sentence."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import onnx
import onnxruntime
import pytest
import torch
from test_node_specs import EXAMPLES, ex, one_node_graph
from test_templates import SMALL_INPUTS

import codegen
from codegen import exports
from codegen.cli import main
from codegen.exports import (
    DEFAULT_OPSET,
    FORMATS,
    SUFFIXES,
    TOLERANCES,
    ExportFailed,
    ExportResult,
    export_model,
    export_problems,
)
from codegen.templates import load_template, template_names

# The ImageNet models at test_templates' smaller sizes (ViT keeps 224x224: its position embedding is sized from
# the input); HybridCMI on shorter windows, which its recurrence unrolls step by step.
FAST_SHAPES: dict[str, list[int]] = {**SMALL_INPUTS, "hybridcmi": [9, 32]}


def reload_and_run(fmt: str, path: Path, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """The exported file, loaded afresh by its own runtime, run on ``inputs``."""
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs)}
        return [torch.from_numpy(a) for a in session.run(None, feed)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's deprecation note
        loaded = torch.export.load(path).module() if fmt == "pt2" else torch.jit.load(str(path))
    with torch.no_grad():
        output = loaded(*inputs)
    return list(output) if isinstance(output, tuple) else [output]


def batch_of(document: dict[str, Any], batch: int, shapes: dict[str, list[int]] | None = None) -> list[torch.Tensor]:
    """Random inputs for ``document`` at ``batch`` (token ids for integer inputs)."""
    inferred = codegen.validate(document, input_shapes=shapes).shapes()
    tensors = []
    for name in document["inputs"]:
        node = next(n for n in document["nodes"] if n["id"] == name)
        sizes = (batch, *inferred[name][1:])
        if (node.get("params") or {}).get("dtype") == "int64":
            tensors.append(torch.randint(0, 2, sizes))
        else:
            tensors.append(torch.randn(sizes))
    return tensors


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", template_names())
def test_every_template_exports_reloads_and_matches_pytorch(name, fmt, tmp_path):
    document = load_template(name)
    shapes = {document["inputs"][0]: FAST_SHAPES[name]} if name in FAST_SHAPES else None
    path = tmp_path / f"{name}{SUFFIXES[fmt]}"
    result = export_model(document, fmt, path, input_shapes=shapes)
    assert result.max_abs_diff <= TOLERANCES[fmt] == result.tolerance
    assert result.size_bytes == path.stat().st_size > 0
    # A batch of one, unlike the export's (2) and the check's (3): the batch axis is dynamic in the file.
    outputs = reload_and_run(fmt, path, batch_of(document, 1, shapes))
    inferred = codegen.validate(document, input_shapes=shapes).shapes()
    assert [list(o.shape) for o in outputs] == [[1, *inferred[out][1:]] for out in document["outputs"]]
    assert all(torch.isfinite(o).all() for o in outputs)
    path.unlink()  # VGG-16 writes 0.5 GB per format


def two_heads() -> dict[str, Any]:
    """An image and a vector in, a class score and an embedding out, with a Split in between."""
    return {
        "version": "0.2",
        "nodes": [
            {"id": "image", "type": "Input", "params": {"shape": [3, 8, 8]}},
            {"id": "extra", "type": "Input", "params": {"shape": [4]}},
            {"id": "conv", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3, "padding": 1}},
            {"id": "pool", "type": "GlobalAvgPool"},
            {"id": "join", "type": "Concat"},
            {"id": "split", "type": "Split", "params": {"sections": [5, 3], "dim": -1}},
            {"id": "scores", "type": "Linear", "params": {"out_features": 2}},
            {"id": "embedding", "type": "Tanh"},
        ],
        "edges": [
            ["image", "conv"],
            ["conv", "pool"],
            ["pool", "join"],
            ["extra", "join"],
            ["join", "split"],
            ["split:0", "scores"],
            ["split:1", "embedding"],
        ],
        "inputs": ["image", "extra"],
        "outputs": ["scores", "embedding"],
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_inputs_and_outputs_export_under_their_graph_names(fmt, tmp_path):
    path = tmp_path / f"m{SUFFIXES[fmt]}"
    result = export_model(two_heads(), fmt, path)
    assert result.max_abs_diff <= TOLERANCES[fmt]
    outputs = reload_and_run(fmt, path, batch_of(two_heads(), 5))
    assert [list(o.shape) for o in outputs] == [[5, 2], [5, 3]]
    if fmt == "onnx":
        assert (result.method, result.opset, result.warnings) == ("dynamo", DEFAULT_OPSET, []) == ("dynamo", 18, [])
        model = onnx.load(str(path))
        assert {o.version for o in model.opset_import if o.domain == ""} == {18}
        graph = model.graph
        assert ([i.name for i in graph.input], [o.name for o in graph.output]) == (
            ["image", "extra"],
            ["scores", "embedding"],
        )
        batch_axes = [i.type.tensor_type.shape.dim[0] for i in [*graph.input, *graph.output]]
        assert {axis.dim_param for axis in batch_axes} == {"batch"}  # one named, dynamic axis


def test_an_output_named_like_a_weight_gets_a_name_of_its_own(tmp_path):
    """ONNX names each value once: a ClassToken node's weight is ``token``, so the output cannot be too."""
    document = one_node_graph("ClassToken", ex([7, 8], layout="BTH"))
    document["nodes"][1]["id"] = "token"
    document["edges"] = [["in0", "token"]]
    document["outputs"] = ["token"]
    export_model(document, "onnx", tmp_path / "m.onnx")
    assert [o.name for o in onnx.load(str(tmp_path / "m.onnx")).graph.output] == ["token_1"]


# --- what each format cannot express --------------------------------------------------------------------

# Each case fails the real exporter (proved below with the rules switched off); the message names why.
UNSUPPORTED_CASES = {
    "AdaptiveMaxPool1d": (ex([3, 10], output_size=3), "output size divides the input size (here 3 from 10)"),
    "AdaptiveMaxPool2d": (ex([3, 9, 7], output_size=2), "(here 2x2 from 9x7)"),
    "MaxPool1d": (ex([3, 7], kernel_size=2, padding=1, ceil_mode=True), "ceil_mode"),
    "MaxPool2d": (ex([3, 7, 7], kernel_size=2, padding=1, ceil_mode=True), "ceil_mode"),
    "AvgPool1d": (ex([3, 7], kernel_size=2, padding=1, ceil_mode=True), "ceil_mode"),
    "AvgPool2d": (ex([3, 7, 7], kernel_size=[3, 2], padding=1, ceil_mode=True), "ceil_mode"),
}
# The same types with params ONNX can express: no diagnostic, and the export works.
SUPPORTED_VARIANTS = {
    "AdaptiveMaxPool1d": ex([3, 10], output_size=5),
    "AdaptiveMaxPool2d": ex([3, 8, 8], output_size=[4, 1]),
    "MaxPool1d": ex([3, 11], kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "MaxPool2d": ex([3, 7, 7], kernel_size=3, stride=2, ceil_mode=True),
    "AvgPool1d": ex([3, 7], kernel_size=3, stride=2, ceil_mode=True),
    "AvgPool2d": ex([3, 7, 7], kernel_size=3, stride=2, padding=1),
}


def test_the_rules_cover_exactly_the_cases_found_to_fail():
    assert set(exports.UNSUPPORTED["onnx"]) == set(UNSUPPORTED_CASES) == set(SUPPORTED_VARIANTS)
    assert exports.UNSUPPORTED["pt2"] == exports.UNSUPPORTED["torchscript"] == {}


@pytest.mark.parametrize("node_type", sorted(UNSUPPORTED_CASES))
def test_a_node_onnx_cannot_express_is_named_before_anything_is_built(node_type, tmp_path, monkeypatch):
    example, why = UNSUPPORTED_CASES[node_type]
    document = one_node_graph(node_type, example)
    [problem] = export_problems(document, "onnx")
    assert (problem.code, problem.node) == ("EXPORT_UNSUPPORTED", "n")
    assert problem.message.startswith(f"n ({node_type}) cannot be exported to ONNX: ")
    assert why in problem.message
    with pytest.raises(ExportFailed) as refused:
        export_model(document, "onnx", tmp_path / "m.onnx")
    assert refused.value.diagnostics == [problem]
    assert not (tmp_path / "m.onnx").exists()
    for fmt in ("pt2", "torchscript"):
        assert export_problems(document, fmt) == []
    # The rule is right: without it the exporter (or the ONNX checker) refuses the model.
    monkeypatch.setitem(exports.UNSUPPORTED, "onnx", {})
    with pytest.raises(ExportFailed, match="^the ONNX (exporter failed|file does not check): "):
        export_model(document, "onnx", tmp_path / "m.onnx")


@pytest.mark.parametrize("node_type", sorted(SUPPORTED_VARIANTS))
def test_the_same_types_with_params_onnx_can_express_export(node_type, tmp_path):
    document = one_node_graph(node_type, SUPPORTED_VARIANTS[node_type])
    assert export_problems(document, "onnx") == []
    assert export_model(document, "onnx", tmp_path / "m.onnx").max_abs_diff <= 1e-4


# A sample of the node types no template uses, exported in every format (the templates cover 40 types). The
# probe that found the rules above exported every registered type this way.
UNCOVERED_TYPES = [
    "Bilinear",
    "Chunk",
    "Conv3d",
    "GroupNorm",
    "LSTM",
    "MultiheadAttention",
    "PixelShuffle",
    "Upsample",
]


@pytest.mark.parametrize("node_type", UNCOVERED_TYPES)
def test_node_types_beyond_the_templates_export_in_every_format(node_type, tmp_path):
    document = one_node_graph(node_type, EXAMPLES[node_type])
    for fmt in FORMATS:
        assert export_problems(document, fmt) == []
        result = export_model(document, fmt, tmp_path / f"m{SUFFIXES[fmt]}")
        assert result.max_abs_diff <= TOLERANCES[fmt], (fmt, result)


def test_a_block_instance_is_named_for_a_node_inside_it():
    document = {
        "version": "0.2",
        "composites": {
            "Pooled": {
                "nodes": [
                    {"id": "in", "type": "Input"},
                    {"id": "pool", "type": "AdaptiveMaxPool1d", "params": {"output_size": 3}},
                ],
                "edges": [["in", "pool"]],
                "inputs": ["in"],
                "outputs": ["pool"],
            }
        },
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [2, 10]}}, {"id": "squeeze", "type": "Pooled"}],
        "edges": [["x", "squeeze"]],
        "inputs": ["x"],
        "outputs": ["squeeze"],
    }
    [problem] = export_problems(document, "onnx")
    assert problem.node == "squeeze"
    assert problem.message.startswith("pool (AdaptiveMaxPool1d) in block squeeze cannot be exported to ONNX: ")


def test_graph_errors_and_open_inputs_stop_an_export(tmp_path):
    broken = one_node_graph("Linear", ex([5], out_features=3))
    broken["nodes"][1]["params"] = {"out_features": 0}
    problems = export_problems(broken, "pt2")
    assert [p.code for p in problems] == ["PARAM_RANGE"]
    with pytest.raises(ExportFailed, match="^the graph cannot be exported: ") as failed:
        export_model(broken, "pt2", tmp_path / "m.pt2")
    assert failed.value.diagnostics == problems
    open_input = one_node_graph("ReLU", ex([4, 6]), with_shapes=False)
    [problem] = export_problems(open_input, "onnx")
    assert (problem.code, problem.node) == ("NEEDS_SHAPE", "in0")
    assert problem.message == "Input in0 has no shape: set it on the Input node or give its sizes to export the model"
    assert export_problems(open_input, "onnx", input_shapes={"in0": [4, 6]}) == []


# --- how an export reports itself -----------------------------------------------------------------------


def test_it_reports_each_stage_and_a_json_safe_result(tmp_path):
    stages: list[tuple[str, float]] = []
    result = export_model(
        load_template("hybridcmi"),
        "pt2",
        tmp_path / "m.pt2",
        input_shapes={"inp": [9, 16]},
        on_progress=lambda stage, fraction: stages.append((stage, fraction)),
    )
    assert stages == [
        ("building the model", 0.0),
        ("exporting", 0.2),
        ("checking", 0.6),
        ("comparing", 0.8),
        ("done", 1.0),
    ]
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "format": "pt2",
        "file_name": "m.pt2",
        "size_bytes": (tmp_path / "m.pt2").stat().st_size,
        "max_abs_diff": result.max_abs_diff,
        "tolerance": 1e-5,
        "method": "export",
        "opset": None,
        "torch_version": torch.__version__,
        "warnings": [],
    }
    assert isinstance(result, ExportResult) and result.path == tmp_path / "m.pt2"


def test_torchscript_traces_with_a_warning_where_scripting_fails(tmp_path):
    document = one_node_graph("Split", EXAMPLES["Split"])  # forward() -> tuple[torch.Tensor, ...]: not scriptable
    result = export_model(document, "torchscript", tmp_path / "m.pt")
    assert result.method == "trace"
    [warning] = result.warnings
    assert warning.startswith("torch.jit.script could not compile the model (")
    assert "it was traced instead" in warning
    assert result.max_abs_diff <= 1e-5
    assert export_model(load_template("transformer_classifier"), "torchscript", tmp_path / "t.pt").method == "script"


def test_a_file_that_computes_something_else_fails_with_the_difference(tmp_path, monkeypatch):
    real = exports._EXPORTERS["pt2"]

    def off_by_a_little(*args):
        run, method, notes = real(*args)
        return (lambda inputs: [t + 1e-3 for t in run(inputs)]), method, notes

    monkeypatch.setitem(exports._EXPORTERS, "pt2", off_by_a_little)
    with pytest.raises(ExportFailed) as failed:
        export_model(one_node_graph("ReLU", ex([4, 6])), "pt2", tmp_path / "m.pt2")
    assert str(failed.value) == (
        "the torch.export export does not match the PyTorch model: the largest difference at batch 3 is 0.001, "
        "above the tolerance of 1e-05"
    )
    assert not (tmp_path / "m.pt2").exists()  # written, disproved, removed


def test_a_model_that_cannot_run_fails_before_exporting(tmp_path, monkeypatch):
    def broken(package, batch):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied\n(more)")

    monkeypatch.setattr(exports, "_inputs", broken)
    with pytest.raises(ExportFailed) as failed:
        export_model(one_node_graph("ReLU", ex([4, 6])), "onnx", tmp_path / "m.onnx")
    assert str(failed.value) == (
        "the PyTorch model could not be built and run: RuntimeError: mat1 and mat2 shapes cannot be multiplied"
    )


def test_nan_never_passes_the_comparison():
    assert exports._max_abs_diff([torch.zeros(2)], [torch.tensor([0.0, math.nan])], "onnx") == math.inf


def test_an_exporter_error_becomes_one_sentence(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        try:
            raise KeyError("inner detail")
        except KeyError as exc:
            raise RuntimeError("outer\nTraceback (most recent call last):\n  File ...") from exc

    monkeypatch.setattr(torch.export, "export", broken)
    with pytest.raises(ExportFailed) as failed:
        export_model(one_node_graph("ReLU", ex([4, 6])), "pt2", tmp_path / "m.pt2")
    assert str(failed.value) == "the torch.export exporter failed: KeyError: 'inner detail'"


def test_an_op_without_onnx_function_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(exports.UNSUPPORTED, "onnx", {})
    document = one_node_graph("AdaptiveMaxPool2d", EXAMPLES["AdaptiveMaxPool2d"])
    with pytest.raises(ExportFailed) as failed:
        export_model(document, "onnx", tmp_path / "m.onnx")
    assert str(failed.value).startswith(
        "the ONNX exporter failed: DispatchError: No ONNX function found for aten.adaptive_max_pool2d.default."
    )
    assert "\x1b[" not in str(failed.value) and "\n" not in str(failed.value)


@pytest.mark.parametrize(
    ("fmt", "opset", "message"),
    [
        ("onnx", 17, "ONNX opset must be an integer from 18 to 23, got 17"),
        ("onnx", 24, "ONNX opset must be an integer from 18 to 23, got 24"),
        ("onnx", "18", "ONNX opset must be an integer from 18 to 23, got '18'"),
        ("onnx", True, "ONNX opset must be an integer from 18 to 23, got True"),
        ("pt2", 18, "an opset applies to ONNX exports only, not to torch.export"),
        ("tflite", None, "unknown export format 'tflite'; choose one of onnx, pt2, torchscript"),
    ],
)
def test_a_bad_format_or_opset_is_refused_before_anything_is_built(fmt, opset, message, tmp_path):
    with pytest.raises(ExportFailed) as failed:
        export_model(load_template("se_resnet_tiny"), fmt, tmp_path / "m", opset=opset)
    assert str(failed.value) == message
    assert not (tmp_path / "m").exists()


def test_another_opset_in_range_is_written(tmp_path):
    result = export_model(one_node_graph("GELU", EXAMPLES["GELU"]), "onnx", tmp_path / "m.onnx", opset=21)
    assert result.opset == 21
    assert {o.version for o in onnx.load(str(tmp_path / "m.onnx")).opset_import if o.domain == ""} == {21}


# --- the command line -----------------------------------------------------------------------------------


def write_graph(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_cli_exports_onnx_and_says_how_well_it_matches(tmp_path, capsys):
    graph = write_graph(tmp_path, load_template("hybridcmi"))
    out = tmp_path / "hybrid.onnx"
    assert main(["export", str(graph), "--format", "onnx", "--out", str(out), "--input-shape", "9,16"]) == 0
    line = capsys.readouterr().out.strip()
    size = out.stat().st_size
    assert line.startswith(f"wrote {out}: {size:,} bytes, dynamo, opset 18, max abs diff ")
    assert line.endswith(" (tolerance 0.0001)")


@pytest.mark.parametrize("fmt", ["pt2", "torchscript"])
def test_cli_exports_the_other_model_formats(fmt, tmp_path, capsys):
    graph = write_graph(tmp_path, two_heads())
    out = tmp_path / f"m{SUFFIXES[fmt]}"
    assert main(["export", str(graph), "--format", fmt, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"wrote {out}: ")
    if fmt == "torchscript":  # the two-output forward returns a tuple TorchScript cannot type
        assert captured.err.startswith("warning: torch.jit.script could not compile the model")


def test_cli_needs_out_for_a_model_format(tmp_path, capsys):
    graph = write_graph(tmp_path, two_heads())
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(graph), "--format", "onnx"])
    assert exit_.value.code == 2
    assert "--format onnx writes a binary file: give --out FILE" in capsys.readouterr().err


def test_cli_takes_an_opset_only_for_onnx(tmp_path, capsys):
    graph = write_graph(tmp_path, two_heads())
    with pytest.raises(SystemExit):
        main(["export", str(graph), "--format", "mermaid", "--opset", "18"])
    assert "--opset goes with --format onnx" in capsys.readouterr().err
    assert main(["export", str(graph), "--format", "onnx", "--out", str(tmp_path / "m.onnx"), "--opset", "30"]) == 1
    assert capsys.readouterr().err == "error: ONNX opset must be an integer from 18 to 23, got 30\n"


def test_cli_names_the_nodes_a_format_cannot_express(tmp_path, capsys):
    example, _ = UNSUPPORTED_CASES["AdaptiveMaxPool2d"]
    graph = write_graph(tmp_path, one_node_graph("AdaptiveMaxPool2d", example))
    out = tmp_path / "m.onnx"
    assert main(["export", str(graph), "--format", "onnx", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: EXPORT_UNSUPPORTED [n]: n (AdaptiveMaxPool2d) cannot be exported to ONNX: ")
    assert not out.exists()


def test_cli_still_writes_mermaid(tmp_path, capsys):
    graph = write_graph(tmp_path, two_heads())
    assert main(["export", str(graph), "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TB")
