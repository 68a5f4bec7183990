#!/usr/bin/env python3
"""Whole-process render timings: LaunchPad next to Copier and Cookiecutter.

Builds the benchmark template (bench/make_templates.py) at each size, then
runs, alternating, `cookiecutter`, `copier copy`, `launchpad render` with a
cold cache (first render) and `launchpad render` with a warm cache, and prints
median wall times and the ratios the core issue sets targets for.

Usage: python bench/render.py [--sizes 200 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_templates import main as make_templates


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_size(work: Path, nfiles: int, rounds: int) -> dict[str, float]:
    paths = make_templates(work / f"t{nfiles}", nfiles)
    cache = work / "cache"
    env = {**os.environ, "LAUNCHPAD_CACHE_DIR": str(cache)}
    runs: dict[str, list[float]] = {"cookiecutter": [], "copier": [], "cold": [], "warm": []}
    for r in range(rounds):
        out = work / f"out{nfiles}_{r}"
        runs["cookiecutter"].append(timed(
            ["cookiecutter", "--no-input", "-o", str(out / "cc"), str(paths["cookiecutter"])], env))
        runs["copier"].append(timed(
            ["copier", "copy", "--defaults", str(paths["copier"]), str(out / "cp")], env))
        shutil.rmtree(cache, ignore_errors=True)
        runs["cold"].append(timed(
            ["launchpad", "render", str(paths["copier"]), str(out / "lp1"), "--defaults", "-q"],
            env))
        runs["warm"].append(timed(
            ["launchpad", "render", str(paths["copier"]), str(out / "lp2"), "--defaults", "-q"],
            env))
        shutil.rmtree(out)
    return {k: statistics.median(v) for k, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'files':>6} {'cookiecutter':>12} {'copier':>8} {'lp cold':>8} {'lp warm':>8}"
              f" {'cold/cc':>8} {'cold/copier':>11} {'warm/cc':>8}")
        for n in args.sizes:
            t = bench_size(Path(tmp), n, args.rounds)
            print(f"{n:>6} {t['cookiecutter']:>11.2f}s {t['copier']:>7.2f}s {t['cold']:>7.2f}s"
                  f" {t['warm']:>7.2f}s {t['cold'] / t['cookiecutter']:>8.2f}"
                  f" {t['cold'] / t['copier']:>11.2f} {t['warm'] / t['cookiecutter']:>8.2f}")


if __name__ == "__main__":
    main()
