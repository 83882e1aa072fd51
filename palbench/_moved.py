"""Old import paths that moved in 0.2 keep working for one release, with a DeprecationWarning.

A shim module calls `alias(__name__, "new.path")`: the old name then *is* the new module, so
its classes, registries and module state are the very same objects.
"""

from __future__ import annotations

import importlib
import sys
import warnings


def alias(old: str, new: str) -> None:
    warnings.warn(f"{old} moved to {new}; the old path goes away in the next release",
                  DeprecationWarning, stacklevel=3)
    sys.modules[old] = importlib.import_module(new)
