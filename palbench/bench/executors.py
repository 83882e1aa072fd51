"""Where cells run: in this process (workers=1), a local process pool, or a Ray cluster (a
local one on loopback by default). A task is a group of cells that advance in lockstep
(`loop.run_lockstep`: their fits trained as one batch); groups of one by default, `batch_cells`
cells of one dataset, learner and checkpoint schedule with --batch-cells N.

Workers only compute; results come back to the caller, which alone writes the store.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from palbench.bench import loop
from palbench.bench.config import Cell
from palbench.bench.loop import CellResult
from palbench.datasets import Dataset
from palbench.errors import ConfigError, PalbenchError, WorkerDied
from palbench.imports import ROOTS, add_roots, found_at, fresh_location

_WORKER_DATASETS: dict[str, Dataset] = {}
PARENT_POLL_SECONDS = 0.25
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def end_with_parent(parent: int) -> None:
    """A worker's initializer: the worker ends when the process that started it dies, however
    it dies (SIGKILL included), so that no worker outlives its run or holds the caller's
    pipes open. Linux signals the worker at once (PR_SET_PDEATHSIG); everywhere, a daemon
    thread checks every quarter second that the worker's parent is still `parent`."""
    import signal
    import threading
    import time

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # the thread below still watches
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="palbench-parent-watch", daemon=True).start()


def start_worker(parent: int, roots: list[str]) -> None:
    """A pool worker's initializer, run before it reads any cell: it ends with its parent
    (`end_with_parent`) and finds the config's own modules where its parent does (the
    parent's palbench.imports ROOTS, after the installed packages)."""
    add_roots(*roots)
    end_with_parent(parent)



def group_key(cell: Cell) -> str:
    """What cells of one lockstep group share: the dataset, the learners (task and selection)
    and the checkpoint schedule, so that their fits line up and batch."""
    spec = cell.spec()
    return json.dumps([cell.dataset_fingerprint, spec["learner"],
                       spec.get("selection_learner"), list(cell.experiment.budgets),
                       cell.experiment.batch_size], sort_keys=True)


def cell_groups(cells: list[Cell], batch_cells: int) -> list[list[Cell]]:
    """The cells in groups of at most `batch_cells` with one group_key, in plan order (a
    resumed run groups the cells it still has to run)."""
    by_key: dict[str, list[Cell]] = {}
    for cell in cells:
        by_key.setdefault(group_key(cell), []).append(cell)
    return [same[start:start + batch_cells] for same in by_key.values()
            for start in range(0, len(same), batch_cells)]


MAX_BATCH_CELLS = 32  # automatic groups: the speed-up has flattened by then (bench batching)
MEMORY_SHARE = 0.5  # of the memory available now, what a worker's batch may take


