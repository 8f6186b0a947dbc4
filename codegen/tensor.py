"""The type of a tensor flowing along an edge: rank, per-axis sizes, layout and dtype."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .dims import Dim, Sym

# Rank-3 tensors are ambiguous: convolutions read (B, C, T), recurrent layers read (B, T, H).
CHANNELS_FIRST = "BCT"
SEQUENCE = "BTH"


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
    def features(self) -> Dim:
        """The axis a layer reads as its input size: channels (axis 1) or, for sequences, the last."""
        if not self.dims:
            return None
        if len(self.dims) == 1 or self.layout == SEQUENCE:
            return self.dims[-1]
        return self.dims[0]

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
        return ["B", *(str(d) if isinstance(d, Sym) else d for d in self.dims)]

    def describe(self) -> str:
        if self.dims is None:
            return "a tensor of unknown rank"
        names = {3: self.layout or CHANNELS_FIRST, 2: "BF", 4: "BCHW", 5: "BCDHW"}.get(len(self.dims) + 1)
        sizes = ", ".join("?" if d is None else str(d) for d in self.dims)
        label = f" {names}" if names else ""
        return f"rank {self.rank}{label} (B, {sizes})"


def default_layout(dims: tuple[Dim, ...] | None, layout: str | None) -> str | None:
    if dims is None or len(dims) != 2:
        return None
    return layout or CHANNELS_FIRST


UNKNOWN = TensorType(None)


def tensor(*dims: Dim, layout: str | None = None, dtype: str = "float32") -> TensorType:
    return TensorType(tuple(dims), default_layout(tuple(dims), layout), dtype)


def unknown_of_rank(rank: int, layout: str | None = None) -> TensorType:
    return tensor(*([None] * (rank - 1)), layout=layout)
