"""Emotion classifier architectures, chosen by name (``--arch``).

- ``seed-cnn``: faithful to the Keras notebooks storemood grows out of — four convolution blocks whose
  filter count doubles block by block (3x3 kernels, same padding, he_normal initialisation, ELU, batch
  normalisation, max pooling and dropout in every block), then flatten, dense blocks and softmax.
- ``mood-resnet``: storemood's own network, built for fast CPU training and inference: a small residual
  network that leaves full resolution early (the 48x48 stage is the most expensive one per filter) and
  spends its depth at 24, 12 and 6 pixels, ending in global average pooling instead of a large dense layer.
- ``mood-ensemble``: two narrower mood-resnets (48, 96, 192 channels) trained side by side, each on its
  own augmented view of every batch and with its own loss, whose probabilities are averaged. Two members
  at 0.56x the compute each cost about what one mood-resnet does, and averaging two independently
  trained networks removes much of the variance that FER2013's noisy labels put into a single one.
- ``mood-narrow``: one mood-ensemble member on its own (mood-resnet at 48, 96 and 192 channels, about half
  the ensemble's compute): the size of a distilled student that learns the ensemble's (or the teachers')
  averaged outputs instead of running two networks.
- ``teacher-vgg``: a large VGG-style network (four stages of two 3x3 conv-BN-ReLU layers, 64 to 512
  channels, pooling and dropout after each; about 4.8 M parameters and 0.9 GFLOPs at 48x48) of the kind
  that reaches 73% on FER2013 when trained long with SGD. Too slow to ship; it is a teacher for
  distillation and a member of the accurate ensemble. Global average pooling and a small head keep it
  at a few million parameters, so a resumable checkpoint (weights plus momentum) stays small.
- ``teacher-wrn``: a wide residual teacher, a second kind beside the VGG one (distilled students learn more
  from teachers whose errors differ): mood-resnet 1.5x as wide (96, 192, 384 channels) with two residual
  blocks per stage.

Every model takes ``(N, 1, size, size)`` float pixels in ``[0, 1]`` and returns logits; normalisation
happens inside the model, so an exported model needs only ``pixels / 255``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from storemood.errors import UserError


class Normalize(nn.Module):
    """Centre and scale pixels in the model itself, so the runtime never has to know the statistics."""

    def __init__(self, mean: float = 0.5, std: float = 0.25) -> None:
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _conv_bn(cin: int, cout: int, activation: type[nn.Module], stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, padding=1, bias=False), nn.BatchNorm2d(cout), activation()]


def seed_cnn(num_classes: int, size: int = 48, base: int = 32, dropout: float = 0.4) -> nn.Module:
    """The notebooks' VGG-style CNN: 4 blocks of two conv-BN-ELU layers, pooling and dropout each."""
    layers: list[nn.Module] = [Normalize()]
    cin = 1
    for block in range(4):
        cout = base * 2**block
        layers += _conv_bn(cin, cout, nn.ELU) + _conv_bn(cout, cout, nn.ELU)
        layers += [nn.MaxPool2d(2), nn.Dropout(dropout)]
        cin = cout
    flat = cin * (size // 16) ** 2
    layers += [nn.Flatten(), nn.Linear(flat, 128, bias=False), nn.BatchNorm1d(128), nn.ELU(), nn.Dropout(0.6)]
    layers += [nn.Linear(128, num_classes)]
    model = nn.Sequential(*layers)
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")  # Keras's he_normal
    return model


def teacher_vgg(
    num_classes: int, size: int = 48, widths: tuple[int, ...] = (64, 128, 256, 512), dropout: float = 0.2
) -> nn.Module:
    """VGG-style teacher: per stage two conv-BN-ReLU, max pooling and dropout; then GAP and a small head."""
    layers: list[nn.Module] = [Normalize()]
    cin = 1
    for width in widths:
        layers += _conv_bn(cin, width, nn.ReLU) + _conv_bn(width, width, nn.ReLU)
        layers += [nn.MaxPool2d(2), nn.Dropout(dropout)]
        cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 256, bias=False), nn.BatchNorm1d(256)]
    layers += [nn.ReLU(), nn.Dropout(0.4), nn.Linear(256, num_classes)]
    model = nn.Sequential(*layers)
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return model


class ResidualBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity shortcut (the basic ResNet block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(channels, channels, nn.ReLU),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        nn.init.zeros_(self.body[-1].weight)  # start as identity: trains faster and more stably
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


def mood_resnet(
    num_classes: int, size: int = 48, widths: tuple[int, ...] = (64, 128, 256), blocks: int = 1
) -> nn.Module:
    """storemood's own residual network (about 0.3 GFLOPs at 48x48); ``blocks`` residual blocks per stage."""
    layers: list[nn.Module] = [Normalize(), *_conv_bn(1, 32, nn.ReLU), *_conv_bn(32, widths[0], nn.ReLU, 2)]
    for stage, width in enumerate(widths):
        if stage:
            layers += _conv_bn(widths[stage - 1], width, nn.ReLU, 2)
        layers += [ResidualBlock(width) for _ in range(blocks)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(widths[-1], num_classes)]
    model = nn.Sequential(*layers)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return model


def teacher_wrn(num_classes: int, size: int = 48) -> nn.Module:
    """Wide residual teacher: mood-resnet 1.5x as wide with two blocks per stage (7.8 M parameters, 1.3 GFLOPs)."""
    return mood_resnet(num_classes, size, widths=(96, 192, 384), blocks=2)


class Ensemble(nn.Module):
    """Members trained independently (one loss each) whose softmax probabilities are averaged.

    ``forward`` returns the log of the averaged probabilities, so that a softmax over it, as every
    caller and the ONNX export apply, gives back exactly the ensemble's probabilities.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probabilities = torch.stack([torch.softmax(member(x), dim=1) for member in self.members]).mean(dim=0)
        return torch.log(probabilities.clamp_min(1e-12))


def mood_narrow(num_classes: int, size: int = 48) -> nn.Module:
    """A mood-resnet at 48, 96 and 192 channels: 0.56x one mood-resnet's compute."""
    return mood_resnet(num_classes, size, widths=(48, 96, 192))


def mood_ensemble(num_classes: int, size: int = 48, members: int = 2) -> Ensemble:
    """Two narrow mood-resnets: about 1.1x one mood-resnet's compute, in training and inference."""
    return Ensemble([mood_narrow(num_classes, size) for _ in range(members)])


def member_count(model: nn.Module) -> int:
    """How many separately trained networks ``model`` holds (1 for a plain network)."""
    return len(model.members) if isinstance(model, Ensemble) else 1


def member_logits(model: nn.Module, views: list[torch.Tensor]) -> list[torch.Tensor]:
    """Training logits, one tensor per member, each on its own view; a plain network is one member."""
    members = model.members if isinstance(model, Ensemble) else [model]
    return [member(view) for member, view in zip(members, views, strict=True)]


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "seed-cnn": seed_cnn,
    "mood-resnet": mood_resnet,
    "mood-ensemble": mood_ensemble,
    "mood-narrow": mood_narrow,
    "teacher-vgg": teacher_vgg,
    "teacher-wrn": teacher_wrn,
}


def require_architecture(arch: str) -> None:
    """Refuse an architecture name that ``build_model`` does not know, naming the ones it does."""
    if arch not in ARCHITECTURES:
        raise UserError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def build_model(arch: str, num_classes: int, size: int = 48) -> nn.Module:
    """The named architecture, freshly initialised.

    >>> model = build_model("mood-ensemble", num_classes=7).eval()
    >>> model(torch.rand(2, 1, 48, 48)).shape                  # logits for 2 faces
    torch.Size([2, 7])
    >>> member_count(model)
    2
    """
    require_architecture(arch)
    return ARCHITECTURES[arch](num_classes, size)
