"""A factory encoder for the tests that notes each module it builds (one line per build, with
its process id, in the file $PALBENCH_ENCODER_CALLS): what shows the cache skipping it."""

from __future__ import annotations

import os

import torch


def make_encoder() -> torch.nn.Module:
    with open(os.environ["PALBENCH_ENCODER_CALLS"], "a") as calls:
        calls.write(f"{os.getpid()}\n")
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 6))
