"""Any Hugging Face transformers model on disk as a text encoder: `model` names its folder
(an absolute path: the config makes a folder beside it absolute), else a model id found in the
local Hugging Face cache (never downloaded); a relative name is never looked for in the
working folder. Texts are tokenized by the model's own tokenizer, run through the model, and
its last hidden states pooled to one vector a text. Identity: the sha256 of the model's files,
never its path or id.
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
    true`, all-MiniLM-L6-v2's folder gives what `all_minilm_l6_v2` gives. A tokenizer with
    no padding token (GPT-2's) pads with its end-of-text token."""
    examples = ({"model": str(EXAMPLE), "max_length": 64},)

    takes = "texts"
    # the model's folder (config.json, the weights, the tokenizer; relative to the config
    # file), else a Hugging Face id ("bert-base-uncased") found in the local cache
    # (~/.cache/huggingface/hub, $HF_HUB_CACHE), never downloaded; its files' sha256 are the
    # encoder's identity, not the name
    model: str = param(results=False)
    pooling: str = param("mean", choices=("mean", "cls"))  # the tokens' mean, or the first's
    max_length: int = param(256, ge=1)  # tokens kept of a text (the rest cut off)
    normalize: bool = False  # each vector scaled to unit length

    def validate(self, where):
        check(bool(self.model), f"{where}.model", self.model, "name a model's folder or a "
              "Hugging Face id")

    def folder(self, where: str) -> Path:
        """The model's folder: `model` itself when it is an absolute path, else the local
        cache's copy of the Hugging Face id; a relative path (./, ../, two /) is refused."""
        field = f"{where}.model"
        if Path(self.model).is_absolute():
            return model_folder(self.model, field)
        check(not written_as_path(self.model), field, self.model,
              "no such folder beside the config file")
        needs_transformers(where)
        return model_folder(str(cached_folder(self.model, field)), field)

    def weights_hash(self) -> str:
        return folder_sha256(self.folder("dataset.encoder"), "dataset.encoder.model")

    def compute(self, X, image_shape, where: str) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        tokenizer, network = self.loaded(where)
        on = device()
        network = network.to(on).eval()
        out = []
        with torch.inference_mode():
            for texts in self.batches(list(X)):
                try:
                    tokens = tokenizer(texts, padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt").to(on)
                    hidden = network(**tokens).last_hidden_state
                except (ValueError, RuntimeError, IndexError) as exc:  # the model or its
                    # tokenizer cannot take these texts (a tokenizer from another model)
                    raise ConfigError(f"{where}.model", self.model, f"failed on a batch of "
                                      f"{len(texts)} texts: {first_line(exc)}") from None
                pooled = pool(hidden, tokens["attention_mask"], self.pooling)
                if self.normalize:
                    pooled = F.normalize(pooled, dim=1)
                out.append(pooled.float().cpu().numpy())
        return np.concatenate(out)

    def loaded(self, where: str):
        """(tokenizer, model) from the folder; one line when transformers is absent or the
        folder holds no model it can load, or no tokenizer with a vocabulary. A tokenizer
        without a padding token (GPT-2's) pads with its end-of-text token (padding is masked
        out of the pooling); texts are padded on the right, so a text's first token is first."""
        folder = self.folder(where)
        needs_transformers(where)
        from transformers import AutoModel, AutoTokenizer

        field = f"{where}.model"
        try:
            with quiet_loading():
                tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
                network = AutoModel.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ConfigError(field, self.model, "cannot be loaded by transformers "
                              f"({first_line(exc)})") from None
        special = set(tokenizer.all_special_ids)
        check(bool(set(tokenizer.get_vocab().values()) - special), field, self.model,
              f"its tokenizer has no vocabulary, only its {len(special)} special tokens (the "
              "folder lacks the tokenizer.json, vocab.* or .model file it reads)")
        if tokenizer.pad_token is None:
            check(tokenizer.eos_token is not None, field, self.model, "its tokenizer has no "
                  "padding token and no end-of-text token to pad with")
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
        positions = getattr(network.config, "max_position_embeddings", None)
        check(positions is None or self.max_length <= positions, f"{where}.max_length",
              self.max_length, f"the model reads at most {positions} tokens")
        return tokenizer, network


def needs_transformers(where: str) -> None:
    """One line when transformers (or huggingface_hub, which finds an id) is not installed."""
    try:
        import huggingface_hub  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise ConfigError(f"{where}.name", "transformers", "needs the package transformers, "
                          f"which is not installed ({INSTALL})") from None


def first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def pool(hidden, mask, pooling: str):
    """One vector a text from its tokens' last hidden states: their mean over the text's own
    tokens (padding left out), or the first token's."""
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def written_as_path(name: str) -> bool:
    """Whether a relative name can only be a path, not a Hugging Face id (./ or ../, or more
    than one /): the config made it absolute when it was a folder beside it, so it is not
    there."""
    return name.startswith(("./", "../")) or name.count("/") > 1
