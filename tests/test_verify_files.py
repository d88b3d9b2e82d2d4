"""`optimise verify` reads a result file only if it is a regular file within the limit instance
files have (``optimiser.loading.MAX_CSV_BYTES``): a named pipe would block the read for ever and
/dev/zero would never end it. Each is refused with exit 2 and a message naming the file; and
``optimiser.verify`` stays free of the models and solvers it checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE, run_optimise

from optimiser.loading import MAX_CSV_BYTES


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "results"
    ran = run_optimise("run", EXAMPLE, "--out", out, "--quiet", "--no-report",
                       "--no-investment")
    assert ran.returncode == 0, ran.stderr
    return out


@pytest.fixture
def copy(results, tmp_path) -> Path:
    folder = tmp_path / "results"
    shutil.copytree(results, folder)
    return folder


def _refused(folder: Path) -> str:
    verified = run_optimise("verify", EXAMPLE, folder, timeout=60)
    assert verified.returncode == 2, verified.stdout + verified.stderr
    assert "Traceback" not in verified.stderr
    return " ".join(verified.stderr.split())


def test_the_untouched_copy_verifies(copy):
    verified = run_optimise("verify", EXAMPLE, copy)
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.endswith("checks, all agree\n")


def test_a_result_file_over_the_limit_is_refused_unread(copy):
    os.truncate(copy / "assignment.csv", MAX_CSV_BYTES + 1)  # sparse: nothing is written
    assert (f"{copy / 'assignment.csv'}: is larger than 100 MB, the limit for a result file "
            f"({MAX_CSV_BYTES + 1:,} bytes)") in _refused(copy)


def test_a_named_pipe_is_refused_not_read(copy):
    (copy / "providers.csv").unlink()
    os.mkfifo(copy / "providers.csv")
    assert (f"{copy / 'providers.csv'}: is a named pipe (FIFO), not a file saved on disk"
            in _refused(copy))


def test_a_link_to_dev_zero_is_refused(copy):
    (copy / "summary.json").unlink()
    (copy / "summary.json").symlink_to("/dev/zero")
    assert (f"{copy / 'summary.json'}: is a character device, not a file saved on disk"
            in _refused(copy))


def test_an_optional_file_that_is_a_pipe_is_refused_not_skipped(copy):
    (copy / "sufficiency.csv").unlink()
    os.mkfifo(copy / "sufficiency.csv")
    assert (f"{copy / 'sufficiency.csv'}: is a named pipe (FIFO), not a file saved on disk"
            in _refused(copy))


def test_a_missing_result_file_is_named(copy):
    (copy / "gaps.csv").unlink()
    assert f"{copy / 'gaps.csv'}: result file missing" in _refused(copy)


def test_verify_loads_no_model_solver_or_plan_code():
    """verify is an independent implementation: importing it in a fresh interpreter loads
    nothing of ``models``, the solver back-ends, the plan reader or a solver library, so a bug
    there cannot be reproduced here."""
    probe = "import sys, optimiser.verify; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).parents[1]).stdout.split()
    assert "optimiser.verify.sufficiency" in loaded  # the probe saw the package itself
    assert [m for m in loaded if m.split(".")[0] in ("models", "highspy", "pulp", "ortools")
            or m.startswith(("optimiser.solvers", "optimiser.plan"))] == []
