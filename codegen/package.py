"""Assembling rendered classes into files: a package (``__init__.py``, ``blocks.py``, ``model.py``,
``train.py``) or a single module, and ZIP archives of either."""

from __future__ import annotations

import dis
import io
import re
import types
import zipfile
from dataclasses import dataclass

from .render import INDENT, Rendered, header, render_expr, safe_text, wrap_call
from .schema import Graph

PACKAGE = "package"
SINGLE_FILE = "file"


def _imports(
    sources: list[str],
    relative_blocks: list[str] | None = None,
    standard: tuple[str, ...] = (),
    imported: dict[str, str] | None = None,
) -> list[str]:
    """Only the imports the code below uses (ruff's F401 would flag any other), in isort's sections.

    Names are read from the compiled code, not its text, so that user text in docstrings and
    comments ("see F. Chollet") never adds an import. ``standard`` are standard-library imports the
    caller's own code needs; ``imported`` maps names the node types import (a CustomModule's class) to
    their modules, imported beside torch where the code reads them.
    """
    imported = imported or {}
    used = _globals_read("\n".join(sources), _IMPORTABLE | set(imported))
    stdlib = [*standard, *(["from collections import OrderedDict"] if "OrderedDict" in used else [])]
    lines = [*stdlib, ""] if stdlib else []
    if "torch" in used:
        lines.append("import torch")
    if "F" in used:
        lines.append("import torch.nn.functional as F")
    # isort's third-party section: `import` lines, then `from` lines ordered by module.
    modules: dict[str, list[str]] = {"torch": ["nn"]} if "nn" in used else {}
    for name, module in imported.items():
        if name in used:
            modules.setdefault(module, []).append(name)
    for module in sorted(modules, key=_module_key):
        lines += _from_import(module, modules[module])
    if relative_blocks:
        lines += ["", *_from_import(".blocks", relative_blocks)]
    return lines


def _module_key(module: str) -> tuple[str, str]:
    """isort's order of ``from`` lines (force-sort-within-sections off): by module, case-insensitively."""
    return (module.lower(), module)


_IMPORTABLE = frozenset({"torch", "F", "nn", "OrderedDict"})


def _globals_read(source: str, candidates: frozenset[str] | set[str] = _IMPORTABLE) -> set[str]:
    """Which of the ``candidates`` the code reads as globals (not as attributes: ``self.F`` is no use of F).

    From the bytecode rather than the syntax tree: compiling is several times faster than building an
    AST in Python objects, which mattered for 1,000-node models. A code object's ``co_names`` mixes
    globals and attribute names, so its instructions are read only for the names still in question.
    """
    found: set[str] = set()
    stack = [compile(source, "<generated>", "exec", dont_inherit=True)]  # not this module's __future__ flags
    while stack:
        code = stack.pop()
        wanted = (candidates - found) & set(code.co_names)
        if wanted:
            found |= {i.argval for i in dis.get_instructions(code) if i.opname in _GLOBAL_LOADS and i.argval in wanted}
        stack.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    return found


_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})


def isort_key(name: str) -> tuple[int, list[str | int], str]:
    """The order of names in ``from m import a, B, C`` and ``__all__`` under ruff's default isort.

    Constants first, then classes, then everything else; natural, case-insensitive order within each.
    """
    if len(name) > 1 and name.upper() == name and name.lower() != name:
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.lower())]
    return (kind, natural, name)


def _from_import(module: str, names: list[str]) -> list[str]:
    names = sorted(names, key=isort_key)
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 88:
        return [line]
    return [f"from {module} import (", *(f"{INDENT}{n}," for n in names), ")"]


def _join_classes(classes: list[list[str]]) -> list[str]:
    lines: list[str] = []
    for source in classes:
        if lines:
            lines += ["", ""]
        lines += source
    return lines


