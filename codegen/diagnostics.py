"""Every problem the engine reports: stable codes, one place, structured and machine-applicable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"

# code -> what it means. Codes are API: the canvas, the CLI and stored validation summaries use them.
CODES: dict[str, str] = {
    "PARSE": "The graph document is not valid JSON or YAML, or not of the v0.2 shape.",
    "LIMIT": "The graph exceeds a configured size limit (nodes, edges, parameter values).",
    "DUPLICATE_ID": "Two nodes share one id.",
    "BAD_ID": "A node id is empty, too long or contains control characters.",
    "UNKNOWN_TYPE": "The node type is not in the registry nor a known composite block.",
    "UNKNOWN_PARAM": "The node sets a parameter its type does not have.",
    "PARAM_TYPE": "A parameter value has the wrong type.",
    "PARAM_RANGE": "A parameter value is outside its allowed range or choices.",
    "MISSING_PARAM": "A required parameter is not set.",
    "DANGLING_EDGE": "An edge names a node that does not exist.",
    "SELF_LOOP": "An edge connects a node to itself.",
    "DUPLICATE_EDGE": "The same edge appears twice.",
    "CYCLE": "The graph has a cycle; models must be directed acyclic graphs.",
    "NO_INPUTS": "The graph declares no inputs.",
    "NO_OUTPUTS": "The graph declares no outputs.",
    "UNKNOWN_INPUT": "An entry of `inputs` does not name an Input node.",
    "UNKNOWN_OUTPUT": "An entry of `outputs` does not name a node.",
    "INPUT_HAS_EDGES": "An Input node has incoming edges.",
    "UNDECLARED_INPUT": "An Input node is not listed in `inputs`.",
    "UNCONNECTED": "A node has no edges at all.",
    "DEAD_NODE": "A node does not contribute to any output.",
    "ARITY": "A node has the wrong number of incoming edges.",
    "BAD_PORT": "An edge names a port or output index the node does not have.",
    "RANK": "A node receives a tensor of a rank it cannot take.",
    "LAYOUT": "A node receives a tensor in the wrong layout (e.g. (B,C,T) where (B,T,H) is needed).",
    "DTYPE": "A node receives integer tokens where floats are needed, or the reverse.",
    "SHAPE": "A node's input sizes do not fit its parameters.",
    "MERGE": "Tensors merged by Concat/Add/Mul do not have compatible shapes.",
    "IMPOSSIBLE_OUTPUT": "A layer would produce an empty or negative size.",
    "NEEDS_SHAPE": "A layer needs a size that cannot be inferred without input shapes.",
    "PATH": "A node's module path is malformed, used twice, or clashes with another node's.",
    "COMPOSITE": "A composite block definition is invalid.",
    "COMPOSITE_RECURSION": "A composite block contains itself.",
    "EXPRESSION_TOO_LONG": "A block parameter expression has more operators or characters than the engine accepts.",
    "IMPORT": "A PyTorch construct has no faithful node, so the module cannot be imported (names op, path, line).",
    "NOT_IMPORTED": "A placeholder for a part of an imported module that has no node: replace it to generate code.",
    "CUSTOM_MODULE": "A CustomModule names a class this deployment does not allow (or one that cannot be imported where it runs).",
    "BUDGET": "The model exceeds the configured parameter or memory budget.",
    "STAGE": "A node crosses the recipe's stages: the model reads a Target or a loss, a loss reads a value the model does not return, or a loss or metric feeds a node.",
    "RECIPE": "A node's `trainable` or `init`, or the document's `training` (optimizer, scheduler), is not usable.",
    "EXPORT_UNSUPPORTED": "A node's type cannot be exported in the chosen format (ONNX, torch.export or TorchScript).",
    "DATASET": "The graph's Input does not take the chosen dataset's samples (shape or dtype).",
}


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a graph, pointing at the node or edge it concerns."""

    code: str
    message: str
    severity: str = ERROR
    node: str | None = None
    edge: tuple[str, str] | None = None
    path: str | None = None
    suggestion: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        assert self.code in CODES, self.code

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"severity": self.severity, "code": self.code, "message": self.message}
        if self.node is not None:
            data["node"] = self.node
        if self.edge is not None:
            data["edge"] = list(self.edge)
        if self.path is not None:
            data["path"] = self.path
        if self.suggestion is not None:
            data["suggestion"] = self.suggestion
        return data

    def __str__(self) -> str:
        where = f" [{self.node}]" if self.node else ""
        return f"{self.severity} {self.code}{where}: {self.message}"


class GraphError(Exception):
    """Raised when a graph cannot be used at all (parse errors, or errors before rendering)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("; ".join(str(d) for d in diagnostics[:5]))


class ShapeError(Exception):
    """Raised by a shape rule; the validator turns it into a diagnostic naming the node."""

    def __init__(
        self, code: str, message: str, suggestion: dict[str, Any] | None = None, edge_index: int | None = None
    ):
        assert code in CODES, code
        self.code = code
        self.message = message
        self.suggestion = suggestion
        self.edge_index = edge_index
        super().__init__(message)


def insert_node(node_type: str, between: tuple[str, str], params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Suggestion: put a new node of ``node_type`` on the edge ``between``."""
    suggestion: dict[str, Any] = {"action": "insert_node", "type": node_type, "between": list(between)}
    if params:
        suggestion["params"] = params
    return suggestion


def set_param(node: str, name: str, value: Any) -> dict[str, Any]:
    return {"action": "set_param", "node": node, "param": name, "value": value}
