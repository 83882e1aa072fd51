"""Pretrained encoders: frozen torch modules that turn a dataset's inputs into its features
view (`[dataset.encoder]`), computed once per (data, encoder and weights) and cached on disk.

Each built-in is named here and imported on first use (`Registry.lazy`); third-party encoders
come by entry point (group ``palbench.encoders``) or by import path.
"""

from palbench.encoders.base import ENCODERS, Encoder

ENCODERS.lazy(__name__, {
    "torch_modules": ("torchscript", "factory"),
    "efficientnet": ("efficientnet_lite0",),
    "sentence": ("all_minilm_l6_v2",),
    "transformers_model": ("transformers",),
})

__all__ = ["ENCODERS", "Encoder"]
