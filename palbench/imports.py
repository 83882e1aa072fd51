"""The one resolver of import paths a config names ("pkg.module:Class" for components, a
dotted "sklearn.linear_model.LogisticRegression" for third-party classes). A module that is
not installed is looked for, as `python -m` would, in the config file's folder and the working
folder, by a finder placed last on `sys.meta_path`: after the installed packages, editable
installs included, so that a folder there never shadows an installed module (a `palbench`
folder in the working folder included). The folders are not put on `sys.path`: an editable
install's finder comes after every `sys.path` entry, so any folder there could shadow it."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from pathlib import Path

from palbench.errors import ConfigError, first_line

ROOTS: list[str] = []  # folders searched after the installed packages (config's, working)


class RootsFinder(importlib.abc.MetaPathFinder):
    """Finds a top-level module in ROOTS; the last finder, so it is asked only when nothing
    installed has the name (a package's submodules come from its own folder as usual)."""

    def find_spec(self, name, path=None, target=None):
        if path is not None or not ROOTS:
            return None
        return importlib.machinery.PathFinder.find_spec(name, ROOTS)


def add_roots(*folders: str | Path) -> None:
    """Where a config's own modules may live: its folder and the working folder (also called
    by each worker process, with its parent's ROOTS, before it reads a cell)."""
    for folder in folders:
        folder = str(Path(folder).resolve())
        if folder not in ROOTS:
            ROOTS.append(folder)
    if not any(isinstance(finder, RootsFinder) for finder in sys.meta_path):
        sys.meta_path.append(RootsFinder())
    importlib.invalidate_caches()  # a folder's listing may be cached from before it changed


def path_of(cls: type) -> str:
    """`module:QualName`, the import path a config can name the class by."""
    return f"{cls.__module__}:{cls.__qualname__}"


def split(path: str) -> tuple[str, str]:
    """(module, qualified name) of "module:Qual.Name" or of a dotted "module.Name"."""
    if ":" in path:
        module, _, qualname = path.partition(":")
    else:
        module, _, qualname = path.rpartition(".")
    return module, qualname


def resolve(path: str, field: str) -> object:
    """The object at `path`, or one line naming the field, the path, where it looked and
    what to do."""
    module_name, qualname = split(str(path))
    if not module_name or not qualname:
        raise ConfigError(field, path, "an import path is written \"module:Class\"")
    try:
        obj = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        looked = ", ".join(ROOTS + ["the installed packages"])
        raise ConfigError(field, path, f"cannot import module {module_name!r}: no module named "
                          f"{exc.name!r} (looked in {looked}); make it importable: run from "
                          "the folder that holds it, `pip install -e` its project, or add its "
                          "folder to PYTHONPATH") from None
    except Exception as exc:  # noqa: BLE001  (a module that fails to import is the config's)
        raise ConfigError(field, path, f"cannot import module {module_name!r}: "
                          f"{first_line(exc)}") from None
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(field, path, f"module {module_name!r} has no {qualname!r}") \
                from None
    return obj


def found_at(spec) -> str | None:
    """Where a module spec points: a package's folder (a namespace package's first), else
    the module's file."""
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return next(iter(spec.submodule_search_locations), None)
    return spec.origin


def fresh_location(name: str) -> str | None:
    """Where a new process with this one's sys.path, finders and ROOTS (a worker) would
    import the top-level module `name` from; None when nothing would find it. Asks each
    finder on sys.meta_path in order, as the import system does, ignoring sys.modules."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(name, None)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            return found_at(spec)
    return None
