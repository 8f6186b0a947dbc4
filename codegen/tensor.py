"""The type of a tensor flowing along an edge: rank, per-axis sizes, layout and dtype."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .dims import Dim, Sym

# Rank-3 tensors are ambiguous: convolutions read (B, C, T), recurrent layers read (B, T, H).
CHANNELS_FIRST = "BCT"
SEQUENCE = "BTH"
# Rank 4 and 5 are channels first unless a Permute moved the axes: the layout then spells the new
# order (``"BHWC"`` after ``permute(0, 2, 3, 1)``), so layers know which axis holds the channels.
AXIS_LETTERS = {4: "BCHW", 5: "BCDHW"}


@dataclass(frozen=True)
class TensorType:
    """Shape without the batch axis (``dims``), or ``dims=None`` when even the rank is unknown."""

    dims: tuple[Dim, ...] | None
    layout: str | None = None
    dtype: str = "float32"

    @property
    def rank(self) -> int | None:
        return None if self.dims is None else len(self.dims) + 1

    @property
    def rank_known(self) -> bool:
        return self.dims is not None

    def axis(self, dim: int) -> int:
        """Index into ``dims`` for a PyTorch axis (1-based past the batch; negatives from the end)."""
        assert self.dims is not None
        rank = len(self.dims) + 1
        index = dim + rank if dim < 0 else dim
        return index - 1

    def size(self, dim: int) -> Dim:
        """Size of PyTorch axis ``dim`` (never the batch axis), ``None`` if unknown."""
        if self.dims is None:
            return None
        return self.dims[self.axis(dim)]

    @property
    def feature_index(self) -> int:
        """Index into ``dims`` of the features: channels (axis 1), the last axis of a sequence or a flat
        tensor, or wherever a Permute moved the channels of an image."""
        assert self.dims
        if len(self.dims) == 1 or self.layout == SEQUENCE:
            return len(self.dims) - 1
        return self.letters.index("C") - 1 if self.letters and "C" in self.letters else 0

    @property
    def features(self) -> Dim:
        """The axis a layer reads as its input size: channels (axis 1) or, for sequences, the last."""
        return self.dims[self.feature_index] if self.dims else None

    @property
    def letters(self) -> str | None:
        """The axis names of a rank 3 to 5 tensor (``"BHWC"``), ``None`` for other ranks."""
        if self.dims is None:
            return None
        return self.layout or AXIS_LETTERS.get(len(self.dims) + 1)

    @property
    def channels_first(self) -> bool:
        """False only when the layout is known to hold channels elsewhere than axis 1 (BTH, BHWC)."""
        return self.letters is None or self.letters[1] == "C"

    def with_dims(self, dims: tuple[Dim, ...] | None, layout: str | None = "keep") -> TensorType:
        if layout == "keep":
            layout = self.layout if dims is not None and self.dims is not None and len(dims) == len(self.dims) else None
        return replace(self, dims=dims, layout=default_layout(dims, layout))

    @property
    def concrete(self) -> bool:
        return self.dims is not None and all(type(d) is int for d in self.dims)

    def numel(self) -> int | None:
        """Elements per sample (batch excluded), when every size is known."""
        if not self.concrete:
            return None
        total = 1
        for d in self.dims:  # type: ignore[union-attr]
            total *= d  # type: ignore[operator]
        return total

    def to_json(self) -> list[object] | None:
        """``["B", 64, 256]``; unknown sizes as ``null``, symbolic ones as their expression."""
        if self.dims is None:
            return None
        if self.layout == "scalar":
            return []
        return ["B", *(str(d) if isinstance(d, Sym) else d for d in self.dims)]

    def describe(self) -> str:
        if self.dims is None:
            return "a tensor of unknown rank"
        if self.layout == "scalar":
            return "one number for the batch"
        names = {3: self.layout or CHANNELS_FIRST, 2: "BF"}.get(len(self.dims) + 1) or self.letters
        sizes = ", ".join("?" if d is None else str(d) for d in self.dims)
        label = f" {names}" if names else ""
        return f"rank {self.rank}{label} (B, {sizes})" if sizes else "rank 1 (B,)"


def shape_text(sizes: Sequence[object]) -> str:
    """A shape as the canvas and the messages show it: ``(B, 64, 256)``; an unknown size as ``?``."""
    return "(" + ", ".join("?" if size is None else str(size) for size in sizes) + ")"


def default_layout(dims: tuple[Dim, ...] | None, layout: str | None) -> str | None:
    if dims is None:
        return None
    if len(dims) != 2:  # channels first needs no label at rank 4 and 5 (and only those have others)
        return None if layout == AXIS_LETTERS.get(len(dims) + 1) or len(dims) + 1 not in AXIS_LETTERS else layout
    return layout or CHANNELS_FIRST


def channels_first_order(t: TensorType) -> list[int]:
    """The Permute ``dims`` that bring a rank 4 or 5 tensor of any axis order back to channels first."""
    assert t.letters is not None and t.rank in AXIS_LETTERS
    return [t.letters.index(letter) for letter in AXIS_LETTERS[t.rank]]


def permuted_layout(t: TensorType, order: tuple[int, ...]) -> str | None:
    """The layout after ``permute(*order)`` (``order`` includes the batch axis)."""
    letters = t.letters if t.rank_known else AXIS_LETTERS.get(len(order))
    if letters is None or len(letters) != len(order):
        return None
    return "".join(letters[d] for d in order)


UNKNOWN = TensorType(None)
# One number for the whole batch (a loss or a metric), not a per-sample tensor.
SCALAR = TensorType((), "scalar")


def tensor(*dims: Dim, layout: str | None = None, dtype: str = "float32") -> TensorType:
    return TensorType(tuple(dims), default_layout(tuple(dims), layout), dtype)


def unknown_of_rank(rank: int, layout: str | None = None) -> TensorType:
    return tensor(*([None] * (rank - 1)), layout=layout)
