"""The ortools back-end's temporary folders never outlive the command that made them.

`optimise run --solver ortools` (the installed command) is stopped while its solver child
solves: SIGTERM, SIGHUP (a closed terminal) and Ctrl-C remove the folder at once; SIGKILL
cannot be heard, so the next command's first solve removes the folder of the process that is
gone. `optimise compare` with
two spawned workers is killed outright: the workers, orphaned, remove their own folders as they
end. TMPDIR points at a fresh folder, so other commands' folders never interfere.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
from conftest import EXAMPLE, OPTIMISE, REPO, run_optimise
from test_interrupt import assert_group_gone, generated  # noqa: F401  (a fixture)

from optimiser.parent_watch import _children

pytestmark = [
    pytest.mark.skipif(find_spec("ortools") is None, reason="OR-Tools is not installed"),
    pytest.mark.skipif(not Path("/proc/self/task").exists(),
                       reason="POSIX signals; Linux /proc lists a process's children"),
]


def folders(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("optimise-ortools-*"))


def owner(name: str) -> int:
    """The id of the process that made a folder (optimise-ortools-<pid>-<random>)."""
    return int(name.split("-")[2])


def start(tmp: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(OPTIMISE), *args], cwd=REPO, text=True,
                            env={**os.environ, "TMPDIR": str(tmp), "COLUMNS": "80"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def wait_for_a_solve(process: subprocess.Popen, tmp: Path) -> list[str]:
    """Wait until a solve's request is written (its child is then starting, about half a
    second before it can answer); the folders then."""
    deadline = time.monotonic() + 60
    while not list(tmp.glob("optimise-ortools-*/request.npz")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no ortools solve started"
        time.sleep(0.01)
    return folders(tmp)


def stop_run_while_solving(tmp: Path, number: int) -> tuple[subprocess.Popen, list[str]]:
    process = start(tmp, "run", str(EXAMPLE), "--solver", "ortools", "--out",
                    str(tmp.parent / "results"), "--quiet", "--no-report")
    seen = wait_for_a_solve(process, tmp)
    os.kill(process.pid, number)
    process.communicate(timeout=60)
    assert_group_gone(process.pid)
    return process, seen


@pytest.fixture
def tmp(tmp_path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("number, code", [(signal.SIGTERM, -signal.SIGTERM),
                                          (signal.SIGHUP, -signal.SIGHUP),
                                          (signal.SIGINT, 130)])
def test_a_run_stopped_while_ortools_solves_leaves_no_folder(tmp, number, code):
    process, seen = stop_run_while_solving(tmp, number)
    assert process.returncode == code
    assert [owner(name) for name in seen] == [process.pid]
    assert folders(tmp) == []


def test_the_next_run_removes_the_folder_of_a_killed_run(tmp):
    killed, seen = stop_run_while_solving(tmp, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    assert folders(tmp) == seen  # nobody could remove it yet
    # a live process's folder and a folder without an owner (an older version's) are kept
    alive = tmp / f"optimise-ortools-{os.getpid()}-inuse123"
    unowned = tmp / "optimise-ortools-abcd1234"
    alive.mkdir(), unowned.mkdir()
    finished = run_optimise("run", EXAMPLE, "--solver", "ortools", "--out",
                            tmp.parent / "again", "--quiet", "--no-report", "--no-investment",
                            env={"TMPDIR": str(tmp)})
    assert finished.returncode == 0, finished.stderr
    assert folders(tmp) == sorted([unowned.name, alive.name])


def test_workers_of_a_killed_compare_remove_their_folders(generated, tmp):  # noqa: F811
    process = start(tmp, "compare", str(generated), "--workers", "2", "--solver", "ortools",
                    "--out", str(tmp.parent / "out"), "--quiet", "--no-report")
    deadline = time.monotonic() + 60
    while not {owner(p.parent.name) for p in tmp.glob("optimise-ortools-*/request.npz")} \
            & set(_children(process.pid)):  # a worker's solve, not the command's own
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no worker started an ortools solve"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert_group_gone(process.pid)
    # the command's own solves (if any) wait for the next command's sweep
    assert {owner(name) for name in folders(tmp)} <= {process.pid}
