"""A tiny ViT drawn with ClassToken, PositionEmbedding and SelectToken computes what torchvision's ViT computes.

The reference below is torchvision's ``VisionTransformer`` (models/vision_transformer.py) written out
by hand at toy sizes (see docs/decisions.md for why it is not imported): the same submodule names,
the same forward. The graph draws the encoder and its layer as user blocks, so its state_dict keys are torchvision's
except for the two containers a graph cannot state yet (``encoder.layers.encoder_layer_0.ln_1`` is
drawn ``encoder.encoder_layer_0.ln_1``, ``heads.head`` is ``head``); the weights are copied by those
names with ``strict=True``.
"""

from __future__ import annotations

import importlib.util
from collections import OrderedDict
from functools import partial
from pathlib import Path

import torch
from torch import nn

import codegen

HIDDEN, HEADS, MLP, PATCH, IMAGE, CLASSES = 16, 2, 32, 4, 8, 5
LayerNorm = partial(nn.LayerNorm, eps=1e-6)  # torchvision's norm_layer


class EncoderBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(HIDDEN)
        self.self_attention = nn.MultiheadAttention(HIDDEN, HEADS, dropout=0.0, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = LayerNorm(HIDDEN)
        self.mlp = nn.Sequential(nn.Linear(HIDDEN, MLP), nn.GELU(), nn.Dropout(0.0), nn.Linear(MLP, HIDDEN))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x)
        x = x + input
        y = self.ln_2(x)
        y = self.mlp(y)
        return x + y


class Encoder(nn.Module):
    def __init__(self, seq_length: int) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, HIDDEN).normal_(std=0.02))
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential(OrderedDict(encoder_layer_0=EncoderBlock()))
        self.ln = LayerNorm(HIDDEN)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        input = input + self.pos_embedding
        return self.ln(self.layers(self.dropout(input)))


class VisionTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, HIDDEN, kernel_size=PATCH, stride=PATCH)
        seq_length = (IMAGE // PATCH) ** 2
        self.class_token = nn.Parameter(torch.zeros(1, 1, HIDDEN))
        seq_length += 1
        self.encoder = Encoder(seq_length)
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(HIDDEN, CLASSES)))

    def _process_input(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        x = self.conv_proj(x)
        x = x.reshape(n, HIDDEN, (h // PATCH) * (w // PATCH))
        return x.permute(0, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._process_input(x)
        n = x.shape[0]
        batch_class_token = self.class_token.expand(n, -1, -1)
        x = torch.cat([batch_class_token, x], dim=1)
        x = self.encoder(x)
        x = x[:, 0]
        return self.heads(x)


def node(node_id: str, node_type: str, **params) -> dict:
    return {"id": node_id, "type": node_type, "params": params}


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
        node("mlp_0", "Linear", out_features="$mlp_dim"),
        node("mlp_1", "GELU"),
        node("mlp_3", "Linear", out_features="$hidden_dim"),
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
        ["mlp_1", "mlp_3"],
        ["attended", "out"],
        ["mlp_3", "out"],
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
        node("encoder_layer_0", "EncoderBlock", num_heads=HEADS, hidden_dim=HIDDEN, mlp_dim=MLP),
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
        node("head", "Linear", out_features=CLASSES),
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


def drawn_name(key: str) -> str:
    """The generated model's key for a torchvision key: no ``layers``/``heads`` containers, ``mlp.0`` as ``mlp_0``."""
    return key.replace("encoder.layers.", "encoder.").removeprefix("heads.").replace("mlp.", "mlp_")


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
    model.load_state_dict({drawn_name(k): v for k, v in reference.state_dict().items()}, strict=True)

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
