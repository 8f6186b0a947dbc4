"""Test data shared by the engine's and the platform's training tests (tests/codegen and tests/training).

Test folders are not packages; ``pythonpath`` in pyproject.toml puts this folder on the path.
"""

from __future__ import annotations

# Input(4) → Linear(5): the smallest model that trains (25 parameters, 5 class scores).
TINY = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [4]}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 5}},
    ],
    "edges": [["inp", "fc"]],
    "inputs": ["inp"],
    "outputs": ["fc"],
}


class FakeClock:
    """``perf_counter`` that advances ``tick`` seconds at every call."""

    def __init__(self, tick: float):
        self.now = 0.0
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now
