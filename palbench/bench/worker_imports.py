"""Whether worker processes can import what a run needs, asked before any starts (and, by the
session, before the store is opened, so that a refused run leaves no file): the component
classes, and the same palbench as this process; and whether the script that runs palbench
would be run again by every worker."""

from __future__ import annotations

import os
import sys

from palbench.bench.grid import Cell
from palbench.errors import ConfigError
from palbench.imports import found_at, fresh_location


def check_workers_can_start(cells: list[Cell]) -> None:
    """Before any worker starts: every component class can be imported by a worker process,
    and the script that runs palbench does not start workers at import time. A class defined
    in a notebook cell or an interactive session (module __main__ without a file), or inside
    a function, cannot reach a worker; a script that calls palbench.run at its top level
    without `if __name__ == "__main__":` would be run again by every worker."""
    classes = {type(getattr(cell, section).obj): section for cell in cells
               for section in ("dataset", "strategy", "oracle", "learner")}
    for name in dict.fromkeys(["palbench"] + [cls.__module__ for cls in classes]):
        why = import_mismatch(name)
        if why:
            raise ConfigError("workers", "> 1", why)
    for cls, section in classes.items():
        why = unsendable(cls)
        if why:
            raise ConfigError(f"{section}.name", f"{cls.__module__}:{cls.__qualname__}",
                              f"{why}, which worker processes cannot import: run with "
                              "workers = 1, or move the class into an importable module")
    line = unguarded_main_line()
    if line:
        raise ConfigError("workers", "> 1", f"the script calls palbench at its top level (line "
                          f"{line}), which every worker process would run again: put the call "
                          "under `if __name__ == \"__main__\":`, or run with workers = 1")


def import_mismatch(name: str) -> str | None:
    """Why a new worker process would not import the module `name` this process runs
    (None: it would): another file or folder of that name comes first on its search path
    (a `palbench` folder in the working folder, once that is on sys.path), or nothing it
    searches holds the module. Judged by the top-level package, as a worker finds it."""
    top = name.partition(".")[0]
    if top == "__main__":
        return None  # the running script: see unsendable and unguarded_main_line
    here = found_at(getattr(sys.modules.get(top), "__spec__", None))
    if here is None or not os.path.exists(here):
        return None  # built in, frozen, or from a zip: nothing on disk can shadow it
    there = fresh_location(top)
    if there is None:
        return (f"module {top!r} (loaded here from {here}) is in no folder a worker process "
                "searches (sys.path, the config's folder, the working folder): install it, "
                "put its folder on PYTHONPATH, or run with workers = 1")
    if os.path.realpath(there) != os.path.realpath(here):
        return (f"worker processes would import module {top!r} from {there}, which shadows "
                f"the one this process runs ({here}): rename or move {there}, or run with "
                "workers = 1")
    return None


def unsendable(cls: type) -> str | None:
    """Why a worker process could not import `cls` (None: it can)."""
    import importlib

    if "<locals>" in cls.__qualname__:
        return "it is defined inside a function"
    if cls.__module__ == "__main__":
        main = sys.modules.get("__main__")
        return None if getattr(main, "__file__", None) else \
            "it is defined in a notebook or an interactive session (module __main__)"
    try:
        found = importlib.import_module(cls.__module__)
        for part in cls.__qualname__.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return f"its module {cls.__module__!r} cannot be imported by that name"
    return None if found is cls else f"{cls.__module__}.{cls.__qualname__} is another class"


def unguarded_main_line() -> int | None:
    """The line of the running script's top level that is calling palbench, when that line
    is not inside `if __name__ == "__main__":` (None: guarded, or not run from a script)."""
    import ast

    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name.endswith("__main__"):
        return None  # `python -m package`: workers do not run a package's __main__ again
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name == "<module>" and
                                     frame.f_globals.get("__name__") == "__main__"):
        frame = frame.f_back
    path = frame.f_globals.get("__file__") if frame is not None else None
    if not path or not os.path.isfile(path):
        return None
    try:
        tree = ast.parse(open(path, encoding="utf-8").read())
    except (SyntaxError, UnicodeDecodeError, OSError):
        return None
    line = frame.f_lineno
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and \
                "__main__" in ast.unparse(node.test) and \
                node.lineno <= line <= (node.end_lineno or node.lineno):
            return None
    return line
