"""The importer's shape pass: every fx node's tensor sizes, learned on the meta device, without computing.

The traced graph runs on meta inputs. A tensor the graph reads from the module comes as a meta tensor of its
size, and a layer that runs its kernel has its parameters and buffers swapped for meta tensors only for that
call (put back after, with any tensor its forward() stored on it; nothing is copied). Torch's meta kernels
are mostly Python decompositions, about 1 ms a call on a CPU (a batch norm, a linear layer, a layer norm,
even a ReLU), which made this pass several times slower than tracing. So the layers and operators whose
output size is a plain function of their input's have it computed here: for their exact classes only,
without forward hooks, and only where the input passes the checks the kernel would make (channels, rank,
dtype); anything else runs torch's own kernel, which raises as it would. ``tests/codegen/
test_importer_shapes.py`` compares each shortcut with the kernel.

When the meta run fails (an op without a meta kernel, code that reads tensor values), the caller runs the
module for real, which names the node that fails and its source line.
"""

from __future__ import annotations

import contextlib
import io
import operator
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import fx, nn

Size = tuple[int, ...]


class TensorShape(NamedTuple):
    """What the shape pass records of a tensor (``node.meta["tensor_meta"]``, as fx's ShapeProp names it)."""

    shape: torch.Size
    dtype: torch.dtype


def _same(module: nn.Module, x: torch.Tensor) -> Size:
    return x.shape


def _gelu(module: nn.GELU, x: torch.Tensor) -> Size | None:
    return x.shape if module.approximate in ("none", "tanh") else None


def _sized(tensor: torch.Tensor | None, size: Size, dtype: torch.dtype) -> bool:
    """An optional weight is absent, or has ``size`` and ``dtype``."""
    return tensor is None or (tuple(tensor.shape) == size and tensor.dtype == dtype)


def _linear(module: nn.Linear, x: torch.Tensor) -> Size | None:
    weight = module.weight
    if weight.dim() != 2 or x.dim() < 1 or x.shape[-1] != weight.shape[1] or weight.dtype != x.dtype:
        return None
    return (*x.shape[:-1], weight.shape[0]) if _sized(module.bias, weight.shape[:1], x.dtype) else None


def _layer_norm(module: nn.LayerNorm, x: torch.Tensor) -> Size | None:
    normalized = tuple(module.normalized_shape)
    if x.dim() < len(normalized) or tuple(x.shape[x.dim() - len(normalized) :]) != normalized:
        return None
    return x.shape if _sized(module.weight, normalized, x.dtype) and _sized(module.bias, normalized, x.dtype) else None