def helpers_source(r: Rendered) -> list[str]:
    """``INPUT_SHAPES``, ``example_inputs()`` and ``build_model()`` for the rendered model."""
    names = [r.arg_names[i] for i in r.input_shapes]
    shapes = [f'"{n}": {render_expr(s)}' for n, s in zip(names, r.input_shapes.values())]
    lines = [
        "# Sizes of each input without the batch axis; None where the graph left them open.",
        *_wrap_dict("INPUT_SHAPES: dict[str, tuple[int, ...] | None]", shapes),
        "",
        "",
        *wrap_call(
            "",
            "def example_inputs",
            ["batch_size: int = 2", "shapes: dict[str, tuple[int, ...]] | None = None"],
            " -> tuple[torch.Tensor, ...]:",
        ),
        f'{INDENT}"""Random inputs shaped as the model expects (``shapes`` overrides ``INPUT_SHAPES``)."""',
        f"{INDENT}sizes = {{**INPUT_SHAPES, **(shapes or {{}})}}",
        f"{INDENT}missing = [name for name, shape in sizes.items() if shape is None]",
        f"{INDENT}if missing:",
        f'{INDENT * 2}raise ValueError(f"give the shape of input(s) {{missing}} via shapes=...")',
    ]
    calls: list[tuple[str, list[str]]] = []
    for name, (dtype, vocab) in zip(names, r.input_dtypes.values()):
        if dtype == "int64":
            calls.append(("torch.randint", ["0", str(vocab or 2), f'(batch_size, *sizes["{name}"])']))
        else:
            calls.append(("torch.randn", ["batch_size", f'*sizes["{name}"]']))
    tensors = [f"{fn}({', '.join(args)})" for fn, args in calls]
    returned = f"{INDENT}return ({', '.join(tensors)}{',' if len(tensors) == 1 else ''})"
    if len(returned) <= 88:
        lines.append(returned)
    else:
        lines.append(f"{INDENT}return (")
        for fn, args in calls:
            lines += wrap_call(INDENT * 2, fn, args, ",")
        lines.append(f"{INDENT})")
    lines += [
        "",
        "",
        *wrap_call(
            "", "def build_model", ["shapes: dict[str, tuple[int, ...]] | None = None"], f" -> {r.model_class}:"
        ),
    ]
    if r.lazy:
        lines += [
            f'{INDENT}"""A ready-to-train ``{r.model_class}``; one dry forward pass sizes its lazy layers."""',
            f"{INDENT}model = {r.model_class}()",
            f"{INDENT}model.eval()",
            f"{INDENT}with torch.no_grad():",
            f"{INDENT * 2}model(*example_inputs(1, shapes))",
            f"{INDENT}return model.train()",
        ]
    else:
        lines += [
            f'{INDENT}"""A ready-to-train ``{r.model_class}`` (``shapes`` is accepted for symmetry with lazy models)."""',
            f"{INDENT}del shapes",
            f"{INDENT}return {r.model_class}()",
        ]
    return lines


def _wrap_dict(target: str, items: list[str]) -> list[str]:
    """A dict display on one line, or (as ruff format does for collections) one item per line."""
    line = f"{target} = {{{', '.join(items)}}}"
    if len(line) <= 88:
        return [line]
    return [f"{target} = {{", *(f"{INDENT}{item}," for item in items), "}"]


@dataclass
class _Step:
    """What one training step of ``train.py`` computes, by what the document says about its loss."""

    setup: list[str]  # lines after the model is built
    body: list[str]  # the step's lines up to the loss
    result: str  # the variable holding what the model returned
    report: str = ""  # added to the progress line (the metrics)
    loss_of: bool = False  # the step sums ``loss_of`` over several outputs


def _step(r: Rendered) -> _Step:
    """The document's loss on the outputs it names; else cross-entropy for (B, classes) scores and MSE
    otherwise, summed over several outputs (a dict's values for named outputs)."""
    recipe = r.recipe
    documented_loss = recipe is not None and bool(recipe.loss_keys)
    measured = recipe is not None and bool(recipe.metric_keys)
    several = r.output_count > 1 or r.named_outputs
    result = "outputs" if documented_loss or several else "output"
    step = _Step([], [f"{INDENT * 2}{result} = model(*inputs)"], result, loss_of=several and not documented_loss)
    if documented_loss or measured:
        step.body += [
            f"{INDENT * 2}targets = example_targets(args.batch_size)",
            f"{INDENT * 2}targets = {{k: t.to(device) for k, t in targets.items()}}",
        ]
    if documented_loss:
        step.setup.append(f"{INDENT}criterion = build_loss()")
        step.body.append(f'{INDENT * 2}loss = criterion(outputs, targets)["loss"]')
    elif several:
        values = "outputs.values()" if r.named_outputs else "outputs"
        step.body.append(f"{INDENT * 2}loss = sum(loss_of(output) for output in {values})")
    else:
        classify = r.output is not None and r.output.rank == 2
        step.setup.append(f"{INDENT}loss_fn = {'nn.CrossEntropyLoss()' if classify else 'nn.MSELoss()'}")
        step.body += [
            f"{INDENT * 2}target = torch.randint(0, output.shape[1], (args.batch_size,), device=device)"
            if classify
            else f"{INDENT * 2}target = torch.randn_like(output)",
            f"{INDENT * 2}loss = loss_fn(output, target)",
        ]
    if measured:
        step.setup.append(f"{INDENT}metrics = build_metrics()")
        step.report = "  {measured}"
    return step


