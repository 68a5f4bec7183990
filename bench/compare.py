#!/usr/bin/env python3
"""Render template directories with LaunchPad and with their own tool, and compare.

For each directory given, the kind of template is detected (``copier.yml`` or
``copier.yaml``: Copier; ``cookiecutter.json``: Cookiecutter; a directory with
both is compared for each) and it is rendered with its defaults and its
tasks/hooks skipped (run, with ``--trust``: ``copier copy --trust``,
``cookiecutter --accept-hooks yes``, ``launchpad render --trust``; a template
with its own Jinja extensions needs it), as whole processes run side by side
(alternating, the median of ``--rounds``):

* ``copier copy --defaults --skip-tasks --quiet SRC DST``
* ``cookiecutter --no-input --accept-hooks no -o DST SRC`` (with a throw-away
  configuration file, so nothing lands in the home folder)
* ``launchpad render SRC DST --defaults --skip-tasks --template-format KIND``,
  cold: no render daemon, an empty cache folder for every run.

Both write to a folder named like the template (what ``_folder_name`` gives).
Every tool runs as the console script installed beside this Python (not a pyenv
shim: a bash script that costs each tool the same 50 ms), from compiled bytecode
(LaunchPad's checkout is compiled first, as pip compiled the tools';
PYTHONDONTWRITEBYTECODE is dropped), in ``/dev/shm`` (``--workdir``), as in
``bench/render.py``.

It prints for each: whether the two trees are identical (paths, folders,
bytes, modes, symbolic links), the differing files, and the time ratio
(LaunchPad's time over the tool's), wall-clock and CPU (user + system, the
steadier figure on a machine shared with other work). The exit status is 0 when every tree is
identical, 1 otherwise, 2 when a tool failed.

Usage: python bench/compare.py DIR [DIR ...] [--rounds 3] [--show 20] [--workdir DIR]
       [--trust]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import (
    compile_bytecode,
    default_workdir,
    positive_int,
    tool,
    tool_env,
    work_folder,
)

KINDS = {"copier": ("copier.yml", "copier.yaml"), "cookiecutter": ("cookiecutter.json",)}


def kinds_of(template: Path) -> list[str]:
    return [kind for kind, names in KINDS.items() if any((template / n).is_file() for n in names)]


def command(name: str, module: str) -> list[str]:
    """The console script ``name`` when installed, else ``python -m module``."""
    found = tool(name)
    return [found] if found != name else [sys.executable, "-m", module]


def launchpad_checkout() -> Path:
    """The checkout whose ``launchpad_core`` the command imports (``PYTHONPATH``, else the
    editable install)."""
    spec = importlib.util.find_spec("launchpad_core")
    if spec is None or spec.origin is None:
        raise SystemExit("launchpad_core is not importable")
    return Path(spec.origin).parents[2]


def original_argv(kind: str, src: Path, dst: Path, work: Path, *, trust: bool = False) -> list[str]:
    if kind == "copier":
        return [*command("copier", "copier"), "copy", "--defaults",
                "--trust" if trust else "--skip-tasks", "--quiet", str(src), str(dst)]
    config = work / "cookiecutter-config.json"
    config.write_text(json.dumps({"cookiecutters_dir": str(work / "cookiecutters"),
                                  "replay_dir": str(work / "replay")}))
    return [*command("cookiecutter", "cookiecutter"), "--no-input",
            "--accept-hooks", "yes" if trust else "no",
            "--config-file", str(config), "-o", str(dst), str(src)]


def launchpad_argv(kind: str, src: Path, dst: Path, *, trust: bool = False) -> list[str]:
    return [*command("launchpad", "launchpad_core.cli.main"), "render", str(src), str(dst),
            "--defaults", "--trust" if trust else "--skip-tasks", "--template-format", kind]


def timed(
    argv: list[str], env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall-clock and CPU seconds (user + system, with the children it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def snapshot(root: Path) -> dict[str, tuple[str, bytes, int]]:
    """Every entry below ``root``: kind, content (a link's target) and permission bits."""
    found = {}
    for dirpath, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode & 0o7777
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path).encode(), 0)
            elif path.is_dir():
                found[f"{rel}/"] = ("folder", b"", 0)
            else:
                found[rel] = ("file", path.read_bytes(), mode)
    return found


