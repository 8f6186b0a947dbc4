"""A small graph written in YAML, and the same document as JSON values: for the YAML tests."""

GRAPH_YAML = """\
version: "0.2"
metadata: {name: tiny}
nodes:
  - id: inp
    type: Input
    params: {}
  - id: fc
    type: Linear
    params:
      out_features: 4
      bias: true
edges:
  - [inp, fc]
inputs: [inp]
outputs: [fc]
"""
GRAPH = {
    "version": "0.2",
    "metadata": {"name": "tiny"},
    "nodes": [
        {"id": "inp", "type": "Input", "params": {}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 4, "bias": True}},
    ],
    "edges": [["inp", "fc"]],
    "inputs": ["inp"],
    "outputs": ["fc"],
}
