"""The drawn swin_t and convnext_tiny train as torchvision's: the same stochastic depth schedule and shifts, and,
from one seed, the same residual branches dropped in a training-mode forward.

``test_reference_models.py`` compares the three transformer-era models (swin_t, vit_b_16, convnext_tiny) in eval
mode, where stochastic depth is the identity; here the per-block settings that only training shows are compared
by module name, and a whole training-mode forward at a small resolution must match.
"""

from __future__ import annotations

import pytest
import torch
from test_reference_models import MODELS, generated_model
from torch import nn


def by_name(model: nn.Module, kind: str, read) -> dict[str, object]:
    return {name: read(m) for name, m in model.named_modules() if type(m).__name__ == kind}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """``name`` → (generated, torchvision's) for swin_t and convnext_tiny, the reference's weights loaded."""
    built = {}
    for name in ("swin_t", "convnext_tiny"):
        torch.manual_seed(0)
        reference = MODELS[name].reference()
        with torch.no_grad():  # ConvNeXt's layer scale starts at 1e-6: make a dropped branch show
            for key, parameter in reference.named_parameters():
                if key.endswith("layer_scale"):
                    parameter.fill_(0.5)
        generated = generated_model(MODELS[name].graph(), tmp_path_factory.mktemp(name), f"tc_training_{name}")
        generated.load_state_dict(reference.state_dict(), strict=True)
        built[name] = (generated, reference)
    return built


@pytest.mark.parametrize("name", ["swin_t", "convnext_tiny"])
def test_stochastic_depth_rises_over_the_blocks_as_torchvisions(name, models):
    generated, reference = models[name]
    probabilities = by_name(generated, "StochasticDepth", lambda m: (m.p, m.mode))
    assert probabilities == by_name(reference, "StochasticDepth", lambda m: (m.p, m.mode))
    assert len(probabilities) == {"swin_t": 12, "convnext_tiny": 18}[name]
    assert max(p for p, _ in probabilities.values()) == {"swin_t": 0.2, "convnext_tiny": 0.1}[name]


def test_swin_t_shifts_every_second_window_block_by_half_a_window(models):
    generated, reference = models["swin_t"]
    shifts = by_name(generated, "ShiftedWindowAttention", lambda m: (m.window_size, m.shift_size))
    assert shifts == by_name(reference, "ShiftedWindowAttention", lambda m: (m.window_size[0], m.shift_size[0]))
    assert sorted(set(shifts.values())) == [(7, 0), (7, 3)]


@pytest.mark.parametrize("name", ["swin_t", "convnext_tiny"])
def test_a_training_forward_drops_the_same_branches_from_the_same_seed(name, models):
    generated, reference = models[name]
    x = torch.randn(4, 3, 64, 64)  # four samples: each draws its own branches to keep
    outputs = []
    for model in (generated, reference):
        model.train()
        torch.manual_seed(7)
        with torch.no_grad():
            outputs.append(model(x))
        model.eval()
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        assert not torch.allclose(outputs[0], generated(x), rtol=1e-4, atol=1e-5), "no branch was dropped"
