#!/usr/bin/env python3
"""What a cold ``launchpad render`` spends before and around rendering: its imports.

Runs ``python -X importtime -m launchpad_core.cli.main render SRC DST --defaults
--skip-tasks -q`` ``--rounds`` times, each cold (no render daemon, an empty
cache folder, bytecode allowed), and prints the number of modules imported,
the sum over modules of their smallest own import time (the least noisy
figure on a busy machine), and the median CPU time (user + system, the
process and the children it waited for) of the whole command. To compare two
checkouts, run it once with each on ``PYTHONPATH``.

Usage: python bench/startup.py SRC [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import positive_int

_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \| +(\S+)")


def one_run(source: Path, work: Path, number: int) -> tuple[dict[str, int], float]:
    """Each imported module's own import time (µs), and the command's CPU seconds."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(LAUNCHPAD_NO_DAEMON="1", LAUNCHPAD_CACHE_DIR=str(work / f"cache-{number}"))
    argv = [sys.executable, "-X", "importtime", "-m", "launchpad_core.cli.main", "render",
            str(source), str(work / f"out-{number}"), "--defaults", "--skip-tasks", "-q"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"render failed:\n{done.stderr}")
    times = {m[2]: int(m[1]) for m in map(_LINE.match, done.stderr.splitlines()) if m}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return times, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--rounds", type=positive_int, default=9)
    args = parser.parse_args(argv)
    smallest: dict[str, int] = {}
    modules, cpu = 0, []
    with tempfile.TemporaryDirectory(prefix="lp-startup-") as tmp:
        for number in range(args.rounds):
            times, seconds = one_run(args.source, Path(tmp), number)
            modules = max(modules, len(times))
            cpu.append(seconds)
            for name, micros in times.items():
                smallest[name] = min(micros, smallest.get(name, micros))
    print(f"{args.source}: {modules} modules imported, their import time "
          f"{sum(smallest.values()) / 1000:.1f} ms (sum of each one's minimum), "
          f"command CPU {statistics.median(cpu) * 1000:.0f} ms (median of {args.rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
