#!/usr/bin/env python3
"""Whole-process render timings: LaunchPad next to Copier and Cookiecutter.

Builds the benchmark template (bench/make_templates.py) at each size, then
runs, alternating, `cookiecutter`, `copier copy`, `launchpad render` with a
cold cache (first render), `launchpad render` with a warm cache ("warm": the
imported template and its compiled code on disk) and `launchpad render` handed
to a running render daemon ("daemon": the same caches, plus LaunchPad already
loaded in memory; `launchpad daemon start`, see launchpad_core/cli/daemon.py), and
prints median wall times and the ratios the core issue sets targets for (the
warm one is judged on the daemon's figure, with the disk-only one beside it).

Two artefacts of the development environment are removed before timing:

* Bytecode. LaunchPad is an editable install and sessions here may set
  PYTHONDONTWRITEBYTECODE=1, so its own modules would be compiled from source
  on every run (about 50 ms) while Copier and Cookiecutter run from the .pyc
  files pip wrote. The bench runs ``compileall`` over the project's ``src/``
  and ``plugins/`` once and gives every tool an environment without
  PYTHONDONTWRITEBYTECODE.
* The work directory. On the sandboxed machines we run on, creating a file
  on the ext4 disk costs anywhere from 0.02 to 0.8 ms: it differs between
  directories (/tmp, /work, /root alike) and over time, while opening,
  writing and renaming stay cheap. At 200 files that is up to 160 ms per
  tool, more than LaunchPad's whole render. The work directory therefore
  defaults to ``/dev/shm/launchpad-bench`` (tmpfs: 0.01 ms per file, as /tmp
  is on many distributions) where that exists, else ``bench/.work/`` inside
  the project (ignored by git); both are removed afterwards. ``--workdir``
  chooses another; say which one a figure comes from.

Usage: python bench/render.py [--sizes 200 2000] [--rounds 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import (
    PROJECT,
    compile_bytecode,
    default_workdir,
    positive_int,
    tool,
    tool_env,
    work_folder,
)
from make_templates import main as make_templates


def timed(cmd: list[str], env: dict[str, str]) -> float:
    cmd = [tool(cmd[0]), *cmd[1:]]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def cache_env(cache: Path) -> dict[str, str]:
    """The environment every tool runs in: bytecode allowed, a private cache."""
    env = {k: v for k, v in tool_env().items() if not k.startswith("LAUNCHPAD_")}
    return {**env, "LAUNCHPAD_CACHE_DIR": str(cache)}


def bench_size(work: Path, nfiles: int, rounds: int) -> dict[str, float]:
    paths = make_templates(work / f"t{nfiles}", nfiles)
    cache = work / "cache"
    env = cache_env(cache)
    runs: dict[str, list[float]] = {
        "cookiecutter": [], "copier": [], "cold": [], "warm": [], "daemon": []}
    render = ["launchpad", "render", str(paths["copier"])]
    for r in range(rounds):
        out = work / f"out{nfiles}_{r}"
        runs["cookiecutter"].append(timed(
            ["cookiecutter", "--no-input", "-o", str(out / "cc"), str(paths["cookiecutter"])], env))
        runs["copier"].append(timed(
            ["copier", "copy", "--defaults", str(paths["copier"]), str(out / "cp")], env))
        shutil.rmtree(cache, ignore_errors=True)
        runs["cold"].append(timed([*render, str(out / "lp1"), "--defaults", "-q"], env))
        runs["warm"].append(timed([*render, str(out / "lp2"), "--defaults", "-q"], env))
        timed(["launchpad", "daemon", "start"], env)
        try:
            runs["daemon"].append(timed([*render, str(out / "lp3"), "--defaults", "-q"], env))
        finally:
            timed(["launchpad", "daemon", "stop"], env)
        shutil.rmtree(out)
    return {k: statistics.median(v) for k, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[200, 2000])
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--workdir", type=Path, default=default_workdir(),
                        help="where templates and outputs go (default: /dev/shm/launchpad-bench,"
                             " else bench/.work)")
    args = parser.parse_args()
    compile_bytecode(PROJECT)
    with work_folder(args.workdir, "render-") as work:
        print(f"{'files':>6} {'cookiecutter':>12} {'copier':>8} {'lp cold':>8} {'lp warm':>8}"
              f" {'daemon':>8} {'cold/cc':>8} {'cold/copier':>11} {'warm/cc':>8}"
              f" {'daemon/cc':>9}")
        for n in args.sizes:
            t = bench_size(work, n, args.rounds)
            cc = t["cookiecutter"]
            print(f"{n:>6} {cc:>11.2f}s {t['copier']:>7.2f}s {t['cold']:>7.2f}s"
                  f" {t['warm']:>7.2f}s {t['daemon']:>7.2f}s {t['cold'] / cc:>8.2f}"
                  f" {t['cold'] / t['copier']:>11.2f} {t['warm'] / cc:>8.2f}"
                  f" {t['daemon'] / cc:>9.2f}")


if __name__ == "__main__":
    main()
