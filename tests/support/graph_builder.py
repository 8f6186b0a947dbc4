"""Graph documents (v0.2) written as Python: the reference-model graphs and the templates generated from them.

>>> g = GraphBuilder("Tiny", description="A stem.")
>>> x = g.input("input", [3, 32, 32])
>>> x = g.node("Conv2d", "conv1", out_channels=8, kernel_size=3, path="features.0")
>>> g.document()["nodes"][1]["path"]
'features.0'

``node`` reads the node added just before unless ``inputs`` names others (ids, or ``(id, output)`` pairs
for a multi-output node's port). Nodes are placed one below the other; the canvas lays them out again.
"""

from __future__ import annotations

from typing import Any

Source = str | tuple[str, int]


class GraphBuilder:
    def __init__(self, name: str, *, description: str = "", tags: tuple[str, ...] = ()):
        self.metadata: dict[str, Any] = {"name": name}
        if description:
            self.metadata["description"] = description
        if tags:
            self.metadata["tags"] = list(tags)
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[list[str]] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.composites: dict[str, Any] = {}
        self.last: str | None = None

    def input(self, node_id: str, shape: list[int] | None = None, **params: Any) -> str:
        if shape is not None:
            params["shape"] = list(shape)
        self._add(node_id, "Input", params, None)
        self.inputs.append(node_id)
        return node_id

    def node(
        self,
        type_name: str,
        node_id: str,
        inputs: Source | list[Source] | None = None,
        *,
        path: str | None = None,
        **params: Any,
    ) -> str:
        sources = [self.last] if inputs is None else inputs if isinstance(inputs, list) else [inputs]
        self._add(node_id, type_name, params, path)
        for source in sources:
            if isinstance(source, tuple):
                self.edges.append([f"{source[0]}:{source[1]}", node_id])
            else:
                self.edges.append([source, node_id])
        return node_id

    def output(self, *node_ids: str) -> None:
        self.outputs.extend(node_ids)

    def _add(self, node_id: str, type_name: str, params: dict[str, Any], path: str | None) -> None:
        node: dict[str, Any] = {"id": node_id, "type": type_name, "params": params}
        if path is not None:
            node["path"] = path
        node["ui"] = {"x": 0, "y": 140 * len(self.nodes)}
        self.nodes.append(node)
        self.last = node_id

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"version": "0.2", "metadata": self.metadata, "nodes": self.nodes}
        document["edges"] = self.edges
        document["inputs"] = self.inputs
        document["outputs"] = self.outputs or [self.last]
        if self.composites:
            document["composites"] = self.composites
        return document
