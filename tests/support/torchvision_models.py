"""torchvision's own model definitions as reference modules, without making the product depend on torchvision.

The only torchvision wheel on the index here is a CUDA build. Next to the CPU torch its package import fails
while ``torchvision/_meta_registrations.py`` registers fake kernels for ``torchvision::nms`` (an operator its
compiled extension would have defined). The model files themselves are pure Python and never call those
operators, so when that registration fails, the import is retried with the registration module replaced by an
empty one. Nothing else is patched: the classes built here are torchvision's, line for line.
"""

from __future__ import annotations

import sys
import types
import warnings
from functools import cache
from typing import Any

import pytest

_REGISTRATIONS = "torchvision._meta_registrations"


@cache
def _models() -> Any:
    try:
        import torchvision.models as models
    except ModuleNotFoundError:
        pytest.skip("torchvision is not installed (it comes with the dev extra: pip install -e '.[dev]')")
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules[_REGISTRATIONS] = types.ModuleType(_REGISTRATIONS)
        import torchvision.models as models
    return models


def torchvision_model(name: str, **kwargs: Any):
    """``torchvision.models.<name>(**kwargs)`` in eval mode, randomly initialised (no weights are downloaded)."""
    builder = getattr(_models(), name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # googlenet's note about its future default init
        model = builder(weights=None, **kwargs)
    return model.eval()


def torchvision_module(module: str, name: str) -> Any:
    """A class or function from ``torchvision.models.<module>``, e.g. ``("swin_transformer", "PatchMerging")``."""
    import importlib

    _models()
    return getattr(importlib.import_module(f"torchvision.models.{module}"), name)
