"""A graph's generated package, imported: what runs and exports execute is the code a user downloads.

:func:`generated_package` generates the document's package into a temporary folder and imports it under a
unique module name; both go away when the ``with`` block ends. A graph with errors raises
:class:`~codegen.diagnostics.GraphError` before anything is written; callers turn it into their own
sentence (a run's ``RunFailed``, an export's ``ExportFailed``).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from .api import generate, load_graph
from .nodes.custom import missing_class
from .schema import Limits


@contextmanager
def generated_package(
    document: Any,
    input_shapes: Mapping[str, tuple[int, ...] | list[int]] | None = None,
    limits: Limits | None = None,
    title: str | None = None,
    *,
    prefix: str = "torchcanvas_generated",
) -> Iterator[ModuleType]:
    """Generate the document's package into a temporary folder and import it as ``<prefix>_<random>``.

    The module and its submodules leave ``sys.modules`` (and the folder the disk) when the block ends.
    Raises :class:`~codegen.diagnostics.GraphError` if the graph does not validate, and
    :class:`~codegen.nodes.custom.CustomModuleMissing` (its message a sentence naming the class) if a
    custom module it imports is not installed here.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    shapes = {key: list(value) for key, value in input_shapes.items()} if input_shapes else None
    files = generate(
        document, name=name, layout="package", with_train=False, input_shapes=shapes, limits=limits, title=title
    )
    with tempfile.TemporaryDirectory(prefix=f"{prefix.replace('_', '-')}-") as folder:
        root = Path(folder)
        for path, text in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        package_dir = root / name
        spec = importlib.util.spec_from_file_location(
            name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            try:
                spec.loader.exec_module(module)
            except ImportError as exc:  # a custom module this Python lacks is one sentence, not a traceback
                missing = missing_class(load_graph(document, limits=limits), exc)
                if missing is None:
                    raise
                raise missing from None
            yield module
        finally:
            for key in [key for key in sys.modules if key == name or key.startswith(f"{name}.")]:
                del sys.modules[key]
