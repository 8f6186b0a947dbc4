"""The reference interpreter: an ``nn.Module`` built straight from an analysed graph, no source involved.

Tests load the generated module's weights into this one and compare outputs; equal outputs prove
that printing, naming, wiring and block rendering preserved what the graph describes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .analysis import Analysis, NodeInfo, Scope, analyze_composite, emit_context
from .ir import Assign, Evaluator, Ref
from .naming import Namespace
from .nodes.custom import import_class
from .schema import Limits
from .tensor import TensorType


def base_namespaces() -> dict[str, Any]:
    """Names that node render rules may call: ``torch``, ``nn``, ``F`` and the built-in block classes."""
    from . import blocks

    return {"torch": torch, "nn": nn, "F": nn.functional, **blocks.BLOCK_CLASSES}


class GraphModule(nn.Module):
    """Executes the forward statements of every node in order, with submodules named as in generated code."""

    def __init__(self, analysis: Analysis, limits: Limits | None = None):
        super().__init__()
        from .render import attribute_names

        self._inputs = list(analysis.inputs)
        self._outputs = list(analysis.outputs)
        self._program: list[Assign] = []
        namespaces = base_namespaces()
        attrs = attribute_names(analysis)
        temps = Namespace(set(attrs.values()))
        variables: dict[tuple[str, int], str] = {(i, 0): f"input_{n}" for n, i in enumerate(self._inputs)}
        self._input_vars = [variables[(i, 0)] for i in self._inputs]
        for node_id in analysis.order:
            info = analysis.info[node_id]
            if node_id in self._inputs:
                continue
            inputs = [Ref(variables[(e.source, e.output or 0)]) for e in info.inputs]
            if info.node.disabled:
                variables[(node_id, 0)] = inputs[0].name
                continue
            outputs = tuple(temps.fresh(f"v_{attrs[node_id]}_{k}") for k in range(info.num_outputs))
            for k, name in enumerate(outputs):
                variables[(node_id, k)] = name
            if info.composite is not None:
                self._register(attrs[node_id], composite_module(analysis, info, limits))
                self._program.append(Assign(outputs, _call_submodule(attrs[node_id], inputs)))
                continue
            code = info.spec.emit(emit_context(analysis, info, attrs[node_id], inputs, outputs, temps.fresh))  # type: ignore[union-attr]
            for module, name in code.imports:  # a CustomModule's class: imported only if the limits allow it
                namespaces[name] = import_class(f"{module}.{name}", limits or Limits())
            if code.init is not None:
                self._register(attrs[node_id], Evaluator(namespaces).eval(code.init))
            self._program.extend(code.body)
        self._results = [variables[(o, port or 0)] for o, port in analysis.output_refs]
        self._names = analysis.output_names
        self.variables = variables  # (node id, output index) -> local name, for tests that trace values
        self._namespaces = namespaces

    def _register(self, path: str, made: nn.Module | nn.Parameter) -> None:
        """Register at a module path (``features.0.1``), making plain containers for its prefixes.

        Container types do not matter here (the program calls each node's own module); the state_dict
        keys do, and they are the generated module's.
        """
        *parents, last = path.split(".")
        owner: nn.Module = self
        for part in parents:
            if part not in owner._modules:
                owner.add_module(part, nn.Module())
            owner = owner._modules[part]  # type: ignore[assignment]
        if isinstance(made, nn.Parameter):  # a learned-tensor node (ClassToken, LayerScale, …)
            owner.register_parameter(last, made)
        else:
            owner.add_module(last, made)

    def forward(self, *args: torch.Tensor) -> Any:
        local = self.trace(*args)
        results = [local[name] for name in self._results]
        if self._names is not None:
            return dict(zip(self._names, results))
        return results[0] if len(results) == 1 else tuple(results)

    def trace(self, *args: torch.Tensor) -> dict[str, Any]:
        """Run the program and return every local value by name (see :attr:`variables`)."""
        evaluator = Evaluator(self._namespaces, self, dict(zip(self._input_vars, args)))
        for statement in self._program:
            evaluator.run(statement)
        return evaluator.local


def _call_submodule(attr: str, inputs: list[Ref]):
    from .ir import Call, SelfAttr

    return Call(SelfAttr(attr), tuple(inputs))


def composite_module(analysis: Analysis, info: NodeInfo, limits: Limits | None) -> GraphModule:
    """A user block instance, sized from what its class knows: input channels, not spatial sizes."""
    assert info.composite is not None
    class_inputs = []
    for edge in info.inputs:  # one per port, in port order
        in_type = analysis.edge_type(edge)
        assert in_type is not None
        if in_type.dims is None:  # as the rendered class: analysed for an input of unknown rank
            class_inputs.append(TensorType(None, None, in_type.dtype))
            continue
        dims: list[Any] = [None] * len(in_type.dims)
        dims[in_type.feature_index] = in_type.features
        class_inputs.append(TensorType(tuple(dims), in_type.layout, in_type.dtype))
    scope = Scope(analysis.composites, limits or Limits())
    inner = analyze_composite(info.composite, scope, tuple(class_inputs), info.params)
    if not inner.ok:
        raise ValueError(f"block {info.composite.name} at `{info.id}`: {inner.errors[0].message}")
    return GraphModule(inner, limits)


def build_reference(
    analysis: Analysis, example: tuple[torch.Tensor, ...] | None = None, limits: Limits | None = None
) -> GraphModule:
    """The interpreted module; ``example`` inputs materialise lazy layers, as ``build_model()`` does.

    ``limits`` says which custom modules it may import (the analysis's own, normally)."""
    module = GraphModule(analysis, limits)
    if example is not None and any(isinstance(m, nn.modules.lazy.LazyModuleMixin) for m in module.modules()):
        module.eval()
        with torch.no_grad():
            module(*example)
        module.train()
    return module
