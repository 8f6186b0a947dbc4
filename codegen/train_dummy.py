"""Smoke-train a generated package on random data (the seed's quick start C).

    python -m codegen.train_dummy --pkg generated.MyPkg --pkg-path . --C 9 --T 256 --num-classes 18 --epochs 1

Imports the package and trains the model of its ``build_model()`` with the project's one training loop,
:func:`codegen.smoke.train_package` (forward, backward and AdamW steps by default), printing the loss of
every step and a summary. Exits 1 with a one-line error if anything goes wrong (a loss that is not finite,
a model that does not build, the wrong number of classes).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from pathlib import Path

from codegen.cli import add_limits_option, limits_of
from codegen.nodes.custom import not_installed, refusal, split_path
from codegen.smoke import (
    DATA_MODES,
    LOSSES,
    OPTIMIZERS,
    PRECISIONS,
    Progress,
    RunFailed,
    SmokeSettings,
    Started,
    select_backend,
    train_package,
)


def input_shapes(package, args: argparse.Namespace) -> dict[str, tuple[int, ...]] | None:
    """Shapes from --C/--T/--H/--W for a single-input model; ``None`` keeps the package's own."""
    sizes = [s for s in (args.C, args.T) if s is not None] if args.H is None else [args.C, args.H, args.W]
    if not any(s is not None for s in (args.C, args.T, args.H, args.W)):
        missing = [name for name, shape in package.INPUT_SHAPES.items() if shape is None]
        if missing:
            raise ValueError(
                f"the graph leaves the size of input(s) {missing} open: give --C and --T (or --C, --H, --W)"
            )
        return None
    if (args.H is None) != (args.W is None) or (args.H is not None and args.C is None):
        raise ValueError("--H and --W go together, with --C")
    names = list(package.INPUT_SHAPES)
    if len(names) != 1:
        raise ValueError(f"the model has inputs {names}; --C/--T/--H/--W describe a single input")
    return {names[0]: tuple(sizes)}


def custom_imports(folder: Path) -> list[str]:
    """The classes a generated package imports beyond torch and the standard library (its CustomModules),
    read from its source without running it."""
    found = []
    for name in ("model.py", "blocks.py"):
        path = folder / name
        if not path.is_file():
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                top = node.module.split(".")[0]
                if top != "torch" and top not in sys.stdlib_module_names:
                    found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen.train_dummy", description=__doc__.splitlines()[0])
    parser.add_argument("--pkg", required=True, help="dotted package name, e.g. generated.MyPkg")
    parser.add_argument("--pkg-path", default=".", help="folder to import the package from")
    parser.add_argument("--C", type=int, help="input channels (or features)")
    parser.add_argument("--T", type=int, help="sequence length, for (B, C, T) inputs")
    parser.add_argument("--H", type=int, help="height, for (B, C, H, W) inputs")
    parser.add_argument("--W", type=int, help="width, for (B, C, H, W) inputs")
    parser.add_argument("--num-classes", type=int, help="check the model outputs this many class logits")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps-per-epoch", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
    parser.add_argument("--loss", choices=LOSSES, default="auto", help="auto: cross-entropy for (B, classes), else MSE")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="bf16/fp16: mixed precision on CUDA")
    parser.add_argument(
        "--data", choices=DATA_MODES, default="random", help="random: a fresh batch per step; fixed: one batch, learnt"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is a GPU), cpu, cuda or cuda:N")
    add_limits_option(parser)
    args = parser.parse_args(argv)

    # The package's custom modules are checked against --allow-module before anything of it is imported.
    limits = limits_of(args)
    custom = custom_imports(Path(args.pkg_path, *args.pkg.split(".")))
    refused = [class_path for class_path in custom if not limits.allows_module(class_path)]
    if refused:
        print(f"error: {refusal(refused[0])}", file=sys.stderr)
        return 1
    sys.path.insert(0, args.pkg_path)
    try:
        package = importlib.import_module(args.pkg)
    except ImportError as exc:
        missing = [c for c in custom if exc.name and split_path(c)[0].split(".")[0] == exc.name.split(".")[0]]
        reason = not_installed(missing[0], exc) if missing else f"cannot import {args.pkg} from {args.pkg_path}: {exc}"
        print(f"error: {reason}", file=sys.stderr)
        return 1
    settings = SmokeSettings(
        batch_size=args.batch_size,
        steps=args.steps_per_epoch,
        epochs=args.epochs,
        optimizer=args.optimizer,
        lr=args.lr,
        loss=args.loss,
        precision=args.precision,
        data=args.data,
        seed=args.seed,
        num_classes=args.num_classes,
    )

    def started(info: Started) -> None:
        print(f"{info.model_name}: {info.params_total:,} parameters on {info.device}")

    def progress(step: Progress) -> None:
        print(f"epoch {step.epoch} step {step.step}/{step.total}  loss {step.loss:.4f}")

    try:
        shapes = input_shapes(package, args)
        metrics = train_package(
            package,
            settings,
            backend=select_backend(args.device),
            shapes=shapes,
            on_start=started,
            on_progress=progress,
            progress_interval_s=0,  # every step
        )
    except (ValueError, RunFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    samples, elapsed = metrics["samples"], max(metrics["elapsed_s"], 1e-9)
    print(
        f"done: {samples} samples in {elapsed:.2f}s ({samples / elapsed:.1f} samples/s), "
        f"final loss {metrics['loss']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
