"""A ``.git`` shipped by a Copier template whose ``_exclude`` replaces Copier's
defaults (so Copier copies it): LaunchPad never writes it, skips it with one
warning and renders the rest as Copier does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from launchpad_core.cli import main as cli
from launchpad_core.importers.importing import import_template, load_warnings

from .conftest import assert_same_tree, run_copier, write_tree

#: Git's configuration and hooks, but no HEAD: not a repository Copier would clone.
GIT_FOLDER = {
    ".git/config": "[core]\n\thooksPath = .git/hooks\n",
    ".git/hooks/post-checkout": ("#!/bin/sh\necho owned\n", 0o755),
    ".git/objects/info/": "",
}
TEMPLATE = {
    "copier.yml": '_exclude:\n  - copier.yml\n  - "*.pyc"\nproject: demo\n',
    "README.md.jinja": "# {{ project }}\n",
    "src/{{ project }}.py": "print('hi')\n",
    "vendor/lib/.git": "gitdir: ../../.git/modules/lib\n",
    "vendor/lib/lib.txt": "a submodule's file\n",
    **GIT_FOLDER,
}


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAUNCHPAD_NO_CACHE", raising=False)


def without_git(copier_output: Path) -> Path:
    """Copier's output less what LaunchPad refuses to write: every ``.git``."""
    assert (copier_output / ".git" / "hooks" / "post-checkout").is_file()  # Copier copies it
    shutil.rmtree(copier_output / ".git")
    (copier_output / "vendor" / "lib" / ".git").unlink()
    return copier_output


def test_git_folder_is_skipped_with_one_warning_and_the_rest_is_copiers(tmp_path, capsys):
    src = write_tree(tmp_path / "tpl", TEMPLATE)
    expected = without_git(run_copier(src, tmp_path / "copier", {}))
    assert cli.main(["render", str(src), str(tmp_path / "lp"), "--defaults"]) == 0
    assert_same_tree(expected, tmp_path / "lp")
    err = capsys.readouterr().err.splitlines()
    warnings = [line for line in err if "warning" in line]
    assert warnings == [
        "launchpad: warning: skipped .git, vendor/lib/.git: LaunchPad never writes a '.git' "
        "(Copier would copy it: this template's _exclude replaces Copier's defaults)"
    ]
    assert not any("unsafe output path" in line for line in err)


def test_the_warning_is_recorded_in_the_imported_definition(tmp_path, lp):
    template = import_template(str(write_tree(tmp_path / "tpl", TEMPLATE)), launchpad=lp)
    assert [w.split(":")[0] for w in load_warnings(template)] == ["skipped .git, vendor/lib/.git"]
    assert not any(".git" in f.path for f in template.files)


def test_git_excluded_by_the_template_is_skipped_silently(tmp_path, lp):
    tree = {**TEMPLATE, "copier.yml": "_exclude: [copier.yml, .git]\nproject: demo\n"}
    template = import_template(str(write_tree(tmp_path / "tpl", tree)), launchpad=lp)
    assert load_warnings(template) == []
    assert not any(".git" in f.path for f in template.files)
