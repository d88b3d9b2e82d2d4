"""Running independent solves: in this process, in a local pool of spawned processes, or on a
Dask cluster.

``map_tasks(function, tasks, workers, executor, address, progress, shared)`` calls
``function(*task)`` for every task (or ``function(shared, *task)`` when ``shared`` is given)
and returns the results in task order, whatever the executor and the number of workers, so
every result file is the same however it was computed. :class:`TaskPool` does the same but
keeps its processes (or its cluster connection) for several ``map`` calls.

The rules every executor keeps:

* **one solve per process.** A local worker is a process with one task at a time. A Dask
  worker may run several threads, so the task runs under a per-process lock: HiGHS keeps one
  thread pool per process, and each solve already runs single-threaded (``SolverOptions``).
* **spawn, never fork.** Local processes are started with the ``spawn`` method; a process forked
  after a solver has started may inherit its threads and locks in an unusable state. Dask's
  nanny starts its workers with ``spawn`` too (``distributed.worker.multiprocessing-method``).
* **plain, top-level task functions.** A task function must be importable by name (a module's
  top-level function) and take picklable data. ``shared`` (e.g. the :class:`Instance`) is sent
  once per worker process, not once per task: a local pool passes it to each process's
  initializer, a Dask client scatters it to every worker.
* **randomness belongs to the task, not the worker.** A task that draws random numbers must
  derive its stream from the seed and its own index (``numpy.random.SeedSequence``), never from
  the worker it happens to run on.

With ``workers == 1`` the local executor runs the tasks here, one after another. Dask is an
optional extra (``pip install 'optimise[dask]'``) imported only when asked for.

:class:`ProgressBar` is the one progress bar of every command: ``cli.Stages`` (a command's
stages), stress's scenarios, compare's and guarantee's solves.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Self

from optimiser.errors import InputError, Problem
from optimiser.parent_watch import end_with_parent

EXECUTORS = ("local", "dask")

#: seconds to wait for a Dask scheduler before reporting it unreachable
CONNECT_TIMEOUT_S = 10

#: Progress: called with a task's index each time a task finishes (in completion order)
Progress = Callable[[int], None]

_NO_SHARED = object()  # "no shared argument" (compared in this process only: never pickled)
_SHARED: tuple = ()  # (the shared argument,) of this worker process, or () for none
_SOLVE_LOCK = threading.Lock()  # one solve at a time in this process (Dask worker threads)


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- worker side

def _set_shared(shared: tuple, parent_pid: int) -> None:
    """Initializer of a local worker process: keep the shared argument, ``(value,)`` or ``()``,
    leave Ctrl-C to the main process (see ``TaskPool.close``), and end with the main process
    if it is killed outright (``optimiser.parent_watch``)."""
    global _SHARED
    _SHARED = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent(parent_pid)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """End a pool's processes now (Ctrl-C, or an error in the main process). A terminal's
    Ctrl-C reaches every process of the group; left to itself a worker would stop in the middle
    of a solve and shut down around HiGHS' running threads, printing C++ "terminate called"
    noise. So workers ignore SIGINT (``_set_shared``) and the main process ends them with
    SIGTERM, which stops them at once. ``ProcessPoolExecutor`` has no public way to stop a
    running task before Python 3.14 (``terminate_workers``), hence ``_processes``."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def _local_call(function: Callable, args: tuple) -> Any:
    """Run one task in a local worker process, after the process's shared argument if any."""
    return function(*_SHARED, *args)


def _dask_call(function: Callable, shared: tuple, args: tuple) -> Any:
    """Run one task on a Dask worker: one solve per process, whatever its thread count."""
    with _SOLVE_LOCK:
        return function(*shared, *args)


# --------------------------------------------------------------------------- the pool

