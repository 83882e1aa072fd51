"""The one resolver of import paths a config names ("pkg.module:Class" for components, a
dotted "sklearn.linear_model.LogisticRegression" for third-party classes). A module that is
not installed is looked for, as `python -m` would, in the config file's folder and the working
folder (after the installed packages, so an installed module always wins)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from palbench.errors import ConfigError, first_line

ROOTS: list[str] = []  # folders searched after the installed packages (config's, working)


def add_roots(*folders: str | Path) -> None:
    """Where a config's own modules may live: its folder and the working folder."""
    for folder in folders:
        folder = str(Path(folder).resolve())
        if folder not in ROOTS:
            ROOTS.append(folder)


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
        obj = import_module(module_name)
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


def import_module(name: str):
    """Import `name`; when it is not installed, once more with the ROOTS on sys.path (kept
    there, so that worker processes, which inherit sys.path, unpickle its classes)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = [root for root in ROOTS if root not in sys.path]
        if not missing or not (exc.name and (name == exc.name or
                                             name.startswith(exc.name + "."))):
            raise
        sys.path.extend(missing)
        importlib.invalidate_caches()
        return importlib.import_module(name)
