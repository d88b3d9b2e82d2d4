"""Two separate processes, with different PYTHONHASHSEED, write byte-identical files.

Every command that writes files runs twice as its own `optimise` process on the example: run,
compare, stress, guarantee, generate and init (CSV and workbook templates). Only the wall-clock
``seconds`` fields of the JSON summaries (``seconds``, ``shapley_seconds``, stress's
``scenario_seconds``...) may differ; they are masked before the bytes are compared. Set and dict iteration orders change with the hash
seed, so a file built from one would differ here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE, REPO

from optimiser.writers import json_text

COMMANDS = {
    "run": ["run", str(EXAMPLE), "--out", "out", "--quiet"],
    "compare": ["compare", str(EXAMPLE), "--consortium", "North pair", "--workers", "1",
                "--out", "out", "--quiet"],
    "stress": ["stress", str(EXAMPLE), "--n-1", "1", "--demand", "+20%", "--workers", "1",
               "--out", "out", "--quiet"],
    "guarantee": ["guarantee", str(EXAMPLE), "--sweep", "--scenarios", "20", "--workers", "1",
                  "--out", "out", "--quiet"],
    "generate": ["generate", "--authorities", "5", "--providers", "12", "--types", "3",
                 "--seed", "4", "out"],
    "init": ["init", "out"],
    "init --xlsx": ["init", "--xlsx", "out"],
}


def without_seconds(value: object) -> object:
    """``value`` with whatever sits under a key ending in "seconds" replaced by a marker."""
    if isinstance(value, dict):
        return {k: "<seconds>" if k.endswith("seconds") else without_seconds(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [without_seconds(v) for v in value]
    return value


def masked(path: Path) -> bytes:
    """The file's bytes; for JSON, with its wall-clock times masked."""
    data = path.read_bytes()
    if path.suffix != ".json":
        return data
    document = json.loads(data)
    # the writer's own spelling, so masking changes nothing but the times
    assert json_text(document).encode() == data, f"{path.name} is not as json_text writes it"
    return json_text(without_seconds(document)).encode()


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): masked(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_two_processes_write_the_same_bytes(command, tmp_path):
    processes = []
    for hash_seed in ("1", "2"):
        cwd = tmp_path / hash_seed
        cwd.mkdir()
        # the same relative output name in both: `init` names the instance after its folder
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "cli", *COMMANDS[command]], cwd=cwd, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for process in processes:
        _stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    one, two = (files_of(tmp_path / seed) for seed in ("1", "2"))
    assert one, "no files written"
    assert sorted(one) == sorted(two)
    for name in one:
        assert one[name] == two[name], f"{command}: {name} differs between the two processes"