class TaskPool:
    """Processes (or a cluster connection) kept for several :meth:`map` calls.

    ``executor``: ``local`` (``workers`` spawned processes; none when ``workers`` is 1) or
    ``dask`` (``address`` of a running scheduler, e.g. ``tcp://host:8786``, whose worker count
    then replaces ``workers``; without one a local Dask cluster of ``workers`` single-threaded
    processes is started). ``shared`` is the first argument of every task call, sent to each
    worker once.
    """

    def __init__(self, workers: int | None = None, executor: str = "local",
                 address: str | None = None, shared: Any = _NO_SHARED):
        if executor not in EXECUTORS:
            raise InputError(Problem("--executor", f"unknown executor {executor!r} "
                                     f"(choose from {', '.join(EXECUTORS)})"))
        if address and executor != "dask":
            raise InputError(Problem("--address", "an address needs --executor dask"))
        workers = default_workers() if workers is None else workers
        if workers < 1:
            raise InputError(Problem("--workers", "N must be at least 1"))
        self.workers = workers
        self.executor = executor
        self.address = address
        self._shared = () if shared is _NO_SHARED else (shared,)
        self._pool: ProcessPoolExecutor | None = None
        self._client = None
        self._cluster = None
        self._shared_future = None
        if executor == "dask":
            self._connect()

    # -- context management
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close(cancel=exc[0] is not None)

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            if cancel:
                _stop_workers(self._pool)
            # no cancel_futures: the pool marks the dead workers' tasks broken itself, and
            # Python 3.11 raises in its manager thread for a task both cancelled and broken
            self._pool.shutdown(wait=not cancel)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    @property
    def description(self) -> str:
        if self.executor == "dask":
            where = self.address or f"a local Dask cluster of {self.workers} processes"
            return f"dask ({where})"
        return f"local ({self.workers} process{'es' if self.workers != 1 else ''})"

    # -- running
    def map(self, function: Callable, tasks: Sequence[tuple], progress: Progress | None = None
            ) -> list:
        """``function(*task)`` (after ``shared``) for every task, results in task order."""
        tasks = [tuple(task) for task in tasks]
        if not tasks:
            return []
        tick = progress or (lambda _index: None)
        if self.executor == "dask":
            return self._map_dask(function, tasks, tick)
        if self.workers == 1 or (len(tasks) == 1 and self._pool is None):
            # here, in order: a single task is not worth starting processes for
            results = []
            for index, args in enumerate(tasks):
                results.append(function(*self._shared, *args))
                tick(index)
            return results
        return self._map_local(function, tasks, tick)

    def _map_local(self, function: Callable, tasks: list[tuple], tick: Progress) -> list:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_set_shared, initargs=(self._shared, os.getpid()))
        results: list = [None] * len(tasks)
        pending = {self._pool.submit(_local_call, function, args): index
                   for index, args in enumerate(tasks)}
        # on an error or Ctrl-C the tasks still running are ended by ``close(cancel=True)``
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index = pending.pop(future)
                results[index] = future.result()
                tick(index)
        return results

    def _connect(self) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as error:
            raise InputError(Problem(
                "--executor", "Dask is not installed; install the optional extra with "
                f"pip install 'optimise[dask]' ({error})")) from None
        try:
            if self.address:
                self._client = Client(self.address, timeout=CONNECT_TIMEOUT_S)
                # the cluster's worker processes, not this machine's cores
                self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
            else:
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                             processes=True, dashboard_address=None)
                self._client = Client(self._cluster, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as error:
            self.close()
            where = self.address or "a local cluster"
            raise InputError(Problem("--address", f"cannot reach the Dask scheduler at "
                                     f"{where}: {error}")) from None

    def _map_dask(self, function: Callable, tasks: list[tuple], tick: Progress) -> list:
        from distributed import as_completed

        client = self._client
        if self._shared_future is None:
            # a scattered value inside a tuple is resolved on the worker (Dask packs nested
            # futures); the tuple itself is sent with each task
            self._shared_future = tuple(client.scatter(value, broadcast=True, hash=False)
                                        for value in self._shared)
        futures = [client.submit(_dask_call, function, self._shared_future, args, pure=False)
                   for args in tasks]
        order = {future.key: index for index, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                future.result()  # raises the task's exception here
                tick(order[future.key])
            return client.gather(futures)
        except BaseException:
            client.cancel(futures)
            raise


def map_tasks(function: Callable, tasks: Sequence[tuple], workers: int | None = None,
              executor: str = "local", address: str | None = None,
              progress: Progress | None = None, shared: Any = _NO_SHARED) -> list:
    """``function(*task)`` (after ``shared``, when given) for every task, in task order, on a
    pool opened for this call (see the module docstring)."""
    with TaskPool(workers, executor, address, shared) as pool:
        return pool.map(function, tasks, progress)


# --------------------------------------------------------------------------- progress bar

class ProgressBar:
    """The one progress bar of every command: a rich bar of steps done (``unit``: solves,
    stages), cache hits (unless ``show_hits`` is off), time elapsed and (unless ``time_left``
    is off) left, on a terminal only; it starts at the first report, so nothing is drawn when
    the options are rejected.

    ``plan(n)`` adds n steps to the total; ``solved()`` marks one done; ``hits(n)`` counts
    look-ups answered from a cache; ``describe(text)`` says what is being done.
    """

    def __init__(self, console, enabled: bool = True, show_hits: bool = True,
                 unit: str = "solves", time_left: bool = True):
        self._enabled = enabled and console.is_terminal
        self._console = console
        self._show_hits = show_hits
        self._unit = unit
        self._time_left = time_left
        self._progress = None
        self._task = None
        self._total = 0
        self._done = 0
        self._hits = 0
        self._text = ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def plan(self, solves: int) -> None:
        self._total += solves
        self._refresh()

    def solved(self, count: int = 1) -> None:
        self._done += count
        self._refresh()

    def hits(self, count: int) -> None:
        self._hits += count
        self._refresh()

    def describe(self, text: str) -> None:
        self._text = text
        self._refresh()

    def _columns(self) -> list:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        hits = ", {task.fields[hits]:,} cache hits" if self._show_hits else ""
        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TextColumn(f"{self._unit}{hits},"),
                   TimeElapsedColumn(), TextColumn("elapsed")]
        if self._time_left:
            columns[-1] = TextColumn("elapsed,")
            columns += [TimeRemainingColumn(), TextColumn("left")]
        return columns

    def _refresh(self) -> None:
        if not self._enabled:
            return
        if self._progress is None:
            from rich.progress import Progress

            self._progress = Progress(*self._columns(), console=self._console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("", total=max(self._total, 1), hits=0)
        self._progress.update(self._task, completed=self._done,
                              total=max(self._total, self._done, 1), hits=self._hits,
                              description=self._text)
