"""Models: output shapes, parameter counts (against the paper's layer list and torchvision), a
backward pass, channels_last equivalence, the registry's errors."""

from __future__ import annotations

import pytest
import torch

from anl._torchvision import import_torchvision
from anl.models import MODELS, build_model, resnet34, resnet50


def conv_params(c_in: int, c_out: int) -> int:
    """3x3 conv with bias + BatchNorm affine."""
    return c_in * c_out * 9 + c_out + 2 * c_out


def head_params(features: int, hidden: int, k: int) -> int:
    return features * hidden + hidden + 2 * hidden + hidden * k + k


CASES = {  # name: (K, channels, side, parameter count from the paper's layer list)
    "cnn4": (10, 1, 28, conv_params(1, 32) + conv_params(32, 64) + head_params(3136, 128, 10)),
    "cnn8": (10, 3, 32, conv_params(3, 64) + conv_params(64, 64) + conv_params(64, 128)
             + conv_params(128, 128) + conv_params(128, 196) + conv_params(196, 196)
             + head_params(3136, 256, 10)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_paper_cnns_shapes_parameter_counts_and_backward(name: str) -> None:
    k, channels, side, expected = CASES[name]
    model = build_model(name, num_classes=k, in_channels=channels)
    assert sum(p.numel() for p in model.parameters()) == expected
    x = torch.randn(4, channels, side, side)
    out = model(x)
    assert out.shape == (4, k)
    out.logsumexp(1).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_paper_cnn_init_biases_zero_and_weights_bounded() -> None:
    model = build_model("cnn4", 10, 1)
    conv = model[0]
    bound = (6 / (conv.in_channels * 9)) ** 0.5  # Kaiming-uniform, ReLU gain
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.5 * bound
    assert torch.count_nonzero(conv.bias) == 0


def test_resnets_match_torchvision_parameter_counts() -> None:
    tv = import_torchvision()
    ours = resnet50(num_classes=50)
    assert sum(p.numel() for p in ours.parameters()) == sum(
        p.numel() for p in tv.models.resnet50(num_classes=50).parameters())
    imagenet_stem = resnet34(num_classes=100, stem="imagenet")
    assert sum(p.numel() for p in imagenet_stem.parameters()) == sum(
        p.numel() for p in tv.models.resnet34(num_classes=100).parameters())
    cifar = resnet34(num_classes=100)  # 3x3 stem conv instead of 7x7: 64 * 3 * (49 - 9) fewer
    assert sum(p.numel() for p in cifar.parameters()) == sum(
        p.numel() for p in imagenet_stem.parameters()) - 64 * 3 * 40


@pytest.mark.parametrize("name,side,k", [("resnet34", 32, 100), ("resnet50", 64, 50)])
def test_resnet_shapes_and_backward(name: str, side: int, k: int) -> None:
    model = build_model(name, num_classes=k, in_channels=3)
    out = model(torch.randn(2, 3, side, side))
    assert out.shape == (2, k)
    out.sum().backward()
    assert model.stem[0].weight.grad is not None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_channels_last_gives_the_same_outputs(name: str) -> None:
    k, channels, side = {"cnn4": (10, 1, 28), "cnn8": (10, 3, 32)}.get(name, (10, 3, 32))
    torch.manual_seed(0)
    model = build_model(name, k, channels).eval()
    x = torch.randn(2, channels, side, side)
    reference = model(x)
    model = model.to(memory_format=torch.channels_last)
    assert torch.allclose(model(x.to(memory_format=torch.channels_last)), reference, atol=1e-4)


def test_unknown_model_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown model 'vgg'.*cnn4, cnn8, resnet34, resnet50"):
        build_model("vgg", 10, 3)
    with pytest.raises(ValueError, match="stem"):
        resnet34(stem="tiny")


def test_pool_before_relu_equals_the_papers_relu_then_pool() -> None:
    """cnn4 computes max-pool before ReLU; values and gradients equal the paper's order."""
    torch.manual_seed(0)
    model = build_model("cnn4", 10, 1)
    paper_order = []
    for module in model:
        if isinstance(module, torch.nn.MaxPool2d):
            paper_order.insert(len(paper_order), torch.nn.ReLU())
            paper_order.append(torch.nn.MaxPool2d(2))
        elif not (isinstance(module, torch.nn.ReLU) and isinstance(paper_order[-1], torch.nn.MaxPool2d)):
            paper_order.append(module)
    reference = torch.nn.Sequential(*paper_order)
    assert [type(m).__name__ for m in reference[:5]] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d"]
    x = torch.randn(8, 1, 28, 28)
    ours = model(x)
    ours.square().sum().backward()
    ours_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    theirs = reference(x)
    theirs.square().sum().backward()
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert all(torch.allclose(a, p.grad, atol=1e-5) for a, p in zip(ours_grads, model.parameters()))
