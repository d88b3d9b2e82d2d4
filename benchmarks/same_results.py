"""Do a code change's results stay byte-identical? Capture every result file (and the screen) of
`optimise run` on the shipped instances, `optimise verify` of each run and `optimise stress
instances/example` (--n-1 3 and two demand shocks, with 1 and with 2 workers) and `optimise
compare` (every consortium of the example; north-west's "Cheshire and Warrington") and `optimise
guarantee` (SAA on the example and on thames-valley, and thames-valley's sweep of TV-BLOCK's
0..30 places), then compare two captures file by file.

    python benchmarks/same_results.py capture /tmp/before      # on the old code
    python benchmarks/same_results.py capture /tmp/after       # on the new code
    python benchmarks/same_results.py compare /tmp/before /tmp/after

With others editing the same tree, capture each side from its own copy of the code instead:
``--code DIR`` puts DIR (a source tree: cli.py, models/, optimiser/) first on the path of every
command, ahead of the editable install, e.g. the last commit by
``git archive HEAD | tar -x -C /tmp/head`` then ``capture --code /tmp/head /tmp/before``; and
``--instances DIR`` reads the instances from DIR (default: this checkout's instances/), so both
captures can solve the very same files.

The instances are copied into each capture first (CAPTURE/instances), so an instance edited
between the two captures is told apart from a code change; compare says which instance files
differ, if any. Every command runs in one fixed folder (TMPDIR/same-results, emptied first), so
paths the outputs mention are the same in both captures. Screen output is captured with --quiet
(no progress bar) and COLUMNS=80. The screens' and the summaries' solve times ("0.3 s",
"seconds": 0.28) are the one thing compare lets differ; every other byte must match, report.html
and report.xlsx included (neither embeds a time). A few minutes on 2 cores (guarantee's SAA most).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ("example", "north-west", "thames-valley")
OPTIMISE = Path(sys.executable).with_name("optimise")
STRESS = ("--n-1", "3", "--demand", "+20%", "--demand", "-10%:foster_standard")
#: (capture folder, instance, extra arguments) of each `optimise compare` captured.
COMPARES = (
    ("example", "example", ()),
    ("north-west-cheshire", "north-west", ("--consortium", "Cheshire and Warrington")),
)
#: (capture folder, instance, extra arguments) of each `optimise guarantee` captured.
GUARANTEES = (
    ("example", "example", ()),
    ("thames-valley", "thames-valley", ()),
    ("thames-valley-sweep", "thames-valley",
     ("--sweep", "--places", "TV-BLOCK=0..30", "--scenarios", "100")),
)
WORK = Path(tempfile.gettempdir()) / "same-results"


def _optimise(args: list[str], screen: Path, code: Path | None) -> None:
    env = dict(os.environ, COLUMNS="80", PYTHONHASHSEED="0")
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    done = subprocess.run([str(OPTIMISE), *args], capture_output=True, text=True, env=env,
                          check=False)  # the exit code is part of what is compared
    screen.write_text(
        f"$ optimise {' '.join(args)}\nexit {done.returncode}\n"
        f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    )
    print(f"optimise {' '.join(args)}: exit {done.returncode}", flush=True)


def capture(out: Path, code: Path | None = None, instances: Path = ROOT / "instances") -> None:
    for folder in (out, WORK):
        if folder.exists():
            shutil.rmtree(folder)
    screens = out / "screens"
    screens.mkdir(parents=True)
    for name in INSTANCES:
        shutil.copytree(instances / name, WORK / "instances" / name)
    for name in INSTANCES:
        instance = WORK / "instances" / name
        results = WORK / "run" / name
        _optimise(["run", str(instance), "--out", str(results), "--quiet"],
                  screens / f"run-{name}.txt", code)
        _optimise(["verify", str(instance), str(results)], screens / f"verify-{name}.txt", code)
    instance = WORK / "instances" / "example"
    for workers in ("1", "2"):
        _optimise(
            ["stress", str(instance), *STRESS, "--workers", workers, "--quiet",
             "--out", str(WORK / "stress" / f"example-workers-{workers}")],
            screens / f"stress-example-workers-{workers}.txt", code,
        )
    for folder, name, extra in COMPARES:
        _optimise(
            ["compare", str(WORK / "instances" / name), *extra, "--workers", "1", "--quiet",
             "--out", str(WORK / "compare" / folder)],
            screens / f"compare-{folder}.txt", code,
        )
    for folder, name, extra in GUARANTEES:
        _optimise(
            ["guarantee", str(WORK / "instances" / name), *extra, "--workers", "2", "--quiet",
             "--out", str(WORK / "guarantee" / folder)],
            screens / f"guarantee-{folder}.txt", code,
        )
    for part in ("instances", "run", "stress", "compare", "guarantee"):
        shutil.copytree(WORK / part, out / part)


def _differences(before: Path, after: Path) -> list[str]:
    found: list[str] = []
    comparison = filecmp.dircmp(before, after)
    found += [f"only in {before}: {name}" for name in comparison.left_only]
    found += [f"only in {after}: {name}" for name in comparison.right_only]
    for name in comparison.common_files:
        if not filecmp.cmp(before / name, after / name, shallow=False):
            found.append(f"differs: {before / name} {after / name}")
    for name in comparison.common_dirs:
        found += _differences(before / name, after / name)
    return found


def compare(before: Path, after: Path) -> int:
    instances = _differences(before / "instances", after / "instances")
    if instances:
        print("the instances themselves differ between the captures:\n  " + "\n  ".join(instances))
    compared = sum(1 for p in before.rglob("*") if p.is_file() and "instances" not in p.parts)
    found = [
        line
        for part in ("run", "stress", "compare", "guarantee", "screens")
        for line in _differences(before / part, after / part)
    ]
    # Screens and summaries tell how long each solve took: the one figure allowed to differ.
    found = [line for line in found if not _same_but_for_timings(line)]
    for line in found:
        print(line)
    print(f"{compared} files compared, {len(found)} differ")
    return 1 if found else 0


TIMING = re.compile(r"\b\d+(\.\d+)? s\b")


def _without_seconds(value: object) -> object:
    if isinstance(value, dict):
        return {
            key: "<t>" if "seconds" in key else _without_seconds(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_seconds(item) for item in value]
    return value


def _same_but_for_timings(line: str) -> bool:
    if not line.startswith("differs: "):
        return False
    old_path, new_path = (Path(p) for p in line.removeprefix("differs: ").split(" "))
    if old_path.suffix == ".json":
        old, new = (json.loads(p.read_text()) for p in (old_path, new_path))
        return _without_seconds(old) == _without_seconds(new)
    if "screens" in old_path.parts:
        old, new = (p.read_text() for p in (old_path, new_path))
        return TIMING.sub("<t> s", old) == TIMING.sub("<t> s", new)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    one = sub.add_parser("capture")
    one.add_argument("out", type=Path)
    one.add_argument("--code", type=Path, help="source tree to run instead of the installed one")
    one.add_argument("--instances", type=Path, default=ROOT / "instances",
                     help="folder holding the instances (default: this checkout's)")
    both = sub.add_parser("compare")
    both.add_argument("before", type=Path)
    both.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.action == "capture":
        capture(args.out.resolve(), args.code.resolve() if args.code else None,
                args.instances.resolve())
    else:
        sys.exit(compare(args.before.resolve(), args.after.resolve()))


if __name__ == "__main__":
    main()
