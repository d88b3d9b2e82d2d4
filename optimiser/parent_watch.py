"""Worker processes end when the command that started them dies.

A command killed outright (the kernel's out-of-memory killer, ``kill -9``, a closed SSH
session) runs none of its own clean-up, so the solver processes it spawned (``compare``'s and
``guarantee``'s pool, the baselines' pool, ``stress``'s pool, the OR-Tools solver child) would
be left solving for minutes, holding memory and cores on a shared server.

Each such process calls :func:`end_with_parent` as it starts. A daemon thread then checks
every :data:`POLL_S` seconds whether its parent is still the process that started it; once it
is not (the orphan has been re-parented to init or a sub-reaper), it kills the processes it
started itself (a CBC binary, an OR-Tools child), runs the clean-ups registered with
:func:`at_end` (the OR-Tools solves' temporary folders) and ends at once. Polling the parent's
id is used rather than Linux's ``PR_SET_PDEATHSIG`` because that signal follows the *thread* that
started the child, and a pool may start workers from any thread. The solvers release the GIL
while they work (HiGHS is waited on in 0.1 s steps, CBC is a subprocess), so the thread runs
within a poll interval even in the middle of a solve.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

#: seconds between checks of the parent: an orphan ends within about this long
POLL_S = 0.5

#: what an orphan does after killing its children and before it ends (:func:`at_end`)
_AT_END: list[Callable[[], None]] = []


def at_end(clean_up: Callable[[], None]) -> None:
    """Run ``clean_up`` when this process ends because its parent died (files it must not
    leave behind); it runs on the watching thread, after the children are killed."""
    if clean_up not in _AT_END:
        _AT_END.append(clean_up)


def end_with_parent(parent_pid: int) -> None:
    """From now on, end this process (and the processes it started) when ``parent_pid`` is no
    longer its parent. Ends at once if that is already so (the parent died while this process
    was starting)."""
    if os.getppid() != parent_pid:
        _end()
    watcher = threading.Thread(target=_watch, args=(parent_pid,), daemon=True,
                               name="end-with-parent")
    watcher.start()


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    _end()


def _end() -> None:
    for child in _children(os.getpid()):
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            os.kill(child, signal.SIGKILL)
    for clean_up in _AT_END:
        with contextlib.suppress(Exception):  # the process ends whatever happens
            clean_up()
    os._exit(1)


def _children(pid: int) -> list[int]:
    """The ids of ``pid``'s child processes (Linux's ``/proc``; none elsewhere)."""
    children: list[int] = []
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            children += [int(word) for word in (task / "children").read_text().split()]
        except OSError:
            continue
    return children