def available_memory() -> int:
    """Bytes of memory available now (Linux: MemAvailable; elsewhere the free pages)."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def batch_size_for(cells: list[Cell], datasets: Callable[[Cell], Dataset], workers: int,
                   requested: int | None) -> int:
    """How many cells a lockstep group holds: `requested` (--batch-cells) when its fits fit
    in memory (else one line before any work); automatically, 1 unless a learner batches its
    fits, else the cells sharing a group key spread evenly over whole rounds of the workers,
    at most MAX_BATCH_CELLS and what memory allows."""
    if requested is not None and (not isinstance(requested, int) or requested < 1):
        raise ConfigError("--batch-cells", requested, "must be an integer >= 1")
    if not cells:
        return requested or 1
    need = max(cell.learner.obj.batch_member_bytes(datasets(cell)) for cell in cells)
    budget = MEMORY_SHARE * available_memory() / max(workers, 1)
    fits = int(budget // need) if need else MAX_BATCH_CELLS * 1000
    if requested is not None:
        if requested > max(fits, 1):
            raise ConfigError("--batch-cells", requested, f"a group's fits would need "
                              f"{requested * need / 2**30:.1f} GiB, more than the "
                              f"{budget / 2**30:.1f} GiB a worker may take here; at most "
                              f"{max(fits, 1)}")
        return requested
    if not any(cell.learner.obj.batches_fits(datasets(cell)) for cell in cells):
        return 1
    largest = max(len(group) for group in cell_groups(cells, len(cells)))
    workers = max(workers, 1)
    # as many groups as a whole number of rounds of the workers needs, none above the cap:
    # 130 cells on 2 workers make 6 groups of at most 22, never 4 of 32 and a last one alone
    rounds = -(-largest // (workers * MAX_BATCH_CELLS))
    return max(1, min(-(-largest // (workers * rounds)), fits))


def run_group(cells: list[Cell], data: Dataset) -> list[CellResult]:
    """A group of cells on one dataset, in lockstep."""
    return loop.run_lockstep([(cell, data) for cell in cells])


def _run_in_worker(cells: list[Cell]) -> list[CellResult]:
    """Rebuild the dataset once per worker process (cheaper than sending the arrays)."""
    cell = cells[0]
    key = cell.dataset_fingerprint
    if key not in _WORKER_DATASETS:
        _WORKER_DATASETS.clear()
        _WORKER_DATASETS[key] = cell.dataset.obj.prepare(cell.dataset.label, "dataset")
    data = _WORKER_DATASETS[key]
    if data.fingerprint != cell.dataset_fingerprint:
        raise RuntimeError(f"dataset {cell.dataset.label!r} changed on disk during the run")
    return run_group(cells, data)


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


def run_cells(cells: Iterable[Cell], datasets: Callable[[Cell], Dataset], workers: int,
              on_result: Callable[[CellResult], None],
              on_checkpoint: Callable[[], None] | None = None, batch_cells: int = 1) -> None:
    """Run every cell (`datasets(cell)` gives its data), in lockstep groups of at most
    `batch_cells`; call on_result in this process as each finishes (in completion order; a
    group's cells when the group does)."""
    groups = cell_groups(list(cells), batch_cells)
    if workers <= 1:
        for group in groups:
            hook = (lambda _i, _c: on_checkpoint()) if on_checkpoint else None
            for result in loop.run_lockstep([(cell, datasets(cell)) for cell in group], hook):
                on_result(result)
        return
    check_workers_can_start([cell for group in groups for cell in group])
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start_worker,
                             initargs=(os.getpid(), list(ROOTS))) as pool:
        pending = {pool.submit(_run_in_worker, group) for group in groups}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        results = future.result()
                    except BrokenProcessPool:
                        raise WorkerDied("a worker process ended without a result (killed, "
                                         "out of memory, or it failed to start: any error "
                                         "it printed is above); finished runs are stored: "
                                         "run again to resume") from None
                    for result in results:
                        if on_checkpoint:
                            for _ in result.checkpoints:
                                on_checkpoint()
                        on_result(result)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _ray_gpu_request(cell: Cell, cluster_gpus: float) -> float:
    device = getattr(cell.learner.obj, "device", "cpu")
    return 1.0 if cluster_gpus > 0 and (device == "auto" or device.startswith("cuda")) else 0.0


RAY_CONNECT_SECONDS = 5.0
# Ray's RuntimeError when the cluster was started by another Ray or Python
RAY_VERSIONS = re.compile(r"Version mismatch: The cluster was started with:\s+Ray: (\S+)\s+"
                          r"Python: (\S+)\s+This process on .*? was started with:\s+"
                          r"Ray: (\S+)\s+Python: (\S+)", re.S)


def ray_target(address: str) -> tuple[str, int] | None:
    """(host, port) of an address as Ray users write it: "host:port" or "ray://host:port"
    (Ray Client); None for "auto" (Ray finds the cluster this machine belongs to)."""
    if address == "auto":
        return None
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("--address", address, "must be auto, HOST:PORT or ray://HOST:PORT "
                          "(the head node's GCS port, 6379 unless `ray start --port` said "
                          "otherwise; Ray Client: 10001)")
    return host.strip("[]"), int(port)


def check_reachable(address: str) -> None:
    """One line, at once, when nothing listens at the address (Ray itself retries for
    minutes, printing a warning every few seconds)."""
    import socket

    target = ray_target(address)
    if target is None:
        return
    try:
        socket.create_connection(target, timeout=RAY_CONNECT_SECONDS).close()
    except OSError as exc:
        cause = exc.strerror or type(exc).__name__
        raise ConfigError("--address", address, f"no Ray cluster answers there ({cause}); "
                          "start one with `ray start --head`, or check the host and port") \
            from None


