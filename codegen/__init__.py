"""TorchCanvas engine: graph JSON → validation and shape inference → readable PyTorch source.

A pure Python library (no Django). The pipeline: :func:`load_graph` → :func:`validate` →
:func:`generate` → :func:`package_zip`; :func:`build_reference` interprets a graph directly, and
:func:`to_mermaid` draws it as a Mermaid flowchart, :func:`to_svg` and :func:`to_png` as a figure, and
:func:`summarize` tabulates its parameters, FLOPs and activation memory.
"""

from .analysis import Analysis, analyze
from .api import Validation, generate, graph_hash, load_graph, package_zip, registry_json, validate
from .diagnostics import CODES, Diagnostic, GraphError
from .diagram import to_mermaid
from .figure import FigureTooLarge, to_png, to_svg
from .naming import SHADOWED_MODULES, download_name, package_name, package_name_problem
from .render import ENGINE_VERSION
from .schema import Graph, Limits
from .spec import NODE_SPECS
from .summary import ModelSummary, summarize

__version__ = ENGINE_VERSION

__all__ = [
    "CODES",
    "ENGINE_VERSION",
    "NODE_SPECS",
    "SHADOWED_MODULES",
    "Analysis",
    "Diagnostic",
    "FigureTooLarge",
    "Graph",
    "GraphError",
    "Limits",
    "ModelSummary",
    "Validation",
    "analyze",
    "download_name",
    "generate",
    "graph_hash",
    "load_graph",
    "package_name",
    "package_name_problem",
    "package_zip",
    "registry_json",
    "summarize",
    "to_mermaid",
    "to_png",
    "to_svg",
    "validate",
]
