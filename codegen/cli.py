"""``python -m codegen``: generate PyTorch source from a graph, validate a graph, list templates, import a model,
export a graph as a diagram (Mermaid, SVG, PNG) or its model as ONNX, torch.export or TorchScript, summarise a
model's parameters and FLOPs.

Usable without Django: it imports only the engine.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .api import generate, load_graph, package_zip, validate
from .diagnostics import GraphError
from .diagram import to_mermaid
from .document import YAML, dump_json, dump_yaml, load_document, syntax_of
from .exports import DEFAULT_OPSET, FORMATS, MAX_OPSET, MIN_OPSET, ExportFailed, export_model
from .figure import FigureTooLarge, to_png, to_svg
from .nodes.custom import class_paths
from .package import PACKAGE, SINGLE_FILE
from .schema import Limits, custom_module_pattern_problem
from .summary import summarize


def parse_input_shape(text: str) -> tuple[str | None, list[int]]:
    """``9,256`` (the only input) or ``name=9,256``."""
    name, sep, sizes = text.rpartition("=")
    try:
        shape = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 9,256 or name=9,256, got {text!r}") from None
    if not shape:
        raise argparse.ArgumentTypeError(f"expected sizes like 9,256 or name=9,256, got {text!r}")
    return (name if sep else None), shape


def add_input_shape_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input-shape",
        type=parse_input_shape,
        action="append",
        default=[],
        help="input sizes without the batch axis: 9,256 or NAME=9,256 (repeatable)",
    )


def parse_module_pattern(text: str) -> str:
    problem = custom_module_pattern_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def add_limits_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-module",
        type=parse_module_pattern,
        action="append",
        default=[],
        metavar="PATTERN",
        help="allow CustomModule nodes to build this class: pkg.module.Class, or pkg.* for all under pkg "
        "(repeatable; none is allowed by default)",
    )


def limits_of(args: argparse.Namespace) -> Limits:
    return Limits(custom_modules=tuple(args.allow_module))


def read_graph(path: str) -> bytes | Any:
    """The file's bytes (JSON or YAML, told apart by the engine), or a .yaml/.yml file's document, read as YAML."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SystemExit(f"error: cannot read {path}: {exc.strerror}") from None
    if syntax_of(path) != YAML:
        return raw
    try:
        return load_document(raw, YAML)
    except GraphError as exc:
        raise SystemExit(f"error: PARSE: {exc.diagnostics[0].message}") from None


def resolve_shapes(graph: bytes | Any, given: list[tuple[str | None, list[int]]]) -> dict[str, list[int]] | None:
    if not given:
        return None
    shapes: dict[str, list[int]] = {}
    unnamed = [shape for name, shape in given if name is None]
    if unnamed:
        try:
            document = load_document(graph) if isinstance(graph, (str, bytes)) else graph
            inputs = document.get("inputs", [])
        except (GraphError, AttributeError):
            inputs = []
        if len(inputs) != 1 or len(unnamed) > 1:
            raise SystemExit("error: the graph has several inputs; write --input-shape NAME=SIZES for each")
        shapes[inputs[0]] = unnamed[0]
    shapes.update({name: shape for name, shape in given if name is not None})
    return shapes


def print_diagnostics(diagnostics, stream) -> None:
    for d in diagnostics:
        where = f" [{d.node}]" if d.node else ""
        print(f"{d.severity}: {d.code}{where}: {d.message}", file=stream)


