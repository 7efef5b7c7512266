"""Real-time augmentation of training batches, on whole batches at once (no per-image Python loop).

Only the training set is augmented; validation and test images are only normalised. Each image gets
its own random shift, rotation, zoom, horizontal flip, brightness/contrast change and, optionally, an
erased rectangle, drawn fresh every time it is seen, so every epoch sees new variants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random changes (0 turns one off)."""

    shift: float = 0.1  # fraction of the image side
    rotation: float = 15.0  # degrees
    zoom: float = 0.15  # relative scale change
    flip: bool = True
    brightness: float = 0.2  # added to [0, 1] pixels
    contrast: float = 0.3  # relative
    erase: float = 0.5  # probability of erasing one random rectangle


def augment(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Augment ``(N, 1, H, W)`` float images in ``[0, 1]``; returns a new tensor of the same shape."""
    n = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-config.rotation, config.rotation) * math.pi / 180
    scale = 1.0 / uniform(1 - config.zoom, 1 + config.zoom)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if config.flip else torch.ones(n)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, uniform(-config.shift, config.shift) * 2], dim=1),
            torch.stack([sin * flip, cos, uniform(-config.shift, config.shift) * 2], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    contrast = uniform(1 - config.contrast, 1 + config.contrast).view(n, 1, 1, 1)
    brightness = uniform(-config.brightness, config.brightness).view(n, 1, 1, 1)
    out = ((out - mean) * contrast + mean + brightness).clamp(0, 1)
    if config.erase > 0:
        out = _erase(out, config.erase, generator)
    return out


def _erase(images: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """Random erasing: blank one rectangle (2% to 20% of the area) in a share of the images."""
    n, _, h, w = images.shape
    area = torch.rand(n, generator=generator) * 0.18 + 0.02
    aspect = torch.exp(torch.rand(n, generator=generator) * 2 * math.log(3) - math.log(3))
    eh = (torch.sqrt(area * aspect) * h).clamp(1, h).long()
    ew = (torch.sqrt(area / aspect) * w).clamp(1, w).long()
    top = (torch.rand(n, generator=generator) * (h - eh + 1)).long()
    left = (torch.rand(n, generator=generator) * (w - ew + 1)).long()
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    inside = (
        (rows >= top.view(n, 1, 1))
        & (rows < (top + eh).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1))
        & (cols < (left + ew).view(n, 1, 1))
    )
    chosen = (torch.rand(n, generator=generator) < probability).view(n, 1, 1)
    fill = torch.rand(n, 1, 1, generator=generator)
    return torch.where((inside & chosen).unsqueeze(1), fill.unsqueeze(1), images)
