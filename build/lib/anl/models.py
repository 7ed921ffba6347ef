"""The paper's networks behind one registry: 4-layer CNN (MNIST), 8-layer CNN (CIFAR-10),
ResNet-34 with the CIFAR stem (CIFAR-100), ResNet-50 (WebVision-mini); and the U-Net of the
lesion segmentation (anl.segmentation), built directly rather than through the registry.

All flatten with ``torch.flatten`` (a reshape), so they accept channels_last inputs and weights
(the trainer uses channels_last on every device: on CPU too it is the faster layout here).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(in_channels: int, out_channels: int) -> list[nn.Module]:
    """3x3 convolution (padding 1) + BatchNorm."""
    return [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.BatchNorm2d(out_channels)]


def conv_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    """3x3 convolution (padding 1) + BatchNorm + ReLU."""
    return [*conv_bn(in_channels, out_channels), nn.ReLU(inplace=True)]


def conv_bn_relu_pool(in_channels: int, out_channels: int) -> list[nn.Module]:
    """conv + BN + ReLU + 2x2 max-pool, computed as pool then ReLU: the two commute exactly
    (ReLU is monotone), values and gradients alike, and ReLU then runs on a quarter of the pixels."""
    return [*conv_bn(in_channels, out_channels), nn.MaxPool2d(2), nn.ReLU(inplace=True)]


def init_paper_cnn(model: nn.Module) -> None:
    """Kaiming-uniform convolutions, Xavier-uniform linear layers, zero biases, BN at (1, 0)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(module.weight)
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.zeros_(module.bias)


def classifier_head(features: int, hidden: int, num_classes: int) -> list[nn.Module]:
    """Flatten, FC features-hidden, BN1d, ReLU, FC hidden-K."""
    return [
        nn.Flatten(),
        nn.Linear(features, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, num_classes),
    ]


def cnn4(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """4-layer CNN for 28x28 inputs: [conv 32, pool] [conv 64, pool] FC 3136-128, BN, FC 128-K."""
    model = nn.Sequential(
        *conv_bn_relu_pool(in_channels, 32),
        *conv_bn_relu_pool(32, 64),
        *classifier_head(64 * 7 * 7, 128, num_classes),
    )
    init_paper_cnn(model)
    return model


def cnn8(num_classes: int = 10, in_channels: int = 3) -> nn.Sequential:
    """8-layer CNN for 32x32 inputs: 3 x [conv, conv, pool] with 64/128/196 channels,
    FC 3136-256, BN, FC 256-K."""
    layers: list[nn.Module] = []
    channels = in_channels
    for width in (64, 128, 196):
        layers += conv_bn_relu(channels, width) + conv_bn_relu_pool(width, width)
        channels = width
    model = nn.Sequential(*layers, *classifier_head(196 * 4 * 4, 256, num_classes))
    init_paper_cnn(model)
    return model


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convolutions and an identity (or 1x1 projection) shortcut."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True),
            nn.Conv2d(planes, planes, 3, 1, 1, bias=False), nn.BatchNorm2d(planes),
        )
        self.shortcut = projection(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.residual(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet bottleneck block: 1x1, 3x3 (strided), 1x1 x4 convolutions and a shortcut."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out = planes * self.expansion
        self.residual = nn.Sequential(
            nn.Conv2d(in_planes, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
            nn.Conv2d(planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes),
            nn.ReLU(inplace=True),
            nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out),
        )
        self.shortcut = projection(in_planes, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.residual(x) + self.shortcut(x))


def projection(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    """Identity where shapes match, else a strided 1x1 convolution + BN."""
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes))


class ResNet(nn.Module):
    """ResNet with a CIFAR stem (3x3 conv, stride 1, no max-pool) or the ImageNet stem
    (7x7 conv stride 2 + 3x3 max-pool); He-normal convolutions, standard torchvision layout."""

    def __init__(self, block: type[BasicBlock | Bottleneck], depths: tuple[int, ...],
                 num_classes: int, in_channels: int = 3, stem: str = "cifar") -> None:
        super().__init__()
        if stem == "cifar":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64),
                                      nn.ReLU(inplace=True))
        elif stem == "imagenet":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                      nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        else:
            raise ValueError(f"unknown ResNet stem {stem!r}; choose 'cifar' or 'imagenet'")
        stages: list[nn.Module] = []
        in_planes = 64
        for index, (planes, depth) in enumerate(zip((64, 128, 256, 512), depths)):
            for block_index in range(depth):
                stride = 2 if index > 0 and block_index == 0 else 1
                stages.append(block(in_planes, planes, stride))
                in_planes = planes * block.expansion
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_planes, num_classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def resnet34(num_classes: int = 100, in_channels: int = 3, stem: str = "cifar") -> ResNet:
    """ResNet-34 (basic blocks 3-4-6-3), CIFAR stem by default (the paper's CIFAR-100 model)."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, stem)


def resnet50(num_classes: int = 50, in_channels: int = 3, stem: str = "imagenet") -> ResNet:
    """ResNet-50 (bottlenecks 3-4-6-3), ImageNet stem, random init (the paper's WebVision model)."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, stem)


def unet_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 conv-BN-ReLU layers: one level of the U-Net, down or up."""
    return nn.Sequential(*conv_bn_relu(in_channels, out_channels), *conv_bn_relu(out_channels, out_channels))


class UNet(nn.Module):
    """U-Net (Ronneberger et al. 2015) with BatchNorm and padded convolutions: the output has the
    input's height and width, which must be multiples of 2**levels."""

    def __init__(self, in_channels: int = 3, num_classes: int = 2, base_width: int = 16,
                 levels: int = 4) -> None:
        super().__init__()
        if levels < 1 or base_width < 1:
            raise ValueError(f"U-Net needs levels >= 1 and base_width >= 1, got {levels} and {base_width}")
        widths = [base_width * 2**level for level in range(levels + 1)]
        self.levels = levels
        self.down = nn.ModuleList([unet_block(in_channels, widths[0])] +
                                  [unet_block(widths[level - 1], widths[level]) for level in range(1, levels + 1)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[level + 1], widths[level], 2, stride=2)
                                 for level in range(levels)])
        self.merge = nn.ModuleList([unet_block(2 * widths[level], widths[level]) for level in range(levels)])
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multiple = 2**self.levels
        if x.shape[-2] % multiple or x.shape[-1] % multiple:
            raise ValueError(f"U-Net with {self.levels} levels needs height and width divisible by {multiple}, "
                             f"got {tuple(x.shape[-2:])}")
        skips = [self.down[0](x)]
        for block in self.down[1:]:
            skips.append(block(F.max_pool2d(skips[-1], 2)))
        x = skips.pop()
        for level in reversed(range(self.levels)):
            x = self.merge[level](torch.cat([skips[level], self.up[level](x)], dim=1))
        return self.head(x)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "cnn4": cnn4,
    "cnn8": cnn8,
    "resnet34": resnet34,
    "resnet50": resnet50,
}


def build_model(name: str, num_classes: int, in_channels: int) -> nn.Module:
    """The registered model ``name`` for K = num_classes and the given input channels."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](num_classes=num_classes, in_channels=in_channels)
