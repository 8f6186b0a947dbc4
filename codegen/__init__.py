"""TorchCanvas engine: graph JSON → validation and shape inference → readable PyTorch source.

A pure Python library (no Django). The pipeline: :func:`load_graph` → :func:`validate` →
:func:`generate` → :func:`package_zip`; :func:`build_reference` interprets a graph directly.
:func:`to_mermaid` draws it as a Mermaid flowchart, :func:`to_svg` and :func:`to_png` as a figure;
:func:`summarize` tabulates its parameters, FLOPs and activation memory; :func:`export_model` writes its model
as ONNX, ``.pt2`` or TorchScript, proven to match (:func:`export_problems` says beforehand what stops it).
"""

from .analysis import Analysis, analyze
from .api import Validation, generate, graph_hash, load_graph, package_zip, registry_json, validate
from .diagnostics import CODES, Diagnostic, GraphError
from .diagram import to_mermaid
from .exports import DEFAULT_OPSET, ExportFailed, ExportResult, export_model, export_problems
from .exports import FORMATS as EXPORT_FORMATS
from .figure import FigureTooLarge, to_png, to_svg
from .loader import generated_package
from .naming import SHADOWED_MODULES, download_name, package_name, package_name_problem
from .render import ENGINE_VERSION
from .schema import Graph, Limits
from .spec import NODE_SPECS
from .summary import ModelSummary, summarize

__version__ = ENGINE_VERSION

__all__ = [
    "CODES",
    "DEFAULT_OPSET",
    "ENGINE_VERSION",
    "EXPORT_FORMATS",
    "NODE_SPECS",
    "SHADOWED_MODULES",
    "Analysis",
    "Diagnostic",
    "FigureTooLarge",
    "ExportFailed",
    "ExportResult",
    "Graph",
    "GraphError",
    "Limits",
    "ModelSummary",
    "Validation",
    "analyze",
    "download_name",
    "export_model",
    "export_problems",
    "generate",
    "generated_package",
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