def train_source(r: Rendered, import_line: str | None) -> list[str]:
    """The smoke-training loop: the canonical PyTorch loop, on random data (with the document's loss,
    metrics, optimizer and scheduler where it has them)."""
    recipe = r.recipe
    step = _step(r)
    documented = recipe is not None and "build_optimizer" in recipe.exported
    optimizer = (
        [f"{INDENT}optimizer = build_optimizer(model)", f"{INDENT}scheduler = build_scheduler(optimizer)"]
        if documented
        else [f"{INDENT}optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)"]
    )
    lines: list[str] = []
    if step.loss_of:
        lines += [
            "def loss_of(output: torch.Tensor) -> torch.Tensor:",
            f'{INDENT}"""Cross-entropy for (B, classes) scores, MSE for any other float output."""',
            f"{INDENT}if not output.is_floating_point():",
            f"{INDENT * 2}return output.new_zeros((), dtype=torch.float32)  # token ids: nothing to learn",
            f"{INDENT}if output.dim() == 2 and output.shape[1] > 1:",
            f"{INDENT * 2}batch, classes = output.shape",
            f"{INDENT * 2}target = torch.randint(0, classes, (batch,), device=output.device)",
            f"{INDENT * 2}return nn.functional.cross_entropy(output, target)",
            f"{INDENT}return nn.functional.mse_loss(output, torch.randn_like(output))",
            "",
            "",
        ]
    lines += [
        "def parse_shape(text: str) -> tuple[str, tuple[int, ...]]:",
        f'{INDENT}"""``x=9,256`` → ("x", (9, 256))."""',
        f'{INDENT}name, _, sizes = text.partition("=")',
        f'{INDENT}return name, tuple(int(s) for s in sizes.split(","))',
        "",
        "",
        "def main(argv: list[str] | None = None) -> float:",
        f'{INDENT}"""Train on random batches and return the last loss."""',
        *wrap_call(
            INDENT, "parser = argparse.ArgumentParser", [f'description="Smoke-train {r.model_class} on random data."']
        ),
        f'{INDENT}parser.add_argument("--steps", type=int, default=10)',
        f'{INDENT}parser.add_argument("--batch-size", type=int, default=8)',
        *([] if documented else [f'{INDENT}parser.add_argument("--lr", type=float, default=1e-3)']),
        f'{INDENT}parser.add_argument("--seed", type=int, default=0)',
        f"{INDENT}parser.add_argument(",
        f'{INDENT * 2}"--device", default="cuda" if torch.cuda.is_available() else "cpu"',
        f"{INDENT})",
        f"{INDENT}parser.add_argument(",
        f'{INDENT * 2}"--shape", type=parse_shape, action="append", default=[], help="e.g. x=9,256"',
        f"{INDENT})",
        *([f'{INDENT}parser.add_argument("--epochs", type=int, default=1)'] if documented else []),
        f"{INDENT}args = parser.parse_args(argv)",
        "",
        f"{INDENT}torch.manual_seed(args.seed)",
        f"{INDENT}device = torch.device(args.device)",
        f"{INDENT}shapes = dict(args.shape)",
        f"{INDENT}model = build_model(shapes).to(device)",
        *optimizer,
        *step.setup,
        *wrap_call(
            INDENT,
            "print",
            [f'f"{r.model_class}: {{sum(p.numel() for p in model.parameters()):,}} parameters on {{device}}"'],
        ),
        "",
        f"{INDENT}start = time.perf_counter()",
        *_loop(step, documented),
        f"{INDENT}elapsed = time.perf_counter() - start",
        f"{INDENT}rate = {'args.epochs * ' if documented else ''}args.steps * args.batch_size / elapsed",
        f'{INDENT}print(f"{{{"args.epochs * " if documented else ""}args.steps}} steps in {{elapsed:.2f}}s ({{rate:.1f}} samples/s)")',
        f"{INDENT}return loss.item()",
        "",
        "",
        'if __name__ == "__main__":',
        f"{INDENT}main()",
    ]
    if not import_line:
        return lines
    imports = [*_imports(lines, standard=("import argparse", "import time")), "", import_line]
    if recipe is not None:
        used = _globals_read("\n".join(lines), frozenset(recipe.exported))  # read from the code, as _imports does
        imports += _from_import(".recipe", [name for name in recipe.exported if name in used])
    return [*imports, "", "", *lines]


