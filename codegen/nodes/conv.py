"""Convolutions (1D, 2D, 3D) and transposed convolutions."""

from __future__ import annotations

from ..dims import Dim, is_known
from ..ir import kw_unless
from ..params import Bool, Int, Ints, Padding, as_tuple
from ..spec import CostCtx, EmitCtx, InferCtx, NodeCode, NodeSpec, known_product, register
from ..tensor import TensorType
from ._common import check_divisible, sized_module, spatial_names, window_out


def _conv_params(nd: int, transposed: bool) -> tuple:
    padding = (
        Ints("padding", default=0, length=nd, min=0, max=10_000, doc="Zero padding per side.")
        if transposed
        else Padding(
            "padding", default=0, length=nd, min=0, max=10_000, doc='Zero padding per side, or "same" / "valid".'
        )
    )
    params = (
        Int("out_channels", doc="Output channels.", min=1, max=1_000_000),
        Ints("kernel_size", default=3, length=nd, min=1, max=10_000, doc="Window size."),
        Ints("stride", default=1, length=nd, min=1, max=10_000, doc="Step between windows."),
        padding,
        Ints("dilation", default=1, length=nd, min=1, max=10_000, doc="Spacing between kernel taps."),
        Int("groups", default=1, min=1, max=1_000_000, doc="Blocked connections; in and out channels must divide."),
        Bool("bias", default=True, doc="Learn an additive bias."),
    )
    if transposed:
        params += (
            Ints(
                "output_padding",
                default=0,
                length=nd,
                min=0,
                max=10_000,
                doc="Extra size added to one side of the output.",
            ),
        )
    return params


def _infer_conv(nd: int, transposed: bool):
    def infer(ctx: InferCtx) -> TensorType:
        x = ctx.input(0, ranks=(nd + 2,), channels_first=True)
        p = ctx.params
        channels = x.features
        check_divisible(
            ctx, channels, p["groups"], f"input channels {channels} are not divisible by groups={p['groups']}"
        )
        check_divisible(
            ctx,
            p["out_channels"],
            p["groups"],
            f"out_channels {p['out_channels']} is not divisible by groups={p['groups']}",
        )
        kernel, stride, dilation = (as_tuple(p[k], nd) for k in ("kernel_size", "stride", "dilation"))
        padding = p["padding"]
        if padding == "same" and any(s != 1 for s in stride):
            raise ctx.fail("PARAM_RANGE", 'padding="same" needs stride 1 (PyTorch rejects strided "same" convolutions)')
        sizes: list[Dim] = []
        for axis in range(nd):
            size = x.dims[axis + 1] if x.dims else None
            name = spatial_names(nd)[axis]
            if transposed:
                pad, out_pad = as_tuple(padding, nd)[axis], as_tuple(p["output_padding"], nd)[axis]
                if is_known(out_pad) and out_pad >= max(stride[axis], dilation[axis]):
                    raise ctx.fail("PARAM_RANGE", "output_padding must be smaller than stride or dilation")
                out = None
                if is_known(size, kernel[axis], stride[axis], dilation[axis], pad, out_pad):
                    out = (size - 1) * stride[axis] - 2 * pad + dilation[axis] * (kernel[axis] - 1) + out_pad + 1
                    if out <= 0:
                        raise ctx.fail("IMPOSSIBLE_OUTPUT", f"the output {name} would be {out} at `{ctx.node}`")
            elif padding == "same":
                out = size
            else:
                pad = 0 if padding == "valid" else as_tuple(padding, nd)[axis]
                out = window_out(ctx, size, kernel[axis], stride[axis], pad, dilation[axis], axis_name=f"input {name}")
            sizes.append(out)
        return x.with_dims((p["out_channels"], *sizes))

    return infer


def _emit_conv(nd: int, transposed: bool):
    kind = "ConvTranspose" if transposed else "Conv"

    def emit(ctx: EmitCtx) -> NodeCode:
        p = ctx.params
        kwargs = {
            "stride": kw_unless(p["stride"], 1),
            "padding": kw_unless(p["padding"], 0),
            "dilation": kw_unless(p["dilation"], 1),
            "groups": kw_unless(p["groups"], 1),
            "bias": kw_unless(p["bias"], True),
        }
        if transposed:
            kwargs["output_padding"] = kw_unless(p["output_padding"], 0)
        return sized_module(
            ctx,
            f"{kind}{nd}d",
            ctx.in_features(),
            p["out_channels"],
            lazy=f"Lazy{kind}{nd}d",
            kernel_size=p["kernel_size"],
            **kwargs,
        )

    return emit


def _conv_macs(nd: int, transposed: bool):
    """Every output position of a convolution takes ``in_channels / groups × kernel`` products per output
    channel; a transposed one scatters every input position into ``out_channels / groups × kernel``."""

    def macs(ctx: CostCtx) -> int | None:
        p = ctx.params
        kernel = known_product(*as_tuple(p["kernel_size"], nd))
        in_channels = ctx.size(0, 0)
        if kernel is None or in_channels is None:
            return None
        if transposed:
            return known_product(ctx.inputs[0].numel(), p["out_channels"] // p["groups"], kernel)
        return known_product(ctx.out.numel(), in_channels // p["groups"], kernel)  # type: ignore[union-attr]

    return macs


def _conv_spec(nd: int, transposed: bool = False, aliases: tuple[str, ...] = ()) -> NodeSpec:
    kind = "ConvTranspose" if transposed else "Conv"
    layout = {1: "(B, C, T)", 2: "(B, C, H, W)", 3: "(B, C, D, H, W)"}[nd]
    what = "Transposed convolution (learned upsampling)" if transposed else "Convolution"
    return NodeSpec(
        f"{kind}{nd}d",
        "conv",
        f"{what} over {layout}; a Lazy layer infers in_channels when the input shape is unknown.",
        _infer_conv(nd, transposed),
        _emit_conv(nd, transposed),
        params=_conv_params(nd, transposed),
        aliases=aliases,
        summary=("out_channels", "kernel_size", "stride"),
        macs=_conv_macs(nd, transposed),
    )


register(
    _conv_spec(1),
    _conv_spec(2, aliases=("Conv",)),
    _conv_spec(3),
    _conv_spec(1, transposed=True),
    _conv_spec(2, transposed=True),
)
