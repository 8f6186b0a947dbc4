"""Smoke-train a generated package on random data (the seed's quick start C).

    python -m codegen.train_dummy --pkg generated.MyPkg --pkg-path . --C 9 --T 256 --num-classes 18 --epochs 1

Imports the package, builds the model with ``build_model()``, and runs forward, backward and
optimizer steps, printing the loss of every step and a summary. Exits 1 if the loss is not finite.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Step:
    index: int  # 1-based over the whole run
    epoch: int
    loss: float
    seconds: float  # wall time of this step


def loss_and_targets(
    output: torch.Tensor, num_classes: int | None
) -> tuple[nn.Module, Callable[[torch.Tensor], torch.Tensor]]:
    """Cross-entropy over class logits (B, K); mean squared error against noise for any other output."""
    if output.dim() == 2 and output.dtype.is_floating_point and output.shape[1] > 1:
        classes = output.shape[1]
        if num_classes is not None and num_classes != classes:
            raise ValueError(f"the model outputs {classes} classes but --num-classes is {num_classes}")
        return nn.CrossEntropyLoss(), lambda out: torch.randint(0, classes, (out.shape[0],), device=out.device)
    if num_classes is not None:
        raise ValueError(f"--num-classes needs (B, classes) logits, but the model outputs {tuple(output.shape)}")
    return nn.MSELoss(), lambda out: torch.randn_like(out)


def train_steps(
    model: nn.Module,
    make_inputs: Callable[[], tuple[torch.Tensor, ...]],
    steps: int,
    *,
    epochs: int = 1,
    lr: float = 1e-3,
    num_classes: int | None = None,
) -> Iterator[Step]:
    """Forward, backward and AdamW steps on fresh random batches; yields one :class:`Step` per step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    loss_fn: nn.Module | None = None
    make_target: Callable[[torch.Tensor], torch.Tensor] | None = None
    index = 0
    for epoch in range(1, epochs + 1):
        for _ in range(steps):
            index += 1
            start = time.perf_counter()
            output = model(*make_inputs())
            if isinstance(output, tuple):
                output = output[0]
            if loss_fn is None:
                loss_fn, make_target = loss_and_targets(output, num_classes)
            loss = loss_fn(output, make_target(output))  # type: ignore[misc]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            yield Step(index, epoch, loss.item(), time.perf_counter() - start)


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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    sys.path.insert(0, args.pkg_path)
    try:
        package = importlib.import_module(args.pkg)
    except ImportError as exc:
        print(f"error: cannot import {args.pkg} from {args.pkg_path}: {exc}", file=sys.stderr)
        return 1
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    try:
        shapes = input_shapes(package, args)
        model = package.build_model(shapes).to(device)
        params = sum(p.numel() for p in model.parameters())
        print(f"{type(model).__name__}: {params:,} parameters on {device}")

        def make_inputs() -> tuple[torch.Tensor, ...]:
            return tuple(t.to(device) for t in package.example_inputs(args.batch_size, shapes))

        start = time.perf_counter()
        last = None
        for step in train_steps(
            model, make_inputs, args.steps_per_epoch, epochs=args.epochs, lr=args.lr, num_classes=args.num_classes
        ):
            print(f"epoch {step.epoch} step {step.index}/{args.epochs * args.steps_per_epoch}  loss {step.loss:.4f}")
            if not math.isfinite(step.loss):
                print(f"error: loss became {step.loss} at step {step.index}", file=sys.stderr)
                return 1
            last = step
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    samples = args.epochs * args.steps_per_epoch * args.batch_size
    final = f"{last.loss:.4f}" if last else "n/a"
    print(f"done: {samples} samples in {elapsed:.2f}s ({samples / elapsed:.1f} samples/s), final loss {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
