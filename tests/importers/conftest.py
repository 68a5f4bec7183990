"""Shared pieces of the importer tests: writing template trees, rendering them with
the real Copier and Cookiecutter and with LaunchPad, and comparing the trees."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from launchpad_core.importers.importing import import_template, with_destination
from launchpad_core.importers.template_tasks import run_tasks, run_tasks_before
from launchpad_core.launchpad import Launchpad
from launchpad_core.model.template import Template
from launchpad_core.render.sinks import DirectorySink

ROOT = Path(__file__).resolve().parents[2]

def write_tree(root: Path, tree: Mapping[str, Any]) -> Path:
    """Write ``{relative path: text | bytes | (text | bytes, mode)}`` below ``root``;
    a path ending in '/' is an empty folder (its value is ignored)."""
    for rel, spec in tree.items():
        if rel.endswith("/"):
            (root / rel).mkdir(parents=True, exist_ok=True)
            continue
        content, mode = spec if isinstance(spec, tuple) else (spec, None)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path.write_bytes(data)
        if mode is not None:
            path.chmod(mode)
    return root


def folders(root: Path) -> set[str]:
    """Every folder below ``root`` (empty ones too), with a trailing '/'."""
    return {
        f"{Path(dirpath, name).relative_to(root).as_posix()}/"
        for dirpath, dirs, _files in os.walk(root)
        for name in dirs
        if not Path(dirpath, name).is_symlink()
    }


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``root``: its bytes and permission bits; a symbolic link (to a
    file or a folder) as ``-> target`` and the link's own type and mode."""
    found = {}
    for dirpath, dirs, files in os.walk(root):
        for name in (*files, *dirs):
            path = Path(dirpath, name)
            if path.is_symlink():
                found[path.relative_to(root).as_posix()] = (
                    f"-> {os.readlink(path)}".encode(),
                    path.lstat().st_mode,
                )
            elif name in files:
                found[path.relative_to(root).as_posix()] = (
                    path.read_bytes(),
                    stat.S_IMODE(path.stat().st_mode),
                )
    return found


def assert_same_tree(expected: Path, actual: Path) -> None:
    """Same folders, same file paths, bytes and modes; a readable list of the
    differences otherwise."""
    want, got = snapshot(expected), snapshot(actual)
    want_folders, got_folders = folders(expected), folders(actual)
    problems = [f"missing {p}" for p in sorted(set(want) - set(got))]
    problems += [f"extra {p}" for p in sorted(set(got) - set(want))]
    problems += [f"missing folder {p}" for p in sorted(want_folders - got_folders)]
    problems += [f"extra folder {p}" for p in sorted(got_folders - want_folders)]
    for path in sorted(set(want) & set(got)):
        (want_data, want_mode), (got_data, got_mode) = want[path], got[path]
        if want_data != got_data:
            problems.append(f"bytes of {path}: {want_data[:300]!r} != {got_data[:300]!r}")
        if want_mode != got_mode:
            problems.append(f"mode of {path}: {want_mode:o} != {got_mode:o}")
    assert not problems, "\n".join(problems)
    assert want, "the reference tool wrote nothing"


def run_copier(
    src: Path,
    dst: Path,
    data: Mapping[str, Any],
    *,
    unsafe: bool = False,
    skip_tasks: bool = False,
) -> Path:
    import copier

    copier.run_copy(
        str(src),
        dst,
        data=dict(data),
        defaults=True,
        unsafe=unsafe,
        skip_tasks=skip_tasks,
        quiet=True,
        overwrite=True,
    )
    return dst


def run_cookiecutter(
    src: Path, out: Path, extra_context: Mapping[str, Any], *, accept_hooks: bool = False
) -> Path:
    from cookiecutter.main import cookiecutter

    config = out.parent / f"{out.name}-cookiecutter-config.json"
    config.write_text(
        json.dumps(
            {
                "cookiecutters_dir": str(out.parent / "cookiecutters"),
                "replay_dir": str(out.parent / "replay"),
            }
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    cookiecutter(
        str(src),
        no_input=True,
        extra_context=dict(extra_context),
        output_dir=str(out),
        config_file=str(config),
        accept_hooks=accept_hooks,
    )
    return out


def render_with_launchpad(
    lp: Launchpad,
    source: Path | Template,
    dst: Path,
    answers: Mapping[str, Any],
    *,
    trusted: bool = False,
) -> Path:
    """What ``launchpad render SOURCE DST`` does: import, answer, run the ``before`` tasks
    (which may change the answers), render, write, run the ``after`` tasks."""
    template = source if isinstance(source, Template) else import_template(
        str(source), trusted=trusted, launchpad=lp
    )
    template = with_destination(template, dst, launchpad=lp)
    resolved = lp.resolve_answers(template, answers)
    template, resolved = run_tasks_before(template, resolved, dst, trusted=trusted, launchpad=lp)
    files = lp.render(template, resolved, trusted=trusted)
    DirectorySink(dst, overwrite=True).write(files)
    run_tasks(template, resolved, dst, stage="after", trusted=trusted, launchpad=lp)
    return dst


@pytest.fixture(scope="session")
def lp() -> Launchpad:
    return Launchpad()


@pytest.fixture(scope="session")
def bench_templates() -> Callable[[Path, int], dict[str, Path]]:
    """The project's benchmark generator (``bench/make_templates.py``)."""
    path = ROOT / "bench" / "make_templates.py"
    spec = importlib.util.spec_from_file_location("make_templates", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main
