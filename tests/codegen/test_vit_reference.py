"""A tiny ViT drawn with ClassToken, PositionEmbedding and SelectToken computes what torchvision's ViT computes.

The reference is torchvision's own ``VisionTransformer`` at toy sizes (tests/support/torchvision_models.py).
The graph draws the encoder and its layer as user blocks and states torchvision's module paths
(``layers.encoder_layer_0``, ``mlp.0`` … ``mlp.4``, ``heads.head``), so the reference's state_dict loads by
name with ``strict=True``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

import codegen
from tests.support.torchvision_models import torchvision_module

HIDDEN, HEADS, MLP, PATCH, IMAGE, CLASSES = 16, 2, 32, 4, 8, 5


def VisionTransformer() -> nn.Module:
    """torchvision's own VisionTransformer at toy sizes: one layer, 16 wide, 8x8 images of 4x4 patches."""
    builder = torchvision_module("vision_transformer", "VisionTransformer")
    return builder(
        image_size=IMAGE,
        patch_size=PATCH,
        num_layers=1,
        num_heads=HEADS,
        hidden_dim=HIDDEN,
        mlp_dim=MLP,
        num_classes=CLASSES,
    )


def node(node_id: str, node_type: str, path: str | None = None, **params) -> dict:
    return {"id": node_id, "type": node_type, "params": params, **({"path": path} if path else {})}


ENCODER_BLOCK = {
    "doc": "torchvision's EncoderBlock: pre-norm self-attention and MLP, each with a residual.",
    "params": [
        {"name": "num_heads", "type": "int", "doc": "Attention heads."},
        {"name": "hidden_dim", "type": "int", "doc": "Token width D, in and out."},
        {"name": "mlp_dim", "type": "int", "doc": "Hidden size of the MLP."},
    ],
    "nodes": [
        node("input", "Input"),
        node("ln_1", "LayerNorm", eps=1e-6),
        node("self_attention", "MultiheadAttention", num_heads="$num_heads"),
        node("attended", "Add"),
        node("ln_2", "LayerNorm", eps=1e-6),
        node("mlp_0", "Linear", "mlp.0", out_features="$mlp_dim"),
        node("mlp_1", "GELU", "mlp.1"),
        node("mlp_2", "Dropout", "mlp.2", p=0.0),
        node("mlp_3", "Linear", "mlp.3", out_features="$hidden_dim"),
        node("mlp_4", "Dropout", "mlp.4", p=0.0),
        node("out", "Add"),
    ],
    "edges": [
        ["input", "ln_1"],
        ["ln_1", "self_attention"],
        ["self_attention", "attended"],
        ["input", "attended"],
        ["attended", "ln_2"],
        ["ln_2", "mlp_0"],
        ["mlp_0", "mlp_1"],
        ["mlp_1", "mlp_2"],
        ["mlp_2", "mlp_3"],
        ["mlp_3", "mlp_4"],
        ["attended", "out"],
        ["mlp_4", "out"],
    ],
    "inputs": ["input"],
    "outputs": ["out"],
}
ENCODER = {
    "doc": "torchvision's Encoder with one layer: position embedding, the layer, a final LayerNorm.",
    "params": [{"name": "seq_length", "type": "int", "doc": "Tokens, the class token included."}],
    "nodes": [
        node("input", "Input"),
        node("pos_embedding", "PositionEmbedding", length="$seq_length"),
        node(
            "encoder_layer_0", "EncoderBlock", "layers.encoder_layer_0", num_heads=HEADS, hidden_dim=HIDDEN, mlp_dim=MLP
        ),
        node("ln", "LayerNorm", eps=1e-6),
    ],
    "edges": [["input", "pos_embedding"], ["pos_embedding", "encoder_layer_0"], ["encoder_layer_0", "ln"]],
    "inputs": ["input"],
    "outputs": ["ln"],
}
GRAPH = {
    "version": "0.2",
    "metadata": {"name": "TinyViT"},
    "composites": {"EncoderBlock": ENCODER_BLOCK, "Encoder": ENCODER},
    "nodes": [
        node("inp", "Input", shape=[3, IMAGE, IMAGE]),
        node("conv_proj", "Conv2d", out_channels=HIDDEN, kernel_size=PATCH, stride=PATCH),
        node("flat", "Flatten", start_dim=2),
        node("tokens", "Permute_BCT_to_BTH"),
        node("class_token", "ClassToken"),
        node("encoder", "Encoder", seq_length=(IMAGE // PATCH) ** 2 + 1),
        node("cls", "SelectToken", index=0),
        node("head", "Linear", "heads.head", out_features=CLASSES),
    ],
    "edges": [
        ["inp", "conv_proj"],
        ["conv_proj", "flat"],
        ["flat", "tokens"],
        ["tokens", "class_token"],
        ["class_token", "encoder"],
        ["encoder", "cls"],
        ["cls", "head"],
    ],
    "inputs": ["inp"],
    "outputs": ["head"],
}


def generated_model(tmp_path: Path) -> nn.Module:
    source = codegen.generate(GRAPH, name="tiny_vit", layout="file")["tiny_vit.py"]
    path = tmp_path / "tiny_vit.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("tiny_vit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_model()


def test_a_drawn_tiny_vit_loads_torchvisions_weights_and_gives_its_outputs(tmp_path):
    torch.manual_seed(0)
    reference = VisionTransformer().eval()
    with torch.no_grad():  # off the initial values: a zero class token or unit norms would hide swaps
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    model = generated_model(tmp_path).eval()
    model.load_state_dict(reference.state_dict(), strict=True)

    x = torch.randn(3, 3, IMAGE, IMAGE)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=1e-4, atol=1e-5)
    total = sum(p.numel() for p in reference.parameters())
    assert codegen.validate(GRAPH).params_total == total
    assert sum(p.numel() for p in model.parameters()) == total


def test_the_learned_tensors_keep_torchvisions_shapes_and_initial_values(tmp_path):
    torch.manual_seed(0)
    model = generated_model(tmp_path)
    reference = VisionTransformer()
    assert model.class_token.shape == reference.class_token.shape == (1, 1, HIDDEN)
    assert model.encoder.pos_embedding.shape == reference.encoder.pos_embedding.shape == (1, 5, HIDDEN)
    assert torch.all(model.class_token == 0)
    assert 0.005 < model.encoder.pos_embedding.std().item() < 0.05  # normal(std=0.02), as torchvision draws it
