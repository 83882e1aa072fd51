"""Every module of the installed package imports (no shim pointing at a module that left)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import palbench

MODULES = sorted(m.name for m in pkgutil.walk_packages(palbench.__path__, "palbench.")
                 if not m.name.endswith("__main__"))  # __main__ runs the command line


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name):
    importlib.import_module(name)
