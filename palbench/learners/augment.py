"""Augmentations that make the self-supervised positives of the `pal` learner: two views of one
sample are alike. Applied to whole batches on the training device.

Images: random crops with zero padding, horizontal flips where the classes allow them (the
dataset says so: Fashion-MNIST yes, digits no), a small affine jitter, all from kornia (pinned;
its random draws come from torch's generator, which the learner seeds). Vectors: Gaussian noise
in the standardised feature space.
"""

from __future__ import annotations

import torch

from palbench.errors import check

AUGMENTATIONS = ("auto", "crop", "crop_flip", "noise", "none")


def resolve(augment: str, data) -> str:
    """What "auto" means for this dataset; image augmentations on vectors are refused."""
    if augment == "auto":
        if data.image_shape:
            return "crop_flip" if getattr(data, "flip_invariant", False) else "crop"
        return "noise"
    return augment


def check_for(augment: str, data, field: str) -> None:
    """Image augmentations need images (which names exist is declared on the field)."""
    check(augment not in ("crop", "crop_flip") or bool(data.image_shape), field, augment,
          f"image augmentations need an image dataset; {data.name!r} has plain feature vectors "
          "(use \"noise\")")


class Augmenter:
    """views(xb) -> one augmented view of each row of the flat batch xb."""

    def __init__(self, kind: str, image_shape, noise: float, device: torch.device):
        self.kind, self.noise, self.shape = kind, noise, image_shape
        self.pipeline = None
        if kind in ("crop", "crop_flip"):
            import kornia.augmentation as K

            _, height, width = image_shape
            pad = max(1, height // 8)  # 1 pixel on 8x8 digits, 3 on 28x28 images
            steps = [K.RandomCrop((height, width), padding=pad)]
            if kind == "crop_flip":
                steps.append(K.RandomHorizontalFlip())
            steps.append(K.RandomAffine(degrees=10.0, translate=(0.05, 0.05), scale=(0.9, 1.1)))
            self.pipeline = K.AugmentationSequential(*steps).to(device)

    def __call__(self, xb: torch.Tensor) -> torch.Tensor:
        if self.kind == "none":
            return xb
        if self.pipeline is not None:
            xb = self.pipeline(xb.reshape(-1, *self.shape)).reshape(len(xb), -1)
        if self.noise:
            xb = xb + self.noise * torch.randn_like(xb)
        return xb
