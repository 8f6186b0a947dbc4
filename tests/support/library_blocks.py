"""Block definitions the platform tests publish to libraries."""


def relu_block() -> dict:
    """The smallest valid block: its input through a ReLU (a fresh dict each call: tests may change it)."""
    return {
        "nodes": [{"id": "in", "type": "Input"}, {"id": "act", "type": "ReLU"}],
        "edges": [["in", "act"]],
        "inputs": ["in"],
        "outputs": ["act"],
    }
