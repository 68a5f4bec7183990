"""Copier templates in Git repositories with submodules, and local templates with edits,
rendered by ``launchpad render`` against real Git and compared with ``copier copy``.

The template repository ``tpl`` holds ``vendor/lib``, a submodule at a ``file://``
address, which itself holds ``inner``, a submodule at a relative address (``../inner``),
so both are checked out recursively. Local submodule addresses need Git's
``protocol.file.allow=always``: a ``.gitconfig`` in a throw-away home gives it to both
tools, as a person would.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from launchpad_core.cli import main as cli

from .conftest import assert_same_tree, write_tree

AUTHOR = {
    "GIT_AUTHOR_NAME": "Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}
TEMPLATE = {
    "copier.yml": "project: demo\n",
    "{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml -}}\n",
    "README.md.jinja": "# {{ project }}\n",
}
#: A fixed time for the commits of edits, so Copier's and ours have the same hash.
DATES = {
    "GIT_AUTHOR_DATE": "2026-12-07T01:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-12-07T01:00:00+00:00",
}


def git(root: Path, *args: str) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **AUTHOR}
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, env=env, capture_output=True, text=True
    ).stdout.strip()


def repository(root: Path, files: dict) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    write_tree(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    return root


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text('[protocol "file"]\n\tallow = always\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """``tpl`` with ``vendor/lib`` (``file://``) holding ``inner`` (``../inner``), tagged."""
    work = tmp_path / "work"
    repository(work / "inner", {"inner.txt": "deep inside\n"})
    lib = repository(
        work / "lib", {"lib.txt": "from the submodule\n", "run.sh": ("#!/bin/sh\n", 0o755)}
    )
    git(lib, "submodule", "add", "-q", "../inner", "inner")
    git(lib, "commit", "-qm", "inner")
    tpl = repository(work / "tpl", TEMPLATE)
    git(tpl, "submodule", "add", "-q", (work / "lib").as_uri(), "vendor/lib")
    git(tpl, "commit", "-qm", "lib")
    git(tpl, "tag", "v1.0.0")
    return tpl


def render(capsys: pytest.CaptureFixture[str], source: str, dest: Path, *options: str) -> Path:
    code = cli.main(["render", source, str(dest), "--defaults", "-q", *options])
    assert code == 0, capsys.readouterr().err
    return dest


@contextlib.contextmanager
def copier_environment(**more: str) -> Iterator[None]:
    """Copier's Git runs with plumbum's copy of the environment, taken when plumbum was
    first imported (maybe by another test): give it this test's home (its Git
    configuration) and ``more``."""
    from plumbum import local

    with local.env(HOME=os.environ["HOME"], **more):
        yield


def copier_copy(source: str, dest: Path, ref: str | None = None, **env: str) -> Path:
    import copier

    with copier_environment(**env):
        copier.run_copy(source, dest, vcs_ref=ref, defaults=True, quiet=True)
    return dest


def commit_of(dest: Path) -> str:
    return yaml.safe_load((dest / ".copier-answers.yml").read_text())["_commit"]


@pytest.mark.parametrize("address", ["path", "file"])
def test_submodules_are_checked_out_recursively_as_copier_does(template, tmp_path, capsys, address):
    """A local repository (its newest tag), and a bare one at a ``file://`` address."""
    source = str(template)
    if address == "file":
        bare = tmp_path / "served" / "tpl.git"
        git(tmp_path, "clone", "-q", "--bare", str(template), str(bare))
        source = bare.as_uri()
    ours = render(capsys, source, tmp_path / "lp")
    assert_same_tree(copier_copy(source, tmp_path / "copier"), ours)
    assert (ours / "vendor" / "lib" / "inner" / "inner.txt").read_text() == "deep inside\n"
    assert (ours / "vendor" / "lib" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert not (ours / "vendor" / "lib" / ".git").exists()


def test_a_bare_repository_s_relative_submodule_is_found_beside_it(tmp_path, capsys):
    work = tmp_path / "work"
    repository(work / "lib", {"lib.txt": "beside\n"})
    tpl = repository(work / "tpl", TEMPLATE)
    git(tpl, "submodule", "add", "-q", "../lib", "vendor/lib")
    git(tpl, "commit", "-qm", "lib")
    served = tmp_path / "served"
    for name in ("lib", "tpl"):
        git(tmp_path, "clone", "-q", "--bare", str(work / name), str(served / f"{name}.git"))
    source = (served / "tpl.git").as_uri()
    ours = render(capsys, source, tmp_path / "lp")
    assert_same_tree(copier_copy(source, tmp_path / "copier"), ours)
    assert (ours / "vendor" / "lib" / "lib.txt").read_text() == "beside\n"


def test_a_cookiecutter_template_s_submodules_are_left_out_as_cookiecutter_does(tmp_path, capsys):
    from cookiecutter.main import cookiecutter

    work = tmp_path / "work"
    repository(work / "lib", {"lib.txt": "not for cookiecutter\n"})
    tpl = repository(
        work / "tpl",
        {
            "cookiecutter.json": '{"name": "demo"}\n',
            "{{ cookiecutter.name }}/a.txt": "{{ cookiecutter.name }}\n",
        },
    )
    git(tpl, "submodule", "add", "-q", "../lib", "{{ cookiecutter.name }}/lib")
    git(tpl, "commit", "-qm", "lib")
    git(tpl, "submodule", "deinit", "-q", "--all")  # a fresh clone's state
    ours = render(capsys, str(tpl), tmp_path / "lp", "--vcs-ref", "main")
    cookiecutter(
        str(tpl),
        checkout="main",
        no_input=True,
        output_dir=str(tmp_path / "cc"),
        config_file=str(write_config(tmp_path)),
    )
    assert_same_tree(tmp_path / "cc", ours)
    assert not (ours / "demo" / "lib" / "lib.txt").exists()


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "cookiecutter.yml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n"
    )
    return config


# -- a local template with edits: Copier commits them into its clone ---------------------------
def test_edits_of_a_local_template_are_committed_as_copier_commits_them(
    template, tmp_path, capsys, monkeypatch
):
    for name, value in DATES.items():
        monkeypatch.setenv(name, value)
    (template / "README.md.jinja").write_text("# {{ project }}, edited\n")
    (template / "NEW.md").write_text("added, not committed\n")
    (template / ".gitignore").write_text("ignored.txt\n")
    (template / "ignored.txt").write_text("Git ignores me\n")
    ours = render(capsys, str(template), tmp_path / "lp", "--vcs-ref", "HEAD")
    assert "warning: the template's uncommitted changes are included" in capsys.readouterr().err
    theirs = copier_copy(str(template), tmp_path / "copier", "HEAD", **DATES)
    assert_same_tree(theirs, ours)  # _commit included: the same commit, made by each
    assert re.fullmatch(r"v1\.0\.0-1-g[0-9a-f]{7,}", commit_of(ours))
    assert (ours / "README.md").read_text() == "# demo, edited\n"
    assert (ours / "NEW.md").exists() and not (ours / "ignored.txt").exists()
    assert (ours / "vendor" / "lib" / "lib.txt").exists()
    assert git(template, "status", "--porcelain")  # the template's own repository untouched
    assert git(template, "rev-list", "--count", "HEAD") == "2"
    assert not list((tmp_path / "cache" / "git" / "drafts").iterdir())


def test_without_fixed_dates_the_commit_of_edits_differs_only_in_its_hash(
    template, tmp_path, capsys
):
    (template / "README.md.jinja").write_text("# {{ project }}, edited\n")
    untagged = repository(tmp_path / "untagged", TEMPLATE)
    (untagged / "README.md.jinja").write_text("# {{ project }}, edited too\n")
    for source, pattern in (
        (template, r"v1\.0\.0-1-g([0-9a-f]{7,})"),
        (untagged, r"([0-9a-f]{7,})"),
    ):
        ours = render(capsys, str(source), tmp_path / f"lp-{source.name}", "--vcs-ref", "HEAD")
        copier_copy(str(source), tmp_path / f"copier-{source.name}", "HEAD")
        mine, theirs = commit_of(ours), commit_of(tmp_path / f"copier-{source.name}")
        assert re.fullmatch(pattern, mine) and re.fullmatch(pattern, theirs), (mine, theirs)
        head = git(source, "rev-parse", "HEAD")
        assert not head.startswith(re.fullmatch(pattern, mine)[1])  # a new commit, not HEAD
        assert (
            (ours / "README.md")
            .read_text()
            .endswith("edited\n" if source is template else "edited too\n")
        )


def test_a_clean_local_template_without_tags_renders_its_head_as_copier(tmp_path, capsys):
    tpl = repository(tmp_path / "tpl", TEMPLATE)
    ours = render(capsys, str(tpl), tmp_path / "lp")
    assert_same_tree(copier_copy(str(tpl), tmp_path / "copier"), ours)
    assert commit_of(ours) == git(tpl, "rev-parse", "--short", "HEAD")


def test_update_takes_the_submodules_of_both_versions_as_copier_update(tmp_path, capsys):
    import copier

    work = tmp_path / "work"
    lib = repository(work / "lib", {"lib.txt": "lib one\n"})
    tpl = repository(work / "tpl", TEMPLATE)
    git(tpl, "submodule", "add", "-q", "../lib", "vendor/lib")
    git(tpl, "commit", "-qm", "lib")
    git(tpl, "tag", "v1")
    write_tree(lib, {"lib.txt": "lib two\n", "added.txt": "new in two\n"})
    git(lib, "commit", "-qam", "two")
    git(lib, "add", "-A")
    git(lib, "commit", "-qm", "added")
    git(tpl / "vendor" / "lib", "pull", "-q", "origin", "main")
    git(tpl, "commit", "-qam", "lib two")
    git(tpl, "tag", "v2")
    projects = []
    for name in ("copier", "lp"):
        project = tmp_path / name
        copier_copy(str(tpl), project, "v1")
        git(project, "init", "-q", "-b", "main")
        git(project, "add", "-A")
        git(project, "commit", "-qm", "made")
        projects.append(project)
    assert (projects[0] / "vendor" / "lib" / "lib.txt").read_text() == "lib one\n"
    with copier_environment():
        copier.run_update(projects[0], vcs_ref="v2", defaults=True, overwrite=True, quiet=True)
    assert cli.main(["update", str(projects[1]), "--defaults", "--to", "v2"]) == 0, (
        capsys.readouterr().err
    )
    assert (projects[1] / "vendor" / "lib" / "added.txt").read_text() == "new in two\n"
    assert tree_without_git(projects[0]) == tree_without_git(projects[1])


def tree_without_git(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mode)
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_a_clone_that_fails_is_one_line_and_leaves_nothing(template, tmp_path, capsys):
    import shutil

    (template / "README.md.jinja").write_text("# edited\n")
    shutil.rmtree(tmp_path / "work" / "lib")  # the submodule cannot be cloned
    code = cli.main(
        ["render", str(template), str(tmp_path / "lp"), "--defaults", "--vcs-ref", "HEAD"]
    )
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"error: cannot clone {template}: " in err
    assert not list((tmp_path / "cache" / "git" / "drafts").iterdir())
    assert not (tmp_path / "lp").exists()
