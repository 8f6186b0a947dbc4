"""The architectures people already use, drawn as TorchCanvas graphs, each paired with its reference module.

Each family module (``classic``, ``mobile``, ``transformers``, …) defines ``MODELS``: name → :class:`ReferenceModel`.
``tests/codegen/test_reference_models.py`` generates every graph, loads the reference's ``state_dict`` into it
by name (``strict=True``) and compares outputs; where ``template`` is set, the shipped template file must be
exactly what the builder writes (``python -m tests.support.reference_graphs`` rewrites them).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class ReferenceModel:
    graph: Callable[[], dict[str, Any]]  # the graph document, at the size the reference is built for
    reference: Callable[[], nn.Module]  # the module whose weights the generated one must load, in eval mode
    template: str | None = None  # shipped as codegen/templates/<template>.json
    batch: int = 2


def all_models() -> dict[str, ReferenceModel]:
    models: dict[str, ReferenceModel] = {}
    for info in pkgutil.iter_modules(__path__):
        family = importlib.import_module(f"{__name__}.{info.name}")
        for name, model in getattr(family, "MODELS", {}).items():
            if name in models:
                raise ValueError(f"reference model {name} is defined twice")
            models[name] = model
    return dict(sorted(models.items()))


def reference_module(name: str) -> nn.Module:
    """The reference module of ``name`` (eval mode), for ``python -m codegen import`` to import by name."""
    models = all_models()
    if name not in models:
        raise ValueError(f"no reference model {name!r}; known: {', '.join(models)}")
    return models[name].reference().eval()
