"""The real templates in ``tests/fixtures`` (issue 12: templates as they are in the
wild), each rendered with its defaults by LaunchPad and by its own tool, the trees
compared as the identity tests compare them. Tasks and hooks are skipped on both
sides unless the case needs them (trusted on both sides then). Every folder there
must have its case below; ``tests/fixtures/README.md`` lists them."""

from __future__ import annotations

import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jinja2.environment
import pytest

from launchpad_core.cli import main as cli

from .conftest import ROOT, assert_same_tree, run_cookiecutter, run_copier, write_tree
from .test_copier_git_folder import GIT_FOLDER, without_git

FIXTURES = ROOT / "tests" / "fixtures"


def add_git_folders(src: Path) -> None:
    """What git cannot hold inside our repository: the template's ``.git`` folder and a
    submodule's ``.git`` file."""
    write_tree(src, {**GIT_FOLDER, "vendor/lib/.git": "gitdir: ../../.git/modules/lib\n"})


class Case(NamedTuple):
    kinds: tuple[str, ...]
    #: Rendered trusted on both sides (tasks, hooks and extensions run), else with
    #: the tasks and hooks skipped.
    trusted: bool = False
    #: Changes the copy of the fixture before rendering.
    prepare: Callable[[Path], None] | None = None
    #: Turns the original tool's output into what LaunchPad is to write.
    expected: Callable[[Path], Path] | None = None


CASES = {
    "both-formats": Case(("copier", "cookiecutter")),
    "cookiecutter-answer-hook": Case(("cookiecutter",), trusted=True),
    "cookiecutter-extensions": Case(("cookiecutter",), trusted=True),
    "cookiecutter-hooks": Case(("cookiecutter",)),
    "cookiecutter-now": Case(("cookiecutter",)),
    "cookiecutter-symlinks": Case(("cookiecutter",)),
    "copier-extensions": Case(("copier",), trusted=True),
    "copier-git-folder": Case(("copier",), prepare=add_git_folders, expected=without_git),
    "copier-symlinks": Case(("copier",)),
    "copier-tasks": Case(("copier",)),
}


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAUNCHPAD_NO_CACHE", raising=False)
    warnings.filterwarnings("ignore", "This package is deprecated", DeprecationWarning)
    # Copier's run leaves Jinja's import_string replaced by copier-template-extensions.
    monkeypatch.setattr(jinja2.environment, "import_string", jinja2.environment.import_string)
    yield
    # The extension modules are imported by name: the next run must import its own.
    prefixes = ("lp_fixture_", "copier_template_extensions.")
    for name in [m for m in sys.modules if m.startswith(prefixes)]:
        if "_internal" not in name:
            del sys.modules[name]


def render_with_original(kind: str, src: Path, dst: Path, *, trusted: bool) -> Path:
    if kind == "copier":
        return run_copier(src, dst, {}, unsafe=trusted, skip_tasks=not trusted)
    return run_cookiecutter(src, dst, {}, accept_hooks=trusted)


@pytest.mark.parametrize("name", fixture_names())
def test_launchpad_renders_the_fixture_as_its_tool(tmp_path, name):
    assert name in CASES, f"tests/fixtures/{name} has no case in CASES"
    case = CASES[name]
    src = tmp_path / name
    # Less the bytecode a run of bench/compare.py on the folder may have left there.
    bytecode = shutil.ignore_patterns("__pycache__")
    shutil.copytree(FIXTURES / name, src, symlinks=True, ignore=bytecode)
    if case.prepare is not None:
        case.prepare(src)
    switch = "--trust" if case.trusted else "--skip-tasks"
    for kind in case.kinds:
        ours = tmp_path / f"launchpad-{kind}"
        argv = ["render", str(src), str(ours), "--defaults", "-q", switch]
        # LaunchPad first: Cookiecutter leaves a template's extension modules imported.
        assert cli.main([*argv, "--template-format", kind]) == 0
        theirs = render_with_original(kind, src, tmp_path / kind, trusted=case.trusted)
        if case.expected is not None:
            theirs = case.expected(theirs)
        assert_same_tree(theirs, ours)


def test_every_fixture_has_a_case_and_a_line_in_the_readme():
    names = fixture_names()
    assert names == sorted(CASES)
    readme = (FIXTURES / "README.md").read_text()
    assert [n for n in names if f"`{n}`" not in readme] == []
