"""The errors palbench raises on purpose, one type per kind of failure, all `PalbenchError`.

The command line maps each type to its exit status once (`palbench.cli.EXIT_CODES`), and each
prints as one line. Every type rebuilds whole when it crosses a process boundary (worker pools,
Ray): the ones with several arguments define `__reduce__`.
"""

import os


class PalbenchError(Exception):
    """The base of every error below: `except palbench.PalbenchError` catches whatever palbench
    refuses or reports, and nothing else (not a bug of palbench's own)."""


def field_line(field: str, value: object, why: str) -> str:
    """`field = value: why` (`why` alone without a field): a path or a name whole, a long list
    or array cut to 80 characters."""
    if not field:
        return why
    shown = repr(str(value) if isinstance(value, os.PathLike) else value)
    if len(shown) > 80 and not isinstance(value, (str, os.PathLike)):
        shown = shown[:77] + "..."  # a long list or array; a path or name is shown whole
    return f"{field} = {shown}: {why}"


class ConfigError(PalbenchError, ValueError):
    """Bad input from the user (config, data file, command line), naming the field and the
    value: the CLI prints it on one line and exits 2, with nothing written."""

    def __init__(self, field: str, value: object, why: str):
        self.field, self.value, self.why = field, value, why
        super().__init__(field_line(field, value, why))

    def __reduce__(self):  # rebuilt whole when it crosses a process boundary (worker pools)
        return (ConfigError, (self.field, self.value, self.why))


class StoreError(PalbenchError):
    """The results store cannot be used: no such file, not a store, damaged, written by a
    newer palbench, read-only, a full disk, locked past the timeout (exit 2). The message is
    `store = PATH: why`; the file is left as it was."""

    def __init__(self, path: str | os.PathLike, why: str):
        self.path, self.why = str(path), why
        super().__init__(field_line("store", self.path, why))

    def __reduce__(self):
        return (StoreError, (self.path, self.why))


class TrainingDiverged(PalbenchError):
    """A learner gave no usable model at some checkpoint: non-finite probabilities or
    embeddings (training diverged), or a scikit-learn estimator that refused the labels it
    was given there (KNN with more neighbours than labels). The config's parameters, not a
    bug: exit 2, one line. Raised with `why` alone inside the learner; the run loop adds the
    component (`field`, `value`) and where the run was."""

    def __init__(self, why: str, field: str = "", value: object = None):
        self.why, self.field, self.value = why, field, value
        super().__init__(field_line(field, value, why))

    def __reduce__(self):
        return (TrainingDiverged, (self.why, self.field, self.value))


class ComponentError(PalbenchError, RuntimeError):
    """An exception raised inside a component's own code: a bug, not bad input (exit 1).

    `summary` names the component, the run and what raised; `frames` is the traceback from
    the harness's call into the component down to the raise (the component's own frames);
    `traceback` is the whole of it. Both are text, so the error crosses process boundaries
    (worker pools, Ray) whole."""

    def __init__(self, summary: str, frames: str, traceback: str):
        self.summary, self.frames, self.traceback = summary, frames, traceback
        super().__init__(summary)

    def __reduce__(self):
        return (ComponentError, (self.summary, self.frames, self.traceback))


class ContractError(PalbenchError, AssertionError):
    """A component breaks its kind's contract (raised by `palbench.testing.check_*`); the
    message names the rule. Also an AssertionError, so that a check called in a user's own
    test fails that test as a failed assertion does, and `pytest.raises(AssertionError)`
    keeps catching it."""


class WorkerDied(PalbenchError, RuntimeError):
    """A worker process ended without a result (killed, out of memory, or a script that
    starts workers at import time); the cells finished before stay stored (exit 1)."""


def first_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check(ok: bool, field: str, value: object, why: str) -> None:
    """Raise ConfigError(field, value, why) unless ok."""
    if not ok:
        raise ConfigError(field, value, why)
