"""The Ray executor: one Ray task per lockstep group of cells, on a local Ray instance on
loopback (the default) or a running cluster (`--address`). Workers only compute; results come
back to the caller, which alone writes the store."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable

from palbench.bench.executors import hand_back, run_group
from palbench.bench.grid import Cell
from palbench.bench.groups import cell_groups
from palbench.bench.loop import CellResult
from palbench.bench.worker_imports import check_workers_can_start
from palbench.datasets import Dataset
from palbench.errors import ConfigError, PalbenchError, WorkerDied
from palbench.imports import ROOTS, add_roots


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


def worker_setup() -> dict:
    """The job's runtime environment: each Ray worker, before it unpickles a cell, finds the
    config's own modules where this process does (palbench.imports ROOTS, after the
    installed packages), as a process pool's workers do."""
    if not ROOTS:
        return {}
    roots = list(ROOTS)

    def find_config_modules() -> None:  # a named function: Ray registers the hook by name
        add_roots(*roots)

    return {"worker_process_setup_hook": find_config_modules}


def join_ray(ray, address: str, verbose: bool) -> None:
    """ray.init against a running cluster, failing in one line that names the address, the
    cause and the fix (token authentication, which `ray start` turns on by default)."""
    import logging

    check_reachable(address)
    try:
        with contextlib.nullcontext() if verbose else descriptor_2_aside():
            ray.init(address=address, log_to_driver=verbose,
                     logging_level=logging.INFO if verbose else logging.ERROR,
                     runtime_env=worker_setup())
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


def check_ray(address: str | None) -> None:
    """What refuses a Ray run before its store is opened: a malformed address (one line
    before Ray is imported), or Ray not installed. Sets Ray's environment first."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if address:
        ray_target(address)
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("--executor", "ray", "needs Ray: pip install 'palbench[ray]'")


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
    check_ray(address)
    quiet_ray(verbose)
    import ray

    started = False
    if not ray.is_initialized():
        if address:
            join_ray(ray, address, verbose)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                     log_to_driver=False, runtime_env=worker_setup())
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
                hand_back(results, on_result, on_checkpoint)
    except BaseException:
        for ref in list(pending):
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