def _loop(step: _Step, epochs: bool) -> list[str]:
    """The training steps; with the document's optimizer, in epochs, its scheduler stepped after each."""
    body = [
        f"{INDENT * 2}inputs = [t.to(device) for t in example_inputs(args.batch_size, shapes)]",
        *step.body,
        f"{INDENT * 2}optimizer.zero_grad(set_to_none=True)",
        f"{INDENT * 2}loss.backward()",
        f"{INDENT * 2}optimizer.step()",
    ]
    if step.report:
        body += [
            f"{INDENT * 2}with torch.no_grad():",
            f"{INDENT * 3}measured = metrics({step.result}, targets)",
            f'{INDENT * 2}measured = "  ".join(f"{{k}} {{v.item():.4f}}" for k, v in measured.items())',
        ]
    body.append(f'{INDENT * 2}print(f"step {{step}}/{{args.steps}}  loss {{loss.item():.4f}}{step.report}")')
    if not epochs:
        return [f"{INDENT}for step in range(1, args.steps + 1):", *body]
    return [
        f"{INDENT}for epoch in range(1, args.epochs + 1):",
        f"{INDENT * 2}for step in range(1, args.steps + 1):",
        *(INDENT + line for line in body),
        f"{INDENT * 2}if scheduler is not None:",
        f"{INDENT * 3}scheduler.step()",
        f'{INDENT * 2}print(f"epoch {{epoch}}/{{args.epochs}} done")',
    ]


def _docstring(text: str) -> str:
    return f'"""{text}"""'


def build_files(graph: Graph, r: Rendered, name: str, layout: str, with_train: bool) -> dict[str, str]:
    title = safe_text(graph.name or r.model_class, 80)
    helpers = helpers_source(r)
    recipe = r.recipe
    if layout == SINGLE_FILE:
        body = _join_classes([*r.blocks, r.model, *(recipe.classes if recipe else [])]) + ["", ""] + helpers
        if recipe is not None:
            body += recipe.helpers
        if with_train:
            body += ["", ""] + train_source(r, None)
        imports = _imports(body, standard=("import argparse", "import time") if with_train else (), imported=r.imports)
        text = header(graph, "PyTorch model", r.source_hash) + [
            _docstring(f"{title}: a PyTorch model designed in TorchCanvas."),
            "",
        ]
        return {f"{name}.py": _finish(text + imports + ["", ""] + body)}

    files: dict[str, str] = {}
    block_names = r.uses_blocks
    blocks_body = _join_classes(r.blocks)
    blocks_text = header(graph, "Composite blocks", r.source_hash) + [
        _docstring(f"Composite blocks used by {r.model_class}."),
        "",
    ]
    if blocks_body:
        blocks_text += _imports(blocks_body, imported=r.imports) + ["", ""] + blocks_body
    else:
        blocks_text[-1:] = ["", "# This model uses no composite blocks."]
    files[f"{name}/blocks.py"] = _finish(blocks_text)

    model_body = r.model + ["", ""] + helpers
    model_text = header(graph, "The model", r.source_hash) + [_docstring(f"{title}: the model."), ""]
    model_text += _imports(model_body, block_names, imported=r.imports) + ["", ""] + model_body
    files[f"{name}/model.py"] = _finish(model_text)

    if recipe is not None:
        recipe_body = _join_classes(recipe.classes) + recipe.helpers
        recipe_text = header(graph, "Training recipe", r.source_hash) + [
            _docstring(f"Loss, metrics and optimizer of {r.model_class}, as the graph describes them."),
            "",
        ]
        recipe_text += _imports(recipe_body) + ["", ""] + (recipe_body[2:] if not recipe.classes else recipe_body)
        files[f"{name}/recipe.py"] = _finish(recipe_text)
    model_names = ["INPUT_SHAPES", r.model_class, "build_model", "example_inputs"]
    exported = sorted([*model_names, *(recipe.exported if recipe else [])], key=isort_key)
    init_text = header(graph, "Package entry point", r.source_hash) + [
        _docstring(f"{title}: a PyTorch model package generated by TorchCanvas."),
        "",
    ]
    init_text += _from_import(".model", sorted(model_names, key=isort_key))
    if recipe is not None:
        init_text += _from_import(".recipe", sorted(recipe.exported, key=isort_key))
    init_text += [""]
    init_text += _wrap_list("__all__", exported)
    files[f"{name}/__init__.py"] = _finish(init_text)
    if with_train:
        train_text = header(graph, "Smoke training", r.source_hash) + [
            _docstring(f"Smoke-train {r.model_class} on random data: ``python -m {name}.train --steps 10``."),
            "",
        ]
        train_text += train_source(r, "from .model import build_model, example_inputs")
        files[f"{name}/train.py"] = _finish(train_text)
    return files


def _wrap_list(target: str, names: list[str]) -> list[str]:
    quoted = [f'"{n}"' for n in names]
    line = f"{target} = [{', '.join(quoted)}]"
    if len(line) <= 88:
        return [line]
    return [f"{target} = [", *(f"{INDENT}{q}," for q in quoted), "]"]


def _finish(lines: list[str]) -> str:
    return "\n".join(lines).rstrip() + "\n"


def zip_files(files: dict[str, str]) -> bytes:
    """A deterministic ZIP archive (fixed timestamps, sorted entries) of generated files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[path])
    return buffer.getvalue()