def join_ray(ray, address: str, verbose: bool) -> None:
    """ray.init against a running cluster, failing in one line that names the address, the
    cause and the fix (token authentication, which `ray start` turns on by default)."""
    import logging

    check_reachable(address)
    try:
        with contextlib.nullcontext() if verbose else descriptor_2_aside():
            ray.init(address=address, log_to_driver=verbose,
                     logging_level=logging.INFO if verbose else logging.ERROR)
    except Exception as exc:  # noqa: BLE001  (Ray raises ConnectionError, RuntimeError, ...)
        from palbench.errors import first_line

        versions = RAY_VERSIONS.search(str(exc))
        if versions:
            ray_there, python_there, ray_here, python_here = versions.groups()
            raise ConfigError("--address", address, f"the Ray cluster there runs Ray "
                              f"{ray_there} on Python {python_there}, this machine Ray "
                              f"{ray_here} on Python {python_here}: a driver needs the "
                              f"cluster's versions (pip install ray=={ray_there} here, or "
                              f"start the cluster with this Ray and Python)") from None
        if "ray[client]" in str(exc):
            raise ConfigError("--address", address, "a ray:// address needs Ray Client: pip "
                              "install 'ray[client]' (or give the head's HOST:PORT)") from None
        if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
            fix = ("a cluster started by `ray start` requires token authentication: set "
                   "RAY_AUTH_MODE=token here and give this machine the cluster's token "
                   "(~/.ray/auth_token, or RAY_AUTH_TOKEN)")
        else:
            fix = ("check that this machine's token (~/.ray/auth_token, or RAY_AUTH_TOKEN) "
                   f"is the cluster's, and that the cluster runs Ray {ray.__version__} too")
        raise ConfigError("--address", address, f"cannot join the Ray cluster there "
                          f"({first_line(exc)}); {fix}") from None


@contextlib.contextmanager
def descriptor_2_aside():
    """File descriptor 2 into a temporary file for the block: Ray's C++ core writes its
    connection warnings there (one every second while it retries), whatever its log level."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as aside:
        os.dup2(aside.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def quiet_ray(verbose: bool) -> None:
    """Ray's own log lines (its C++ core's warnings included) stay out of the terminal unless
    --verbose; read before Ray is imported."""
    if not verbose:
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        os.environ.setdefault("RAY_LOG_TO_STDERR", "0")


RAY_TASK_RETRIES = 3  # a cell whose worker or node dies runs again elsewhere, this often


def run_cells_ray(cells: Iterable[Cell], datasets: Callable[[Cell], Dataset], workers: int,
                  on_result: Callable[[CellResult], None],
                  on_checkpoint: Callable[[], None] | None = None,
                  address: str | None = None, verbose: bool = False,
                  batch_cells: int = 1) -> None:
    """One Ray task per lockstep group of cells (one cell by default); results stream back to
    this process, which alone writes the store. Each dataset goes into Ray's object store once
    (`ray.put`): a node fetches it once for all the cells it runs, and a task carries only its
    cells (a few KiB each). A group whose worker or node dies is retried (RAY_TASK_RETRIES).
    Without `address`, a local Ray instance on loopback with `workers` CPUs, no dashboard, no
    usage stats."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if address:
        ray_target(address)  # a malformed address is one line before Ray is imported
    quiet_ray(verbose)
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor", "ray", "needs Ray: pip install 'palbench[ray]'") from None
    started = False
    if not ray.is_initialized():
        if address:
            join_ray(ray, address, verbose)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                     log_to_driver=False)
            outward = [n["NodeManagerAddress"] for n in ray.nodes()
                       if n["NodeManagerAddress"] != "127.0.0.1"]
            if outward:  # Ray read its settings when first imported, before ours
                ray.shutdown()
                raise ConfigError("--executor", "ray", f"the local Ray cluster bound to "
                                  f"{outward[0]}, not loopback; set "
                                  "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before Ray is imported")
        started = True
    cells = list(cells)
    check_workers_can_start(cells)
    groups = cell_groups(cells, batch_cells)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        task = ray.remote(run_group)
        pools: dict[str, object] = {}  # one object per dataset: each node fetches it once

        def pool_of(cell: Cell):
            if cell.dataset_fingerprint not in pools:
                pools[cell.dataset_fingerprint] = ray.put(datasets(cell))
            return pools[cell.dataset_fingerprint]

        pending = {task.options(num_cpus=1, num_gpus=_ray_gpu_request(group[0], gpus),
                                max_retries=RAY_TASK_RETRIES).remote(group, pool_of(group[0])):
                   group for group in groups}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                group = pending.pop(ref)
                cell = group[0]
                try:
                    results = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # a bad-input line, not a traceback
                    if isinstance(exc.cause, PalbenchError):  # one line, its own exit
                        raise exc.cause from None
                    raise
                except ray.exceptions.RayError as exc:  # a node or worker died, retries spent
                    raise WorkerDied(f"cell {cell.strategy.label!r} on {cell.dataset.label!r} "
                                     f"(seed {cell.seed}) was lost on the cluster after "
                                     f"{RAY_TASK_RETRIES} retries ({type(exc).__name__}); "
                                     "finished runs are stored: run again to resume") from None
                for result in results:
                    if on_checkpoint:
                        for _ in result.checkpoints:
                            on_checkpoint()
                    on_result(result)
    except BaseException:
        for ref in list(pending):
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
