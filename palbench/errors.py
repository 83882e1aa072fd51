"""User-facing errors: one clear line naming the field and the bad value, exit status 2."""

import os


class ConfigError(ValueError):
    """Bad input from the user (config, data file, command line). The CLI prints it on one line."""

    def __init__(self, field: str, value: object, why: str):
        self.field, self.value, self.why = field, value, why
        shown = repr(str(value) if isinstance(value, os.PathLike) else value)
        if len(shown) > 80 and not isinstance(value, (str, os.PathLike)):
            shown = shown[:77] + "..."  # a long list or array; a path or name is shown whole
        super().__init__(f"{field} = {shown}: {why}" if field else why)

    def __reduce__(self):  # rebuilt whole when it crosses a process boundary (worker pools)
        return (ConfigError, (self.field, self.value, self.why))


def first_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check(ok: bool, field: str, value: object, why: str) -> None:
    """Raise ConfigError(field, value, why) unless ok."""
    if not ok:
        raise ConfigError(field, value, why)


class ComponentError(RuntimeError):
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


class WorkerDied(RuntimeError):
    """A worker process ended without a result (killed, out of memory, or a script that
    starts workers at import time); the cells finished before stay stored."""