def cmd_validate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen validate", description="Validate a graph file (JSON or YAML)."
    )
    parser.add_argument("graph", help="graph file (JSON, or YAML: .yaml/.yml), or - for standard input")
    add_input_shape_option(parser)
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    add_limits_option(parser)
    args = parser.parse_args(argv)
    graph = read_graph(args.graph)
    result = validate(graph, input_shapes=resolve_shapes(graph, args.input_shape), limits=limits_of(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_diagnostics(result.diagnostics, sys.stdout)
        if result.ok:
            total = result.params_total
            counted = f"{total:,} parameters" if total is not None else uncounted(graph)
            print(f"ok: {len(result.analysis.order)} nodes, {counted}")
    return 0 if result.ok else 1


def uncounted(graph: bytes | Any) -> str:
    """Why a valid graph's parameter count is unknown: custom modules (never imported to count), or open sizes."""
    custom = class_paths(load_graph(graph))
    if custom:
        return f"parameter count unknown: custom modules are not imported to count them ({', '.join(custom)})"
    return "parameter count known once input shapes are"


def cmd_generate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Generate PyTorch source from a TorchCanvas graph. Other commands: validate, templates, import, export.",
    )
    parser.add_argument(
        "--graph", required=True, help="graph file (JSON, or YAML: .yaml/.yml), or - for standard input"
    )
    parser.add_argument("--name", default="Model", help="package (or module) name, a Python identifier")
    parser.add_argument("--out", default="generated", help="output folder (created if missing)")
    parser.add_argument("--with-train", action="store_true", help="also write train.py, a smoke-training script")
    parser.add_argument("--single-file", action="store_true", help="write one NAME.py instead of a package")
    parser.add_argument("--zip", action="store_true", help="write NAME.zip instead of loose files")
    add_input_shape_option(parser)
    add_limits_option(parser)
    args = parser.parse_args(argv)
    graph = read_graph(args.graph)
    try:
        files = generate(
            graph,
            name=args.name,
            layout=SINGLE_FILE if args.single_file else PACKAGE,
            with_train=args.with_train,
            input_shapes=resolve_shapes(graph, args.input_shape),
            limits=limits_of(args),
        )
    except GraphError as exc:
        print_diagnostics(exc.diagnostics, sys.stderr)
        return 1
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if args.zip:
            target = out / f"{args.name}.zip"
            target.write_bytes(package_zip(files))
            print(f"wrote {target}")
            return 0
        for path, text in files.items():
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    except OSError as exc:  # --out names a file, or a folder we may not write to
        print(f"error: cannot write to {exc.filename or args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def cmd_templates(argv: list[str]) -> int:
    from .templates import list_templates, load_template

    parser = argparse.ArgumentParser(
        prog="python -m codegen templates", description="List or print built-in templates."
    )
    parser.add_argument("name", nargs="?", help="print this template's graph JSON")
    args = parser.parse_args(argv)
    if args.name:
        try:
            print(json.dumps(load_template(args.name), indent=2, ensure_ascii=False))
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return 1
        return 0
    for template in list_templates():
        print(f"{template['name']:<24} {template['title']}")
    return 0


def parse_arg(text: str) -> tuple[str, object]:
    """``k=v`` for the model's constructor: v as int, float, bool (true/false) or else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    if raw.lower() in ("true", "false"):
        return key, raw.lower() == "true"
    for kind in (int, float):
        try:
            return key, kind(raw)
        except ValueError:
            pass
    return key, raw


def build_target(target: str, kwargs: dict[str, object]):
    """``pkg.module:callable`` called with ``kwargs``: a class or a function returning an ``nn.Module``."""
    import importlib

    from torch import nn

    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"error: expected MODULE:CALLABLE (e.g. my_pkg.models:build_model), got {target!r}")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the current folder, as `python -m` gives it for the user's own packages
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"error: cannot find {target}: {exc}") from None
    try:
        model = factory(**kwargs)
    except Exception as exc:  # the user's constructor: report it in one line
        raise SystemExit(f"error: {target}(**{kwargs}) failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise SystemExit(f"error: {target} returned {type(model).__name__}, not an nn.Module")
    return model


@dataclass(frozen=True)
class ModelLibrary:
    """A package of named architectures for ``--from PACKAGE:NAME``: its names, and how one is built."""

    names: list[str]
    build: Callable[..., Any]  # build(name, **kwargs) -> nn.Module, never downloading weights


def torchvision_library(models: Any) -> ModelLibrary:
    """``torchvision.models`` as a library: ``get_model`` with ``weights=None``."""
    return ModelLibrary(sorted(models.list_models()), lambda name, **kw: models.get_model(name, weights=None, **kw))


def _torchvision() -> ModelLibrary:
    import torchvision.models as models

    return torchvision_library(models)


def _timm() -> ModelLibrary:
    import timm

    return ModelLibrary(sorted(timm.list_models()), lambda name, **kw: timm.create_model(name, pretrained=False, **kw))


# What ``--from`` knows; each loader imports its package only when asked (tests put a guarded loader here).
MODEL_LIBRARIES: dict[str, Callable[[], ModelLibrary]] = {"torchvision": _torchvision, "timm": _timm}
_WEIGHT_ARGS = ("weights", "pretrained", "pretrained_cfg", "checkpoint_path")


def build_from_library(spec: str, kwargs: dict[str, object]):
    """``torchvision:resnet50`` built by name with random weights (nothing is ever downloaded)."""
    from torch import nn

    package, sep, name = spec.partition(":")
    if not sep or not name or package not in MODEL_LIBRARIES:
        known = ", ".join(f"{p}:NAME" for p in MODEL_LIBRARIES)
        raise SystemExit(f"error: --from expects {known} (e.g. torchvision:resnet50), got {spec!r}")
    refused = [key for key in kwargs if key in _WEIGHT_ARGS]
    if refused:
        raise SystemExit(f"error: --from builds the architecture only, with random weights; drop --arg {refused[0]}")
    try:
        library = MODEL_LIBRARIES[package]()
    except ModuleNotFoundError as exc:
        if (exc.name or package).split(".")[0] != package:  # the package is there; something it needs is not
            raise SystemExit(f"error: {package} is installed but cannot be imported: {exc}") from None
        raise SystemExit(
            f"error: {package} is not installed (pip install {package}); --from {package}:NAME needs it"
        ) from None
    except Exception as exc:  # installed but broken, e.g. a torchvision built for another torch
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SystemExit(
            f"error: {package} is installed but cannot be imported ({reason}); install the {package} build "
            f"that matches your torch (pip install -U {package})"
        ) from None
    if name not in library.names:
        close = difflib.get_close_matches(name, library.names, n=6, cutoff=0.6)
        hint = (
            f"close names: {', '.join(close)}"
            if close
            else f"{len(library.names)} names, e.g. {', '.join(library.names[:5])}"
        )
        raise SystemExit(f"error: {package} has no model {name!r}; {hint}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation notes of the library, not the user's concern here
            model = library.build(name, **kwargs)
    except Exception as exc:  # bad keyword arguments: one line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SystemExit(f"error: {package} {name}(**{kwargs}) failed: {type(exc).__name__}: {reason}") from None
    if not isinstance(model, nn.Module):
        raise SystemExit(f"error: {package} {name} gave {type(model).__name__}, not an nn.Module")
    return model


def _default_image_shape(model: Any) -> list[int]:
    """The input size a library model states (timm's ``pretrained_cfg``), else ImageNet's 3x224x224."""
    size = (getattr(model, "pretrained_cfg", None) or {}).get("input_size")
    return [int(s) for s in size] if size else [3, 224, 224]


def cmd_import(argv: list[str]) -> int:
    from .importer import from_module, load_generated

    parser = argparse.ArgumentParser(
        prog="python -m codegen import",
        description="Import a PyTorch nn.Module (or a package TorchCanvas generated) as a graph JSON, "
        "and optionally push it to a TorchCanvas server.",
    )
    parser.add_argument("target", nargs="?", help="MODULE:CALLABLE, a class or a function returning the model")
    parser.add_argument("--generated", metavar="DIR", help="a generated package folder (holding __init__.py)")
    parser.add_argument(
        "--from",
        dest="library",
        metavar="PACKAGE:NAME",
        help="an architecture by name: torchvision:resnet50 or timm:NAME (random weights, nothing downloaded)",
    )
    parser.add_argument("--arg", type=parse_arg, action="append", default=[], help="NAME=VALUE for the callable")
    parser.add_argument("--name", help="graph name (default: the model's class name)")
    parser.add_argument("--out", help="graph JSON file to write (default: standard output, unless --push)")
    parser.add_argument(
        "--placeholders",
        action="store_true",
        help="import the rest where a part has no node type: a NotImported node stands in its place (to replace "
        "on the canvas; no code is generated until then)",
    )
    add_input_shape_option(parser)
    push = parser.add_argument_group("push to a TorchCanvas server")
    push.add_argument("--push", metavar="URL", help="the server, e.g. http://localhost:8000: save the graph there")
    push.add_argument("--token", help="API token (default: $TORCHCANVAS_TOKEN); POST /api/auth/token/ gives one")
    push.add_argument("--graph", type=int, metavar="ID", help="save as a new version of this graph (else: a new graph)")
    push.add_argument("--message", help="the new version's message (with --graph)")
    args = parser.parse_args(argv)
    if sum(bool(x) for x in (args.target, args.generated, args.library)) != 1:
        parser.error("give one of MODULE:CALLABLE, --generated DIR or --from PACKAGE:NAME")
    token = args.token or os.environ.get("TORCHCANVAS_TOKEN")
    if args.push and not token:
        parser.error("--push needs --token (or $TORCHCANVAS_TOKEN)")
    if (args.graph is not None or args.message) and not args.push:
        parser.error("--graph and --message go with --push URL")
    if args.message and args.graph is None:
        parser.error('--message goes with --graph ID (a new graph\'s first version is called "Imported")')
    named = {name: shape for name, shape in args.input_shape if name is not None}
    unnamed = [shape for name, shape in args.input_shape if name is None]
    if len(unnamed) > 1 or (unnamed and named):
        parser.error("several inputs: write --input-shape NAME=SIZES for each")
    server = None
    if args.push:
        from .push import PushError, Server

        try:
            server = Server(args.push, token)
        except PushError as exc:
            parser.error(str(exc))
    importing = functools.partial(from_module, placeholders=args.placeholders)
    try:
        if args.generated:
            model, shapes, _ = load_generated(args.generated, named or None)
            graph = importing(model, shapes if not unnamed else unnamed[0], name=args.name)
            graph["metadata"]["description"] = f"Imported from the generated package {args.generated}."
        elif args.library:
            model = build_from_library(args.library, dict(args.arg))
            shapes = unnamed[0] if unnamed else (named or _default_image_shape(model))
            graph = importing(model, shapes, name=args.name or args.library.partition(":")[2])
            graph["metadata"]["description"] = f"Imported from {args.library} (random weights)."
        else:
            model = build_target(args.target, dict(args.arg))
            graph = importing(model, unnamed[0] if unnamed else (named or None), name=args.name)
    except GraphError as exc:
        print_diagnostics(exc.diagnostics, sys.stderr)
        if not args.placeholders and any(d.node for d in exc.diagnostics):
            print("(--placeholders imports the rest, with a marked node in place of each such part)", file=sys.stderr)
        return 1
    report_placeholders(graph, sys.stderr)
    if args.out or not server:
        status = write_graph(graph, args.out or "-")
        if status:
            return status
    if server is not None:
        message = args.message or f"Pushed from {args.generated or args.library or args.target}"
        stream = sys.stderr if args.out == "-" else sys.stdout  # standard output holds the graph JSON then
        return push_graph(server, graph, args.graph, message, args.name, stream)
    return 0


def report_placeholders(graph: dict[str, Any], stream: Any) -> None:
    """What ``--placeholders`` stood in for: each NotImported node, to replace before code can be generated."""
    if not any(node["type"] == "NotImported" for node in graph["nodes"]):
        return
    found = [d for d in validate(graph).diagnostics if d.code == "NOT_IMPORTED"]
    if found:
        print(f"{len(found)} part(s) not imported; replace each NotImported node on the canvas:", file=stream)
        print_diagnostics(found, stream)


def write_output(text: str | bytes, out: str | None) -> bool:
    """``text`` (or bytes, to a file only) to the file ``out``, or to standard output for ``-`` or none; False
    (and why) if it cannot be."""
    if out in (None, "-"):
        sys.stdout.write(text)  # type: ignore[arg-type]
        return True
    try:
        if isinstance(text, bytes):
            Path(out).write_bytes(text)
        else:
            Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return False
    return True


def write_graph(graph: dict[str, Any], out: str) -> int:
    if not write_output(json.dumps(graph, indent=2, ensure_ascii=False) + "\n", out):
        return 1
    if out != "-":
        print(f"wrote {out}: {len(graph['nodes'])} nodes", file=sys.stderr)
    return 0


def push_graph(
    server: Any, graph: dict[str, Any], graph_id: int | None, message: str, name: str | None, stream: Any
) -> int:
    from .push import PushError, push_new, push_version

    try:
        if graph_id is None:
            line = push_new(server, graph)
        else:
            line = push_version(server, graph_id, graph, message[:500], name)
    except PushError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(line, file=stream)
    return 0


# The document itself, keys in its own order: a YAML file as JSON, or the reverse.
DOCUMENT_FORMATS: dict[str, Callable[[Any], str]] = {
    "yaml": dump_yaml,
    "json": dump_json,
}


def cmd_export(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen export",
        description="Export a graph in another format: mermaid (a flowchart of the architecture, with shapes), "
        "svg or png (a figure of it drawn as the canvas draws it), yaml or json (the document itself), or the model "
        "as onnx, pt2 (torch.export) or torchscript, each reloaded and checked against PyTorch.",
    )
    parser.add_argument("graph", help="graph file (JSON, or YAML: .yaml/.yml), or - for standard input")
    parser.add_argument(
        "--format", required=True, choices=["mermaid", "svg", "png", *DOCUMENT_FORMATS, *FORMATS], help="what to write"
    )
    parser.add_argument(
        "--direction", choices=["TB", "LR"], default="TB", help="mermaid: top to bottom (default) or left to right"
    )
    parser.add_argument("--expand-blocks", action="store_true", help="svg, png: draw each block's layers in a frame")
    parser.add_argument("--out", help="file to write (default: standard output; png and the model formats need a file)")
    parser.add_argument("--opset", type=int, help=f"ONNX opset, {MIN_OPSET} to {MAX_OPSET} (default {DEFAULT_OPSET})")
    add_input_shape_option(parser)
    add_limits_option(parser)
    args = parser.parse_args(argv)
    if args.format in ("png", *FORMATS) and args.out in (None, "-"):
        parser.error(f"--format {args.format} writes a binary file: give --out FILE")
    if args.opset is not None and args.format != "onnx":
        parser.error("--opset goes with --format onnx")
    graph = read_graph(args.graph)
    shapes = resolve_shapes(graph, args.input_shape)
    limits = limits_of(args)
    if args.format in FORMATS:
        return export_model_file(graph, args.format, args.out, shapes, args.opset, limits)
    try:
        if args.format in DOCUMENT_FORMATS:
            text: str | bytes = DOCUMENT_FORMATS[args.format](load_graph(graph).document)
        elif args.format == "mermaid":
            text = to_mermaid(graph, input_shapes=shapes, direction=args.direction, limits=limits)
        else:
            draw = to_svg if args.format == "svg" else to_png
            text = draw(graph, input_shapes=shapes, expand_blocks=args.expand_blocks, limits=limits)
    except GraphError as exc:
        print_diagnostics(exc.diagnostics, sys.stderr)
        return 1
    except FigureTooLarge as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not write_output(text, args.out):
        return 1
    if args.out:
        print(f"wrote {args.out}")
    return 0


SUMMARY_FORMATS: dict[str, Callable[[Any], str]] = {
    "table": lambda summary: summary.to_table(),
    "md": lambda summary: summary.to_markdown(),
    "csv": lambda summary: summary.to_csv(),
    "json": lambda summary: json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n",
}


def cmd_summary(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen summary",
        description="Per node and in total: output shape, parameters, FLOPs/MACs at batch 1 and activation memory "
        "per sample.",
    )
    parser.add_argument("graph", help="graph file (JSON, or YAML: .yaml/.yml), or - for standard input")
    parser.add_argument(
        "--format", choices=list(SUMMARY_FORMATS), default="table", help="table (default), md, csv or json"
    )
    parser.add_argument("--out", help="file to write (default: standard output)")
    add_input_shape_option(parser)
    add_limits_option(parser)
    args = parser.parse_args(argv)
    graph = read_graph(args.graph)
    try:
        summary = summarize(graph, input_shapes=resolve_shapes(graph, args.input_shape), limits=limits_of(args))
    except GraphError as exc:
        print_diagnostics(exc.diagnostics, sys.stderr)
        return 1
    if not write_output(SUMMARY_FORMATS[args.format](summary), args.out):
        return 1
    if summary.params is None and class_paths(load_graph(graph)):
        print(f"note: {uncounted(graph)}", file=sys.stderr)
    if args.out:
        print(f"wrote {args.out}")
    return 0


COMMANDS = {
    "validate": cmd_validate,
    "templates": cmd_templates,
    "import": cmd_import,
    "export": cmd_export,
    "summary": cmd_summary,
}


def export_model_file(
    graph: bytes | Any, fmt: str, out: str, shapes: dict[str, list[int]] | None, opset: int | None, limits: Limits
) -> int:
    """The model as an ONNX, .pt2 or TorchScript file, with one line saying how well it matches PyTorch."""
    try:
        result = export_model(graph, fmt, out, input_shapes=shapes, opset=opset, limits=limits)
    except ExportFailed as exc:  # the graph's problems when those stopped it, else the one sentence
        if exc.diagnostics:
            print_diagnostics(exc.diagnostics, sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    opset_note = f", opset {result.opset}" if result.opset else ""
    print(
        f"wrote {out}: {result.size_bytes:,} bytes, {result.method}{opset_note}, "
        f"max abs diff {result.max_abs_diff:.2g} (tolerance {result.tolerance:g})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if argv and argv[0] == "generate":
        argv = argv[1:]
    return cmd_generate(argv)
