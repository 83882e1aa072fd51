"""What an encoder costs: scikit-learn's digits (8x8, resized by the encoder) embedded by
efficientnet_lite0 into a fresh cache, then the same again read from the cache.

    palbench bench embed [--images 200] [--size 64] [--batch-size 64]

Prints images per second of the first (computed) run and the seconds of the second (cached).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from sklearn.datasets import load_digits

from palbench.datasets.base import fingerprint_arrays
from palbench.encoders.efficientnet import EfficientNetLite0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    X = load_digits().data[:args.images]
    shape = (1, 8, 8)
    with tempfile.TemporaryDirectory() as folder:
        encoder = EfficientNetLite0(size=args.size, pixel_max=16.0, batch_size=args.batch_size,
                                    cache_dir=folder)
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            features = encoder.features(X, shape, fingerprint_arrays(X), "dataset.encoder")
            timings.append(time.perf_counter() - start)
    print(f"efficientnet_lite0 at {args.size}x{args.size}, {len(X)} digits, batches of "
          f"{args.batch_size}: {features.shape[1]} features")
    print(f"first run (computed): {timings[0]:.2f}s, {len(X) / timings[0]:.1f} images/s")
    print(f"second run (cached):  {timings[1]:.3f}s")