def _batch_norm(ranks: tuple[int, ...]) -> Callable[[nn.Module, torch.Tensor], Size | None]:
    def size(module: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> Size | None:
        # Eval mode with running statistics: (x - mean) / std * weight + bias, channel by channel.
        if module.training or module.running_mean is None or module.running_var is None or x.dim() not in ranks:
            return None
        channels = (x.shape[1],)
        tensors = (module.running_mean, module.running_var, module.weight, module.bias)
        return x.shape if all(_sized(t, channels, x.dtype) for t in tensors) else None

    return size


def _conv(dims: int) -> Callable[[nn.Module, torch.Tensor], Size | None]:
    def size(module: nn.modules.conv._ConvNd, x: torch.Tensor) -> Size | None:
        weight = module.weight  # (out, in / groups, *kernel)
        if module.padding_mode != "zeros" or x.dim() != dims + 2 or weight.dim() != dims + 2:
            return None
        if x.shape[1] != weight.shape[1] * module.groups or weight.dtype != x.dtype:
            return None
        if not _sized(module.bias, weight.shape[:1], x.dtype):
            return None
        spatial = x.shape[2:]
        if module.padding == "same":
            out = tuple(spatial)
        else:
            padding = (0,) * dims if module.padding == "valid" else module.padding
            out = tuple(
                (n + 2 * p - d * (k - 1) - 1) // s + 1
                for n, p, d, k, s in zip(spatial, padding, module.dilation, weight.shape[2:], module.stride)
            )
        return (x.shape[0], weight.shape[0], *out) if min(out) >= 1 else None

    return size


def _adaptive(dims: int) -> Callable[[nn.Module, torch.Tensor], Size | None]:
    def size(module: nn.Module, x: torch.Tensor) -> Size | None:
        wanted = module.output_size
        wanted = (wanted,) * dims if isinstance(wanted, int) or wanted is None else tuple(wanted)
        if x.dim() not in (dims + 1, dims + 2) or len(wanted) != dims:
            return None
        out = tuple(n if w is None else w for w, n in zip(wanted, x.shape[-dims:]))
        return (*x.shape[:-dims], *out) if min(out) >= 1 else None

    return size


# Exact classes (a subclass may change forward) -> the output size for a floating-point input, or None to run
# the kernel. Activations and eval-mode batch norm keep the input's size and dtype.
SIZES: dict[type, Callable[[Any, torch.Tensor], Size | None]] = {
    **dict.fromkeys(
        (
            nn.ReLU,
            nn.LeakyReLU,
            nn.SiLU,
            nn.ELU,
            nn.Mish,
            nn.Hardswish,
            nn.ReLU6,
            nn.Hardsigmoid,
            nn.Hardtanh,
            nn.Softplus,
            nn.Sigmoid,
            nn.Tanh,
        ),
        _same,
    ),
    nn.GELU: _gelu,
    nn.Linear: _linear,
    nn.LayerNorm: _layer_norm,
    nn.BatchNorm1d: _batch_norm((2, 3)),
    nn.BatchNorm2d: _batch_norm((4,)),
    nn.BatchNorm3d: _batch_norm((5,)),
    nn.Conv1d: _conv(1),
    nn.Conv2d: _conv(2),
    nn.Conv3d: _conv(3),
    nn.AdaptiveAvgPool1d: _adaptive(1),
    nn.AdaptiveAvgPool2d: _adaptive(2),
}
PASS_THROUGH = (nn.Identity, nn.Dropout)  # eval mode: the input itself
ARITHMETIC = {operator.add, operator.sub, operator.mul, operator.truediv, torch.add, torch.sub, torch.mul}
# Called with the tensor alone, these keep its size and dtype (F.relu(x), torch.sigmoid(x), x.relu()).
UNARY_FUNCTIONS = {torch.relu, F.relu, torch.sigmoid, torch.tanh, F.gelu, F.silu, F.hardswish, F.relu6, F.mish}
UNARY_METHODS = {"relu", "sigmoid", "tanh"}


class MetaShapes(fx.Interpreter):
    """Runs ``graph`` on meta tensors, recording ``tensor_meta`` (sizes and dtype) on each node that makes one.

    The module's own tensors stay where they are: a tensor read by ``get_attr`` comes as a meta tensor of its
    size, and a layer that runs its kernel has its weights swapped for meta ones for the call (the shortcuts
    read only the weights' sizes). A layer with forward hooks, or its own ``forward`` set on the instance,
    always runs: a hook may change what it returns.
    """

    def __init__(self, module: nn.Module, graph: fx.Graph) -> None:
        super().__init__(module, graph=graph)
        global_hooks = getattr(torch.nn.modules.module, "_has_any_global_hook", lambda: True)
        self.global_hooks = bool(global_hooks())

    def run_node(self, n: fx.Node) -> Any:
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        result = getattr(self, n.op)(n.target, args, kwargs)
        found = False

        def record(value: Any) -> Any:
            nonlocal found
            if isinstance(value, torch.Tensor):
                found = True
                return TensorShape(value.shape, value.dtype)
            return value

        meta = fx.node.map_aggregate(result, record)
        if found:
            n.meta["tensor_meta"] = meta
        return result

    def call_module(self, target: Any, args: tuple, kwargs: dict) -> Any:
        module = self.fetch_attr(target)
        x = args[0] if len(args) == 1 and not kwargs and not self._hooked(module) else None
        if isinstance(x, torch.Tensor) and x.is_floating_point() and x.numel() > 0:
            kind = type(module)
            if kind in PASS_THROUGH:
                return x
            rule = SIZES.get(kind)
            size = rule(module, x) if rule is not None else None
            if size is not None:
                return x if getattr(module, "inplace", False) else _empty(size, x)
        with meta_weights(module):
            return module(*args, **kwargs)

    def call_method(self, target: Any, args: tuple, kwargs: dict) -> Any:
        if target in UNARY_METHODS and _one_tensor(args, kwargs):
            return _empty(args[0].shape, args[0])
        return super().call_method(target, args, kwargs)

    def get_attr(self, target: Any, args: tuple, kwargs: dict) -> Any:
        value = super().get_attr(target, args, kwargs)
        return _empty(value.shape, value, "meta") if isinstance(value, torch.Tensor) else value

    def _hooked(self, module: nn.Module) -> bool:
        return bool(
            self.global_hooks or module._forward_hooks or module._forward_pre_hooks or "forward" in module.__dict__
        )

    def call_function(self, target: Any, args: tuple, kwargs: dict) -> Any:
        if target in UNARY_FUNCTIONS and _one_tensor(args, kwargs):
            return _empty(args[0].shape, args[0])
        if target in ARITHMETIC and len(args) == 2 and not kwargs:
            a, b = args
            if (
                isinstance(a, torch.Tensor)
                and isinstance(b, torch.Tensor)
                and a.shape == b.shape
                and a.dtype == b.dtype
                and a.device == b.device
                and a.is_floating_point()
            ):
                return _empty(a.shape, a)
        return target(*args, **kwargs)


def _one_tensor(args: tuple, kwargs: dict) -> bool:
    return len(args) == 1 and not kwargs and isinstance(args[0], torch.Tensor) and args[0].is_floating_point()


def _empty(size: Size, like: torch.Tensor, device: Any = None) -> torch.Tensor:
    # empty_like takes ten times as long on meta
    return torch.empty(size, dtype=like.dtype, device=device or like.device)


@contextlib.contextmanager
def meta_weights(module: nn.Module) -> Iterator[None]:
    """Every parameter and buffer of ``module`` as a meta tensor of its size, the originals put back after.

    Tensors a forward() stores on its module as plain attributes (weight_norm's hook sets ``weight``, a cache)
    are put back too: no meta tensor stays behind in the user's module.
    """
    subs = list(module.modules())
    attributes = [(sub.__dict__, dict(sub.__dict__)) for sub in subs]
    swapped: list[tuple[dict[str, Any], str, torch.Tensor]] = []
    try:
        for sub in subs:
            for store in (sub._parameters, sub._buffers):
                for name, tensor in store.items():
                    if tensor is None:
                        continue
                    swapped.append((store, name, tensor))
                    meta = _empty(tensor.shape, tensor, "meta")
                    store[name] = nn.Parameter(meta, tensor.requires_grad) if isinstance(tensor, nn.Parameter) else meta
        yield
    finally:
        for store, name, tensor in swapped:
            store[name] = tensor
        for now, before in attributes:
            for name in [k for k, v in now.items() if isinstance(v, torch.Tensor) and v.is_meta]:
                if name in before:
                    now[name] = before[name]
                else:
                    del now[name]


def propagate_meta(module: nn.Module, graph: fx.Graph, inputs: list[torch.Tensor]) -> bool:
    """Record every node's shape; False where the meta run fails (the caller then runs it for real).

    Tensors that ``forward()`` makes itself (``torch.arange(n)``) land on the CPU unless the default device is
    meta, which costs every op a Python hop: a run that fails is tried again with it.
    """
    for default_device in (contextlib.nullcontext(), torch.device("meta")):
        try:
            with torch.no_grad(), default_device, contextlib.redirect_stderr(io.StringIO()):
                MetaShapes(module, graph=graph).run(*inputs)
        except Exception:
            continue
        return True
    return False