def differences(expected: Path, actual: Path) -> list[str]:
    want, got = snapshot(expected), snapshot(actual)
    found = [f"{p} (only in the original's output)" for p in sorted(set(want) - set(got))]
    found += [f"{p} (only in LaunchPad's output)" for p in sorted(set(got) - set(want))]
    for path in sorted(set(want) & set(got)):
        (want_kind, want_data, want_mode), (got_kind, got_data, got_mode) = want[path], got[path]
        if want_kind != got_kind:
            found.append(f"{path} ({want_kind} != {got_kind})")
        elif want_data != got_data:
            found.append(f"{path} (content)")
        elif want_mode != got_mode:
            found.append(f"{path} (mode {want_mode:o} != {got_mode:o})")
    return found


def compare(
    name: str, src: Path, kind: str, work: Path, *, rounds: int, show: int, trust: bool
) -> int:
    """Print the comparison of one template and kind; its exit status."""
    env = {**tool_env(), "LAUNCHPAD_NO_DAEMON": "1"}
    env.pop("LAUNCHPAD_NO_CACHE", None)
    times: dict[str, list[float]] = {"launchpad": [], kind: []}
    cpus: dict[str, list[float]] = {"launchpad": [], kind: []}
    for number in range(rounds):
        runs = {
            kind: original_argv(kind, src, work / f"{kind}-{number}" / src.name, work,
                                trust=trust),
            "launchpad": launchpad_argv(kind, src, work / f"launchpad-{number}" / src.name,
                                        trust=trust),
        }
        for runner, argv in runs.items():
            cold = {**env, "LAUNCHPAD_CACHE_DIR": str(work / f"cache-{number}")}
            seconds, cpu, done = timed(argv, cold)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
                print(f"{name} ({kind})\n  {runner} failed (exit {done.returncode}): {last}")
                return 2
            times[runner].append(seconds)
            cpus[runner].append(cpu)
    found = differences(work / f"{kind}-0" / src.name, work / "launchpad-0" / src.name)
    print(f"{name} ({kind})")
    print(f"  identical: {'no' if found else 'yes'}")
    print(f"  differing files: {len(found) or 'none'}")
    for line in found[:show]:
        print(f"    {line}")
    if len(found) > show:
        print(f"    ... and {len(found) - show} more")
    ours, theirs = statistics.median(times["launchpad"]), statistics.median(times[kind])
    print(f"  time: launchpad {ours:.3f} s, {kind} {theirs:.3f} s, "
          f"ratio {ours / theirs:.2f} (median of {rounds})")
    ours, theirs = statistics.median(cpus["launchpad"]), statistics.median(cpus[kind])
    print(f"  cpu: launchpad {ours:.3f} s, {kind} {theirs:.3f} s, ratio {ours / theirs:.2f}")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("templates", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="runs of each tool, alternating; the median is shown (3)")
    parser.add_argument("--show", type=positive_int, default=20,
                        help="differing files listed per template (20)")
    parser.add_argument("--workdir", type=Path, default=default_workdir(),
                        help="where outputs and caches go (default: /dev/shm/launchpad-bench, "
                             "else bench/.work)")
    parser.add_argument("--trust", action="store_true",
                        help="run the tasks and hooks and load the template's extensions, "
                             "with every tool (default: skip them)")
    args = parser.parse_args(argv)
    compile_bytecode(launchpad_checkout())
    status = 0
    for template in args.templates:
        src = template.resolve()
        kinds = kinds_of(src) if src.is_dir() else []
        if not kinds:
            print(f"{template}\n  not a Copier or Cookiecutter template")
            status = max(status, 2)
            continue
        for kind in kinds:
            with work_folder(args.workdir, "lp-compare-") as work:
                result = compare(str(template), src, kind, work,
                                 rounds=args.rounds, show=args.show, trust=args.trust)
            status = max(status, result)
    return status


if __name__ == "__main__":
    sys.exit(main())
