"""Writes palbench/encoders/examples/tiny-bert: a 2-layer BERT of width 8 with seeded random
weights and a 100-word vocabulary (a few kB), saved as transformers saves any model, so the
`transformers` encoder's contract check runs a real model folder in a fraction of a second.

    python tools/make_tiny_bert.py
"""

from __future__ import annotations

import string
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizerFast

FOLDER = Path(__file__).resolve().parents[1] / "palbench" / "encoders" / "examples" / "tiny-bert"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "a", "of", "and", "to", "in", "is", "was", "on", "for", "with", "by",
         "number", "river", "stone", "market", "engine", "violin"]


def vocabulary() -> list[str]:
    letters = list(string.ascii_lowercase + string.digits)
    pieces = [f"##{c}" for c in letters]
    words = list(dict.fromkeys(SPECIAL + letters + pieces + WORDS))  # "a" is a letter too
    return words + [f"[unused{i}]" for i in range(100 - len(words))]


def main() -> None:
    words = vocabulary()
    FOLDER.mkdir(parents=True, exist_ok=True)
    # the vocabulary itself (`vocab=`): transformers 5 takes no vocab_file here, and a
    # tokenizer given none knows only its special tokens (every word [UNK])
    tokenizer = BertTokenizerFast(vocab={word: i for i, word in enumerate(words)},
                                  do_lower_case=True, model_max_length=64)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=8, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=16,
                        max_position_embeddings=64)
    BertModel(config).eval().save_pretrained(FOLDER)
    tokenizer.save_pretrained(FOLDER)
    loaded = AutoTokenizer.from_pretrained(FOLDER)
    assert len(loaded) == len(words), f"the saved tokenizer has {len(loaded)} tokens"
    assert loaded.unk_token_id not in loaded(" ".join(WORDS))["input_ids"]
    print(f"wrote {FOLDER}: {', '.join(sorted(p.name for p in FOLDER.iterdir()))}")


if __name__ == "__main__":
    main()
