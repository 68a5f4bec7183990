"""Templates that are Git repositories. Copier renders a fresh clone: its answers
file records ``_commit`` (the tag, or ``git describe``) and files take a
checkout's modes (0666/0777 less the umask), whatever the working tree's modes.
Cookiecutter renders a local repository's working tree as it is, modes included.
LaunchPad writes the same trees as each."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from launchpad_core.importers.importing import import_template

from .conftest import (
    assert_same_tree,
    render_with_launchpad,
    run_cookiecutter,
    run_copier,
    write_tree,
)

COPIER_TEMPLATE = {
    "copier.yml": "project: demo\nlicense: MIT\n",
    "{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml -}}\n",
    "README.md.jinja": ("# {{ project }} ({{ license }}) {{ _copier_conf.vcs_ref_hash }}\n", 0o664),
    "notes.txt": ("group-writable in the working tree\n", 0o664),
    "private.txt": ("owner only in the working tree\n", 0o600),
    "bin/run.sh": ("#!/bin/sh\necho run\n", 0o775),
    "bin/tool.sh.jinja": ("#!/bin/sh\necho {{ project }}\n", 0o744),
}
COOKIECUTTER_TEMPLATE = {
    "cookiecutter.json": json.dumps({"project": "demo"}),
    "{{ cookiecutter.project }}/notes.txt": ("group-writable {{ cookiecutter.project }}\n", 0o664),
    "{{ cookiecutter.project }}/private.txt": ("owner only\n", 0o600),
    "{{ cookiecutter.project }}/run.sh": ("#!/bin/sh\necho run\n", 0o775),
}


def git_repository(root: Path, *, tag: str | None) -> Path:
    """``root`` committed as a Git repository (tagged ``tag``), as its author keeps it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "Author", "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Author", "GIT_COMMITTER_EMAIL": "author@example.com",
    }
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "template"]):
        subprocess.run(["git", "-C", str(root), *argv], check=True, env=env)
    if tag:
        subprocess.run(["git", "-C", str(root), "tag", tag], check=True, env=env)
    return root


@pytest.fixture(autouse=True)
def usual_umask():
    """A umask that makes the checkout's modes differ from the working tree's."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize("tag", ["v1.2.0", None])
def test_copier_git_template_renders_like_copier_with_commit_and_clone_modes(tmp_path, lp, tag):
    src = git_repository(write_tree(tmp_path / "tpl", COPIER_TEMPLATE), tag=tag)
    expected = run_copier(src, tmp_path / "copier", {})
    render_with_launchpad(lp, src, tmp_path / "lp", {})
    assert_same_tree(expected, tmp_path / "lp")
    answers = yaml.safe_load((tmp_path / "lp" / ".copier-answers.yml").read_text())
    describe = subprocess.run(["git", "-C", str(src), "describe", "--tags", "--always"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert answers["_commit"] == (tag or describe)
    assert list(answers)[:2] == ["_commit", "_src_path"]
    modes = {p: (tmp_path / "lp" / p).stat().st_mode & 0o777
             for p in ("notes.txt", "private.txt", "bin/run.sh", "bin/tool.sh")}
    assert modes == {"notes.txt": 0o644, "private.txt": 0o644,
                     "bin/run.sh": 0o755, "bin/tool.sh": 0o755}


def test_copier_template_inside_a_repository_keeps_working_tree_modes(tmp_path, lp):
    """Copier clones only a repository's top level; a template in a subfolder is read
    from the working tree, and has no ``_commit``."""
    git_repository(write_tree(tmp_path / "repo", {"README": "repo\n"}), tag="v1.0.0")
    src = write_tree(tmp_path / "repo" / "tpl", COPIER_TEMPLATE)
    expected = run_copier(src, tmp_path / "copier", {})
    render_with_launchpad(lp, src, tmp_path / "lp", {})
    assert_same_tree(expected, tmp_path / "lp")
    assert "_commit" not in (tmp_path / "lp" / ".copier-answers.yml").read_text()
    assert (tmp_path / "lp" / "notes.txt").stat().st_mode & 0o777 == 0o664


def test_imported_copier_git_template_records_the_commit(tmp_path, lp):
    src = git_repository(write_tree(tmp_path / "tpl", COPIER_TEMPLATE), tag="2.0.1")
    origin = import_template(str(src), launchpad=lp).settings.origin
    assert origin["commit"] == "2.0.1"
    assert len(origin["commit_hash"]) == 40


def test_cookiecutter_git_template_keeps_working_tree_modes_as_cookiecutter(tmp_path, lp):
    src = git_repository(write_tree(tmp_path / "tpl", COOKIECUTTER_TEMPLATE), tag="v1.0.0")
    expected = run_cookiecutter(src, tmp_path / "cc", {})
    render_with_launchpad(lp, src, tmp_path / "lp", {})
    assert_same_tree(expected, tmp_path / "lp")
    assert (tmp_path / "lp" / "demo" / "notes.txt").stat().st_mode & 0o777 == 0o664
