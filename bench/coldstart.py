#!/usr/bin/env python3
"""Cold renders by a template's own tool and by two LaunchPad checkouts, interleaved.

For each template directory given (and each kind it holds: Copier,
Cookiecutter), runs in turn, ``--rounds`` times: the tool, LaunchPad from the
checkout ``--before`` and LaunchPad from ``--after`` (each on ``PYTHONPATH``:
its ``src`` and its plugins' ``src``), with the commands of
``bench/compare.py`` (cold: no render daemon, an empty cache folder per run).
Interleaving keeps a busy machine's drift out of the before/after comparison.
Both checkouts are compiled to bytecode first, and every tool runs from it, writing
in ``/dev/shm`` (``--workdir``; see ``bench/compare.py``).
Prints the medians of wall-clock and CPU time (user + system, children
included) and LaunchPad's ratios to the tool's.

Usage: python bench/coldstart.py DIR [DIR ...] --before CHECKOUT [--after CHECKOUT]
       [--rounds 9] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import compile_bytecode, default_workdir, positive_int, tool_env, work_folder
from compare import kinds_of, launchpad_argv, original_argv, timed

ROOT = Path(__file__).resolve().parents[1]


def python_path(checkout: Path) -> str:
    """The ``PYTHONPATH`` that runs LaunchPad and its plugins from ``checkout``."""
    plugins = sorted(str(p) for p in (checkout / "plugins").glob("*/src"))
    return os.pathsep.join([str(checkout / "src"), *plugins])


def compare(src: Path, kind: str, checkouts: dict[str, Path], rounds: int, workdir: Path) -> str:
    runs: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in (kind, *checkouts)
    }
    with work_folder(workdir, "lp-coldstart-") as work:
        for number in range(rounds):
            for name in runs:
                dst = work / f"{name}-{number}" / src.name
                env = {
                    **tool_env(),
                    "LAUNCHPAD_NO_DAEMON": "1",
                    "LAUNCHPAD_CACHE_DIR": str(work / f"cache-{name}-{number}"),
                }
                env.pop("LAUNCHPAD_NO_CACHE", None)
                if name == kind:
                    argv = original_argv(kind, src, dst, work)
                else:
                    env["PYTHONPATH"] = python_path(checkouts[name])
                    argv = launchpad_argv(kind, src, dst)
                wall, cpu, done = timed(argv, env)
                if done.returncode:
                    last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
                    return f"{src} ({kind}): {name} failed: {last}"
                runs[name][0].append(wall)
                runs[name][1].append(cpu)
    wall, cpu = ({n: statistics.median(r[i]) for n, r in runs.items()} for i in (0, 1))
    parts = [f"{kind} {wall[kind]:.3f} s, cpu {cpu[kind]:.3f} s"]
    parts += [
        f"{name} {wall[name]:.3f} s ({wall[name] / wall[kind]:.2f}), "
        f"cpu {cpu[name]:.3f} s ({cpu[name] / cpu[kind]:.2f})"
        for name in checkouts
    ]
    return f"{src} ({kind}, median of {rounds}): " + " | ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("templates", nargs="+", type=Path, metavar="DIR")
    parser.add_argument(
        "--before",
        type=Path,
        required=True,
        help="a LaunchPad checkout (git worktree or git archive) to compare",
    )
    parser.add_argument(
        "--after", type=Path, default=ROOT, help="the other checkout (default: this one)"
    )
    parser.add_argument("--rounds", type=positive_int, default=9)
    parser.add_argument("--workdir", type=Path, default=default_workdir(),
                        help="where outputs and caches go (default: /dev/shm/launchpad-bench, "
                             "else bench/.work)")
    args = parser.parse_args(argv)
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    for checkout in checkouts.values():
        compile_bytecode(checkout)
    for template in args.templates:
        src = template.resolve()
        for kind in kinds_of(src) if src.is_dir() else []:
            print(compare(src, kind, checkouts, args.rounds, args.workdir), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
