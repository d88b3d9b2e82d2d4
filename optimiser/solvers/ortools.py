"""SCIP through OR-Tools' model builder: the third back-end, run in a child process.

Why a child process: OR-Tools' wheel ships its own ``libhighs.so.1``, an older HiGHS than
highspy's under the same library name, and a process can hold only one of them (whichever is
loaded second fails with an undefined symbol). So the program goes to a fresh interpreter
that never imports highspy: the parent saves its arrays to a ``.npz`` file, runs
``optimiser/solvers/ortools_child.py`` as a script (a script does not import its package, whose
``__init__`` loads HiGHS) and reads the plan back from another ``.npz``. Like CBC through PuLP
it is an out-of-process solver; Ctrl-C reaches the child too (same process group), and the
temporary folder goes with the ``with`` block either way.

The temporary folder (``optimise-ortools-<pid>-...``) is also removed when the process is
stopped: SIGTERM or SIGHUP (a pool's workers are ended with SIGTERM, a closed terminal sends
SIGHUP) end the child and remove the folder before the signal takes its course, and a worker
whose command died removes it as it ends (``optimiser.parent_watch.at_end``). SIGKILL cannot be
heard, so each process's first solve removes the folders of processes that no longer exist.

SCIP runs single-threaded with its default random seed, so it is deterministic. OR-Tools
reports a solve ended by SCIP's gap limit as optimal and one ended by the time limit with an
incumbent as feasible, which is what our statuses mean.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from optimiser import parent_watch
from optimiser.errors import InputError, Problem
from optimiser.program import LinearProgram
from optimiser.solvers.base import (
    SolverOptions,
    SolverResult,
    relative_gap,
    trivial_result,
)

CHILD = Path(__file__).with_name("ortools_child.py")
#: seconds the child may take beyond the time limit (start-up, building, writing) before it
#: is stopped
GRACE_S = 60.0


def available() -> bool:
    """True if OR-Tools is installed (the ``ortools`` extra)."""
    from importlib.util import find_spec

    return find_spec("ortools") is not None


def save_request(program: LinearProgram, options: SolverOptions, path: Path) -> None:
    """The program's arrays and the options, as the child reads them."""
    matrix = program.matrix().tocsr()
    start_cols, start_values = (program.start if program.start is not None and program.is_mip
                                else (np.zeros(0, dtype=np.int64), np.zeros(0)))
    np.savez(path, col_lower=program.col_lower, col_upper=program.col_upper,
             integrality=program.integrality, cost=program.cost,
             constant=program.objective_constant, row_lower=program.bounds_lower,
             row_upper=program.bounds_upper, data=matrix.data, indices=matrix.indices,
             indptr=matrix.indptr, shape=np.array(matrix.shape),
             time_limit=float(options.time_limit_s),
             mip_gap=float(program.gap(options.mip_gap)),
             start_cols=np.asarray(start_cols, dtype=np.int64),
             start_values=np.asarray(start_values, dtype=float))


def run_child(request: Path, answer: Path, timeout: float) -> str | None:
    """Solve ``request`` in a fresh interpreter, the plan to ``answer``; the failure, if any.
    ``-P`` keeps the script's folder off sys.path, where ortools.py would shadow the ortools
    package."""
    command = [sys.executable, "-P", str(CHILD), str(request), str(answer), str(os.getpid())]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as child:
        with _LOCK:
            _CHILDREN.add(child)
        try:
            _, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            return "OR-Tools did not stop at its time limit"
        except BaseException:  # Ctrl-C: the child goes with the command
            child.kill()
            raise
        finally:
            with _LOCK:
                _CHILDREN.discard(child)
    if child.returncode != 0 or not answer.exists():
        return "OR-Tools failed: " + (stderr.strip().splitlines() or ["no output"])[-1]
    return None


# --------------------------------------------------------------------------- temporary folders

#: a solve's temporary folder: the prefix, then the id of the process that made it
FOLDER_PREFIX = "optimise-ortools-"
_OWNED_FOLDER = re.compile(rf"{FOLDER_PREFIX}(\d+)-[^-]+")
#: signals after which the process ends, so its solves' folders and children go first
STOPPING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                         if hasattr(signal, name))

#: this process's solves in progress: their folders and solver children
_FOLDERS: set[Path] = set()
_CHILDREN: set[subprocess.Popen] = set()
#: guards the two sets; re-entrant, as a signal handler runs on the thread it interrupts
_LOCK = threading.RLock()
_ending = False
_swept = False


