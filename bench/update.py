#!/usr/bin/env python3
"""Time ``launchpad update`` against ``copier update`` on the 200-file benchmark template.

The Copier template of ``make_templates.py`` is kept in a Git repository with two
tags: ``v1``, and ``v2``, which edits a line in every fifth module, removes one file,
renames one and adds one. A project is made from ``v1`` by Copier and committed,
then edited: the first line of every tenth module (merged cleanly with the template's
edit), the very line the template edits in every twentieth from the fifth (a
conflict), a line added to every seventh from the first. Copies of it are updated to
``v2`` side by side, alternating, as whole processes:

* ``copier update --defaults --vcs-ref v2 --quiet PROJECT``
* ``launchpad update PROJECT --to v2 --defaults --quiet``, cold: an empty cache
  folder for every run.

It prints whether the two updated trees are identical (less ``.git``), the time of
each (median of ``--rounds``) and the ratio (LaunchPad's time over Copier's; the goal
is at most 1/3). Exit status: 0 identical, 1 different, 2 a tool failed.

Usage: python bench/update.py [--files 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import positive_int
from compare import command, differences, timed
from make_templates import write_copier

GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
VERSION_LINE = 'VERSION = "{{ version }}"'
ANSWERS = "# Changes here will be overwritten by Copier\n{{ _copier_answers|to_nice_yaml -}}\n"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def tagged_template(work: Path, nfiles: int) -> Path:
    """The Copier template at ``v1`` and ``v2``."""
    src = write_copier(work / "generated", nfiles)
    (src / "template" / "{{ _copier_conf.answers_file }}.jinja").write_text(ANSWERS)
    git(src, "init", "-q", "-b", "main")
    commit_all(src, "v1")
    git(src, "tag", "v1")
    modules = sorted((src / "template").rglob("mod_*.py.jinja"),
                     key=lambda p: int(p.name[4:].split(".")[0]))
    for module in modules[::5]:
        module.write_text(module.read_text().replace(VERSION_LINE, f"{VERSION_LINE}  # v2"))
    statics = sorted((src / "template").rglob("static_*.txt"))
    statics[0].unlink()
    statics[1].rename(statics[1].with_name("renamed_static.txt"))
    (modules[0].parent / "added.py.jinja").write_text("ADDED = '{{ project_slug }}'\n")
    commit_all(src, "v2")
    git(src, "tag", "v2")
    return src


def edited_project(src: Path, dest: Path) -> Path:
    """Copier's project from ``v1``, committed, edited on the person's side, committed."""
    subprocess.run([*command("copier", "copier"), "copy", "--defaults", "--quiet",
                    "--vcs-ref", "v1", str(src), str(dest)], check=True, capture_output=True)
    git(dest, "init", "-q", "-b", "main")
    commit_all(dest, "made")
    modules = sorted(dest.rglob("mod_*.py"), key=lambda p: int(p.stem[4:]))
    for number, module in enumerate(modules):
        text = module.read_text()
        if number % 10 == 0:
            text = text.replace(" - module", " - my module", 1)
        if number % 20 == 5:
            text = text.replace('VERSION = "0.1.0"', 'VERSION = "0.1.0-mine"')
        if number % 7 == 1:
            text += "# my addition\n"
        module.write_text(text)
    commit_all(dest, "edited")
    return dest


def copier_argv(project: Path) -> list[str]:
    return [*command("copier", "copier"), "update", "--defaults", "--vcs-ref", "v2", "--quiet",
            str(project)]


def launchpad_argv(project: Path) -> list[str]:
    return [*command("launchpad", "launchpad_core.cli.main"), "update", str(project), "--to", "v2",
            "--defaults", "--quiet"]


def tree(project: Path, dest: Path) -> Path:
    shutil.copytree(project, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=positive_int, default=200, help="template files (200)")
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="updates by each tool, alternating; the median is shown (3)")
    args = parser.parse_args(argv)
    env = {**os.environ, **GIT_ENV, "LAUNCHPAD_NO_DAEMON": "1"}
    env.pop("LAUNCHPAD_NO_CACHE", None)
    times: dict[str, list[float]] = {"launchpad": [], "copier": []}
    with tempfile.TemporaryDirectory(prefix="lp-bench-update-") as folder:
        work = Path(folder)
        project = edited_project(tagged_template(work, args.files), work / "project")
        for number in range(args.rounds):
            for tool, make_argv in (("copier", copier_argv), ("launchpad", launchpad_argv)):
                copy = work / f"{tool}-{number}" / "project"
                shutil.copytree(project, copy, symlinks=True)
                cold = {**env, "LAUNCHPAD_CACHE_DIR": str(work / f"cache-{number}")}
                seconds, done = timed(make_argv(copy), cold)
                if done.returncode != 0:
                    last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
                    print(f"{tool} failed (exit {done.returncode}): {last}")
                    return 2
                times[tool].append(seconds)
        found = differences(tree(work / "copier-0" / "project", work / "copier-tree"),
                            tree(work / "launchpad-0" / "project", work / "launchpad-tree"))
    print(f"update of a {args.files}-file template's project from v1 to v2, edits on both sides")
    print(f"  identical: {'no' if found else 'yes'}")
    for line in found[:20]:
        print(f"    {line}")
    ours, theirs = statistics.median(times["launchpad"]), statistics.median(times["copier"])
    print(f"  time: launchpad {ours:.3f} s, copier {theirs:.3f} s, "
          f"ratio {ours / theirs:.2f} (median of {args.rounds}; goal at most 0.33)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
