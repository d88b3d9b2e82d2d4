"""A command killed outright (SIGKILL, the out-of-memory killer) leaves no worker behind.

Its spawned workers watch their parent (``optimiser.parent_watch``) and end, with any solver
child of theirs, within about half a second of its death.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from test_interrupt import assert_group_gone, generated  # noqa: F401  (a fixture)

from optimiser.parent_watch import _children

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(),
                                reason="Linux /proc lists a process's children")


def start_and_wait_for_workers(command: list[str], log: Path, count: int) -> subprocess.Popen:
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < count or "comparing" not in (
            log.read_text() if log.exists() else ""):
        assert process.poll() is None, "the command ended before its workers started"
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    return process


@pytest.mark.parametrize("solver", ["highs", "ortools"])
def test_workers_end_when_compare_is_killed(generated, tmp_path, solver):  # noqa: F811
    log = tmp_path / "compare.log"
    command = [sys.executable, "-m", "cli", "compare", str(generated), "--out",
               str(tmp_path / "out"), "--quiet", "--no-report", "--log", str(log),
               "--workers", "2", "--solver", solver]
    process = start_and_wait_for_workers(command, log, count=2)
    time.sleep(1.0)  # in the middle of the coalition solves
    workers = _children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert workers, "no worker was running"
    assert_group_gone(process.pid, seconds=10)
    assert not (tmp_path / "out").exists()