def remove_solves_in_progress(ending: bool = True) -> None:
    """End this process's solver children and remove its solves' temporary folders (the
    process is being stopped). ``ending``: the process ends next, so no solve may start from
    now on (an orphan's other threads run on until it ends, and would leave a new folder)."""
    global _ending
    with _LOCK:
        _ending = _ending or ending
        children, folders = list(_CHILDREN), list(_FOLDERS)
    for child in children:
        with contextlib.suppress(OSError):
            child.kill()
    for child in children:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            child.wait(timeout=1)  # it writes nothing more into the folder once gone
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


parent_watch.at_end(remove_solves_in_progress)


def sweep_stale_folders(parent: Path) -> list[Path]:
    """Remove the temporary folders in ``parent`` whose process no longer exists (it was
    killed outright, SIGKILL, and could not remove them); the folders removed. Folders of
    another user, or without a process id (made by older versions), are left alone."""
    removed = []
    for folder in sorted(parent.glob(f"{FOLDER_PREFIX}*")):
        found = _OWNED_FOLDER.fullmatch(folder.name)
        if found is None or _running(int(found[1])) or not _mine(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (PermissionError), or no such check here
        return True
    return True


def _mine(folder: Path) -> bool:
    """A real folder (not a link) of this user."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == getattr(os, "getuid", lambda: 0)()


def _stopped(number: int, frame: object, previous: object) -> None:
    """A stopping signal during a solve: clean up, then let the signal do what it did before."""
    if callable(previous):  # a handler of the program's own: it decides whether to end
        remove_solves_in_progress(ending=False)
        previous(number, frame)
        return
    remove_solves_in_progress()
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)


@contextlib.contextmanager
def _cleaned_on_stopping_signals() -> Iterator[None]:
    """While the block runs, a stopping signal removes this process's solves first. Only the
    main thread may set handlers; a signal already ignored stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {n: signal.getsignal(n) for n in STOPPING_SIGNALS}
    for number, handler in previous.items():
        if handler not in (signal.SIG_IGN, None):
            signal.signal(number, lambda n, f, p=handler: _stopped(n, f, p))
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler not in (signal.SIG_IGN, None):
                signal.signal(number, handler)


def _new_folder(parent: Path) -> Path:
    with _LOCK:
        if not _ending:
            folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-",
                                           dir=parent))
            _FOLDERS.add(folder)
            return folder
    while True:  # the process is ending (an orphan about to exit): it starts no other solve
        time.sleep(60)


@contextlib.contextmanager
def solve_folder() -> Iterator[Path]:
    """A temporary folder for one solve, named with this process's id, removed afterwards
    and when the process is stopped. The first solve of a process sweeps stale folders."""
    global _swept
    parent = Path(tempfile.gettempdir())
    if not _swept:
        _swept = True
        sweep_stale_folders(parent)
    with _cleaned_on_stopping_signals():
        folder = _new_folder(parent)
        try:
            yield folder
        finally:
            with _LOCK:
                _FOLDERS.discard(folder)
            shutil.rmtree(folder, ignore_errors=True)


class OrtoolsSolver:
    name = "ortools"

    def solve(self, program: LinearProgram, options: SolverOptions) -> SolverResult:
        if program.num_cols == 0:
            return trivial_result(program, self.name)
        if not available():
            raise InputError(Problem("solver", "the ortools back-end needs OR-Tools: "
                                     "pip install 'optimise[ortools]'"))
        with solve_folder() as folder:
            request, answer = folder / "request.npz", folder / "result.npz"
            save_request(program, options, request)
            started = time.perf_counter()
            failure = run_child(request, answer, options.time_limit_s + GRACE_S)
            seconds = time.perf_counter() - started
            if failure is not None:
                return SolverResult(self.name, "error", None, None, None, seconds, None,
                                    failure)
            with np.load(answer) as found:
                return self._result(found, program.is_mip, seconds, options.time_limit_s)

    def _result(self, found, is_mip: bool, seconds: float, time_limit: float) -> SolverResult:
        status, message = str(found["status"]), str(found["message"])
        if status not in ("optimal", "feasible"):
            if status == "error" and seconds >= time_limit:
                message = f"no plan found within the time limit ({message})"
            return SolverResult(self.name, status, None, None, None, seconds, None,
                                f"SCIP: {message}")
        objective = float(found["objective"])
        bound = float(found["bound"]) if is_mip else objective
        gap = relative_gap(objective, bound) if is_mip else 0.0
        return SolverResult(self.name, status, objective, bound, gap, seconds,
                            np.array(found["values"]), message)
