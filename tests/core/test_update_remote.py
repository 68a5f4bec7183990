"""``launchpad update`` and ``launchpad check`` of projects made from a remote template
(an https-style URL, ``gh:owner/name``), as Copier updates them: the template is a bare
repository served by ``git http-backend`` on loopback, a new version is pushed to it,
and the project is checked and updated through the cached mirror (:mod:`.sources`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from importers.conftest import write_tree
from importers.git_http import GitHttpServer, serving

from launchpad_core.cli import main as cli

from . import test_update, test_update_copier
from .update_fixtures import (
    GIT_ENV,
    assert_same_project,
    committed,
    copier_update,
    git,
    launchpad_update,
    tagged_template,
    twins,
)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def published(tmp_path: Path, first: dict) -> tuple[Path, Path]:
    """A working repository whose ``v1`` holds ``first``, and its bare copy to serve."""
    working = tagged_template(tmp_path / "work" / "tpl", [first])
    bare = tmp_path / "served" / "owner" / "tpl.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(working), str(bare)], check=True)
    return working, bare


def push_version(working: Path, bare: Path, tree: dict, tag: str) -> None:
    """Commit ``tree`` (in place of what was there) as ``tag`` and push it to ``bare``."""
    for entry in working.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    write_tree(working, tree)
    git(working, "add", "-A")
    git(working, "commit", "-qm", tag)
    git(working, "tag", tag)
    git(working, "push", "-q", str(bare), "main", "--tags")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def answers(project: Path, name: str) -> dict:
    return yaml.safe_load((project / name).read_text())


@pytest.fixture
def copier_remote(tmp_path: Path) -> tuple[Path, Path]:
    return published(tmp_path, test_update_copier.V1)


@pytest.fixture
def server(tmp_path: Path, copier_remote, monkeypatch) -> GitHttpServer:
    with serving(tmp_path / "served") as running:
        monkeypatch.setenv("LAUNCHPAD_GH_URL", running.url)
        yield running


def test_a_project_from_a_served_copier_template_updates_as_copier_updates_it(
        tmp_path, copier_remote, server, capsys):
    url = f"{server.url}/owner/tpl.git"
    project = tmp_path / "project"
    code, _, err = run(capsys, "render", url, str(project), "--defaults", "-q")
    assert code == 0, err
    assert answers(project, ".copier-answers.yml")["_src_path"] == url
    committed(project)
    test_update_copier.my_edits(project)
    committed(project)
    assert run(capsys, "check", str(project))[:2] == (0, f"{project}: up to date (v1)\n")

    push_version(*copier_remote, test_update_copier.V2, "v2")
    assert run(capsys, "check", str(project))[:2] == (
        1, f"{project}: at v1, 1 version(s) behind (latest v2: v2)\n")

    by_copier, by_lp = twins(project)
    copier_update(by_copier, "v2")
    assert launchpad_update(by_lp) == 0
    assert_same_project(by_copier, by_lp)
    assert answers(by_lp, ".copier-answers.yml")["_commit"] == "v2"
    committed(by_lp)
    assert run(capsys, "check", str(by_lp))[:2] == (0, f"{by_lp}: up to date (v2)\n")


def test_a_launchpad_template_from_a_forge_shorthand(tmp_path, monkeypatch, capsys):
    working, bare = published(tmp_path, test_update.V1)
    project = tmp_path / "project"
    with serving(tmp_path / "served") as running:
        monkeypatch.setenv("LAUNCHPAD_GH_URL", running.url)
        code, _, err = run(capsys, "render", "gh:owner/tpl", str(project), "-d", "name=rocket",
                           "-q")
        assert code == 0, err
        recorded = answers(project, ".launchpad-answers.yml")
        assert (recorded["_src_path"], recorded["_commit"]) == ("gh:owner/tpl", "v1")
        committed(project)
        push_version(working, bare, test_update.V2, "v2")
        assert run(capsys, "check", str(project), "--json")[:2] == (
            1, '{"current": "v1", "latest": "v2", "behind": 1, "newer": ["v2"]}\n')
        assert run(capsys, "update", str(project), "--defaults", "-q")[0] == 0
        assert len(running.requests) > 0
    recorded = answers(project, ".launchpad-answers.yml")
    assert (recorded["_src_path"], recorded["_commit"]) == ("gh:owner/tpl", "v2")
    assert (project / "LICENSE").read_text() == "MIT\n"
    assert not (project / "gone.txt").exists()


def test_offline_the_cache_answers_what_it_holds_and_says_what_it_lacks(
        tmp_path, copier_remote, monkeypatch, capsys):
    with serving(tmp_path / "served") as running:
        url = f"{running.url}/owner/tpl.git"
        project = tmp_path / "project"
        assert run(capsys, "render", url, str(project), "--defaults", "-q")[0] == 0
    committed(project)
    push_version(*copier_remote, test_update_copier.V2, "v2")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}

    code, out, err = run(capsys, "check", str(project))
    assert (code, out) == (0, f"{project}: up to date (v1)\n")
    assert err.startswith(f"launchpad: warning: cannot fetch {url}: ")
    assert err.endswith("using the copy cached earlier\n") and err.count("\n") == 1

    code, _, err = run(capsys, "update", str(project), "--to", "v2", "--defaults")
    assert code == 1
    assert err.startswith(f"launchpad: error: cannot fetch {url}: ")
    assert err.endswith(", and the cache holds no 'v2'\n") and err.count("\n") == 1
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


def test_an_unreachable_template_and_no_cache_is_one_line(tmp_path, copier_remote, capsys):
    with serving(tmp_path / "served") as running:
        url = f"{running.url}/owner/tpl.git"
        assert run(capsys, "render", url, str(tmp_path / "project"), "--defaults", "-q")[0] == 0
    committed(tmp_path / "project")
    (tmp_path / "cache").rename(tmp_path / "cache-gone")
    for command, status in (("check", 2), ("update", 1)):
        code, out, err = run(capsys, command, str(tmp_path / "project"))
        assert (code, out) == (status, "")
        assert err.startswith(f"launchpad: error: cannot clone {url}: ")
        assert err.count("\n") == 1
