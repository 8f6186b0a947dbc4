"""``python -m codegen``: generate PyTorch source from a graph, validate a graph, list templates, import a model.

Usable without Django: it imports only the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .api import generate, package_zip, validate
from .diagnostics import GraphError
from .package import PACKAGE, SINGLE_FILE


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


def read_graph(path: str) -> str | bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SystemExit(f"error: cannot read {path}: {exc.strerror}") from None


def resolve_shapes(graph: str | bytes, given: list[tuple[str | None, list[int]]]) -> dict[str, list[int]] | None:
    if not given:
        return None
    shapes: dict[str, list[int]] = {}
    unnamed = [shape for name, shape in given if name is None]
    if unnamed:
        try:
            inputs = json.loads(graph).get("inputs", [])
        except (ValueError, AttributeError):
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
    parser = argparse.ArgumentParser(prog="python -m codegen validate", description="Validate a graph JSON file.")
    parser.add_argument("graph", help="graph JSON file, or - for standard input")
    add_input_shape_option(parser)
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    graph = read_graph(args.graph)
    result = validate(graph, input_shapes=resolve_shapes(graph, args.input_shape))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_diagnostics(result.diagnostics, sys.stdout)
        if result.ok:
            total = result.params_total
            counted = f"{total:,} parameters" if total is not None else "parameter count known once input shapes are"
            print(f"ok: {len(result.analysis.order)} nodes, {counted}")
    return 0 if result.ok else 1


def cmd_generate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Generate PyTorch source from a TorchCanvas graph. Other commands: validate, templates, import.",
    )
    parser.add_argument("--graph", required=True, help="graph JSON file, or - for standard input")
    parser.add_argument("--name", default="Model", help="package (or module) name, a Python identifier")
    parser.add_argument("--out", default="generated", help="output folder (created if missing)")
    parser.add_argument("--with-train", action="store_true", help="also write train.py, a smoke-training script")
    parser.add_argument("--single-file", action="store_true", help="write one NAME.py instead of a package")
    parser.add_argument("--zip", action="store_true", help="write NAME.zip instead of loose files")
    add_input_shape_option(parser)
    args = parser.parse_args(argv)
    graph = read_graph(args.graph)
    try:
        files = generate(
            graph,
            name=args.name,
            layout=SINGLE_FILE if args.single_file else PACKAGE,
            with_train=args.with_train,
            input_shapes=resolve_shapes(graph, args.input_shape),
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


def cmd_import(argv: list[str]) -> int:
    from .importer import from_module, load_generated

    parser = argparse.ArgumentParser(
        prog="python -m codegen import",
        description="Import a PyTorch nn.Module (or a package TorchCanvas generated) as a graph JSON.",
    )
    parser.add_argument("target", nargs="?", help="MODULE:CALLABLE, a class or a function returning the model")
    parser.add_argument("--generated", metavar="DIR", help="a generated package folder (holding __init__.py)")
    parser.add_argument("--arg", type=parse_arg, action="append", default=[], help="NAME=VALUE for the callable")
    parser.add_argument("--name", help="graph name (default: the model's class name)")
    parser.add_argument("--out", default="-", help="graph JSON file to write (default: standard output)")
    add_input_shape_option(parser)
    args = parser.parse_args(argv)
    if bool(args.target) == bool(args.generated):
        parser.error("give either MODULE:CALLABLE or --generated DIR")
    named = {name: shape for name, shape in args.input_shape if name is not None}
    unnamed = [shape for name, shape in args.input_shape if name is None]
    if len(unnamed) > 1 or (unnamed and named):
        parser.error("several inputs: write --input-shape NAME=SIZES for each")
    try:
        if args.generated:
            model, shapes, _ = load_generated(args.generated, named or None)
            graph = from_module(model, shapes if not unnamed else unnamed[0], name=args.name)
            graph["metadata"]["description"] = f"Imported from the generated package {args.generated}."
        else:
            model = build_target(args.target, dict(args.arg))
            graph = from_module(model, unnamed[0] if unnamed else (named or None), name=args.name)
    except GraphError as exc:
        print_diagnostics(exc.diagnostics, sys.stderr)
        return 1
    text = json.dumps(graph, indent=2, ensure_ascii=False) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(args.out).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {len(graph['nodes'])} nodes", file=sys.stderr)
    return 0


COMMANDS = {"validate": cmd_validate, "templates": cmd_templates, "import": cmd_import}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if argv and argv[0] == "generate":
        argv = argv[1:]
    return cmd_generate(argv)
