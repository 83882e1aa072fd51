"""A Hugging Face model on disk: the folder it is in (a folder named, or an id found in the
local Hugging Face cache, never downloaded), the files that identify it, and its loading kept quiet
off a terminal. What the text encoders (`transformers`, `all_minilm_l6_v2`) share."""

from __future__ import annotations

import hashlib
import sys
from contextlib import contextmanager
from pathlib import Path

from palbench.encoders.base import file_sha256
from palbench.errors import ConfigError, check

# the files a model's configuration and tokenizer are in (config.json, tokenizer.json,
# added_tokens.json, vocab.txt, merges.txt, spiece.model, bpe.codes, ...)
SETTINGS_PATTERNS = ("*.json", "*.txt", "*.model", "vocab.*", "bpe.codes")
# the files a tokenizer reads its vocabulary from; tokenizer_config.json alone may name one
# that needs no file (bytes), so it is checked when loaded (`Transformers.loaded`)
TOKENIZER_PATTERNS = ("tokenizer.json", "vocab.*", "merges.txt", "*.model", "bpe.codes",
                      "tokenizer_config.json")
# its weights, in transformers' order of preference: the first pattern with a file is loaded
WEIGHTS_PATTERNS = ("*.safetensors", "pytorch_model*.bin")


def cached_folder(model: str, field: str) -> Path:
    """The folder of the Hugging Face id `model` in the local cache (as `hf download` left
    it); one line when it is not there. Nothing is ever downloaded."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model, local_files_only=True))
    except HFValidationError:
        raise ConfigError(field, model, "is neither a folder nor a Hugging Face id (name or "
                          "namespace/name)") from None
    except LocalEntryNotFoundError:
        raise ConfigError(field, model, f"is not on disk (no such folder, and no local copy "
                          f"in {constants.HF_HUB_CACHE}; download it once where there is a "
                          f"network, `hf download {model}`, or name its folder)") from None


def model_folder(path: str, field: str) -> Path:
    """`path` as a model folder: a folder with a config.json and weights; else one line."""
    folder = Path(path)
    check(folder.is_dir(), field, path, "no such folder" if not folder.exists() else
          "is a file, not a folder: name the folder that holds config.json and the weights")
    check((folder / "config.json").is_file(), field, path, "has no config.json: not a Hugging "
          "Face model folder")
    check(bool(weights_files(folder)), field, path, "has no weights (model.safetensors or "
          "pytorch_model.bin)")
    check(any(next(folder.glob(pattern), None) for pattern in TOKENIZER_PATTERNS), field,
          path, "has no tokenizer (tokenizer.json, vocab.*, merges.txt, a .model file or "
          "tokenizer_config.json)")
    return folder


def weights_files(folder: Path) -> list[Path]:
    for pattern in WEIGHTS_PATTERNS:
        found = sorted(folder.glob(pattern))
        if found:
            return found
    return []


def identity_files(folder: Path) -> list[Path]:
    """The files that make the model, in its folder and every sub-folder (sentence-transformers'
    modules: 1_Pooling, 2_Dense): weights, configuration and tokenizer files. Hidden files and
    folders (the .cache `hf download --local-dir` leaves) and documents are not the model."""
    found = set()
    for directory in (folder, *folder.rglob("*")):
        if not directory.is_dir() or any(part.startswith(".") for part in
                                         directory.relative_to(folder).parts):
            continue
        found |= {p for pattern in SETTINGS_PATTERNS for p in directory.glob(pattern)
                  if p.is_file() and not p.name.startswith(".")}
        found |= set(weights_files(directory))
    return sorted(found)


def folder_sha256(folder: Path, field: str) -> str:
    """The sha256 of the model's files (`identity_files`), each by its own sha256 and its
    path inside the folder: the same files give the same identity wherever they are."""
    digest = hashlib.sha256()
    for path in identity_files(folder):
        digest.update(f"{path.relative_to(folder).as_posix()}\0"
                      f"{file_sha256(str(path), field)}\n".encode())
    return digest.hexdigest()


@contextmanager
def quiet_loading():
    """transformers' progress bars (loading the weights) shown only on a terminal, as ours."""
    from transformers.utils import logging

    shown = logging.is_progress_bar_enabled()
    if not sys.stderr.isatty():
        logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            logging.enable_progress_bar()
