"""What an encoder costs: scikit-learn's digits (8x8, resized by the encoder) embedded by
efficientnet_lite0, and a generated corpus of short sentences embedded by all_minilm_l6_v2,
each into a fresh cache, then the same again read from the cache.

    palbench bench embed [--images 200] [--size 64] [--texts 300] [--batch-size 64]

Prints images and texts per second of the first (computed) run, model loading included
(sentence-transformers' import is done before the clock starts: a process pays it once), and
the seconds of the second (cached) run.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

from sklearn.datasets import load_digits

from palbench.datasets.base import fingerprint_arrays
from palbench.datasets.text import fingerprint_texts, topic_corpus
from palbench.encoders.efficientnet import EfficientNetLite0
from palbench.encoders.sentence import AllMiniLmL6V2


def timed_twice(encoder, X, shape, fingerprint: str, gives: str):
    """The features and the seconds of a computed then a cached run, in a fresh cache."""
    with tempfile.TemporaryDirectory() as folder:
        encoder = dataclasses.replace(encoder, cache_dir=folder)
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            features = encoder.features(X, shape, fingerprint, "dataset.encoder", gives)
            timings.append(time.perf_counter() - start)
    return features, timings


def report(count: int, unit: str, timings: list[float]) -> None:
    print(f"first run (computed): {timings[0]:.2f}s, {count / timings[0]:.1f} {unit}/s")
    print(f"second run (cached):  {timings[1]:.3f}s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    X = load_digits().data[:args.images]
    encoder = EfficientNetLite0(size=args.size, pixel_max=16.0, batch_size=args.batch_size)
    features, timings = timed_twice(encoder, X, (1, 8, 8), fingerprint_arrays(X), "arrays")
    print(f"efficientnet_lite0 at {args.size}x{args.size}, {len(X)} digits, batches of "
          f"{args.batch_size}: {features.shape[1]} features")
    report(len(X), "images", timings)

    import sentence_transformers  # noqa: F401  (the import, once a process: not timed)

    texts = topic_corpus(args.texts)[0]
    features, timings = timed_twice(AllMiniLmL6V2(batch_size=args.batch_size), texts, None,
                                    fingerprint_texts(texts), "texts")
    words = sum(len(text.split()) for text in texts) / len(texts)
    print(f"all_minilm_l6_v2, {len(texts)} short texts ({words:.1f} words on average), "
          f"batches of {args.batch_size}: {features.shape[1]} features")
    report(len(texts), "texts", timings)
