"""Any Hugging Face transformers model on disk as a text encoder: a folder (`path`), or a
model id found in the local Hugging Face cache (`model`; never downloaded). Texts are
tokenized by the model's own tokenizer, run through the model, and its last hidden states
pooled to one vector a text. Identity: the sha256 of the model's files, never its path or id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from palbench.encoders.base import ENCODERS, INSTALL, Encoder, device
from palbench.encoders.hf_folder import cached_folder, folder_sha256, model_folder, quiet_loading
from palbench.errors import ConfigError, check
from palbench.fields import param

# a 2-layer BERT of width 8 with random weights and a 100-word vocabulary: what its contract
# check runs (made by tools/make_tiny_bert.py)
EXAMPLE = Path(__file__).parent / "examples" / "tiny-bert"


@ENCODERS.register("transformers")
@dataclass(frozen=True, kw_only=True)
class Transformers(Encoder):
    """A transformers model from disk: texts tokenized (cut at `max_length` tokens), the last
    hidden states pooled (`pooling`: the mean over the text's tokens, or the first token's,
    [CLS]), then scaled to unit length when `normalize`. With mean pooling and `normalize =
    true`, all-MiniLM-L6-v2's folder gives what `all_minilm_l6_v2` gives."""
    examples = ({"path": str(EXAMPLE), "max_length": 64},)

    takes = "texts"
    # the model's folder (config.json, the weights, the tokenizer), relative to the config
    # file (its files' sha256 are the encoder's identity, not its path)
    path: str = param("", results=False)
    # or a Hugging Face id ("bert-base-uncased") found in the local cache (~/.cache/
    # huggingface/hub, $HF_HUB_CACHE); never downloaded (identity: its files' sha256)
    model: str = param("", results=False)
    pooling: str = param("mean", choices=("mean", "cls"))  # the tokens' mean, or the first's
    max_length: int = param(256, ge=1)  # tokens kept of a text (the rest cut off)
    normalize: bool = False  # each vector scaled to unit length

    def validate(self, where):
        check(bool(self.path) != bool(self.model), f"{where}.path", self.path,
              "name the model by path (a folder) or by model (a Hugging Face id), one of them"
              if self.model else "a transformers model needs path (its folder) or model "
              "(a Hugging Face id)")

    def folder(self, where: str) -> Path:
        if self.path:
            return model_folder(self.path, f"{where}.path")
        return model_folder(str(cached_folder(self.model, f"{where}.model")), f"{where}.model")

    def weights_hash(self) -> str:
        field = "dataset.encoder.path" if self.path else "dataset.encoder.model"
        return folder_sha256(self.folder("dataset.encoder"), field)

    def compute(self, X, image_shape, where: str) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        tokenizer, network = self.loaded(where)
        on = device()
        network = network.to(on).eval()
        out = []
        with torch.inference_mode():
            for texts in self.batches(list(X)):
                tokens = tokenizer(texts, padding=True, truncation=True,
                                   max_length=self.max_length, return_tensors="pt").to(on)
                pooled = pool(network(**tokens).last_hidden_state, tokens["attention_mask"],
                              self.pooling)
                if self.normalize:
                    pooled = F.normalize(pooled, dim=1)
                out.append(pooled.float().cpu().numpy())
        return np.concatenate(out)

    def loaded(self, where: str):
        """(tokenizer, model) from the folder; one line when transformers is absent or the
        folder holds no model it can load."""
        folder = self.folder(where)
        field = f"{where}.path" if self.path else f"{where}.model"
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise ConfigError(f"{where}.name", "transformers", "needs the package "
                              f"transformers, which is not installed ({INSTALL})") from None
        try:
            with quiet_loading():
                tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
                network = AutoModel.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(field, self.path or self.model, "cannot be loaded by "
                              f"transformers ({str(exc).splitlines()[0]})") from None
        positions = getattr(network.config, "max_position_embeddings", None)
        check(positions is None or self.max_length <= positions, f"{where}.max_length",
              self.max_length, f"the model reads at most {positions} tokens")
        return tokenizer, network


def pool(hidden, mask, pooling: str):
    """One vector a text from its tokens' last hidden states: their mean over the text's own
    tokens (padding left out), or the first token's."""
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
