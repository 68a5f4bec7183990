"""Templates from Git repositories on the command line (:mod:`launchpad_core.sources.repositories`),
against real Git: bare repositories served by ``git http-backend`` on loopback and
``file://`` addresses, compared with what the real ``copier copy`` writes.

The template repository's tags are v1.0.0, v1.10.0 and v1.2.0, committed in that
order (so PEP 440 order is not commit order nor name order), two commits follow
v1.2.0 on the default branch, and a branch ``next`` holds a pre-release tag.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from launchpad_core.cli import main as cli
from launchpad_core.sources.repositories import (
    git_url,
    list_versions,
    resolve_source,
    without_credentials,
)
from launchpad_core.testing import free_port

from .conftest import assert_same_tree, write_tree
from .git_http import GitHttpServer, serving

TAGS = ("v1.0.0", "v1.10.0", "v1.2.0")
COPIER_FILES = {
    "copier.yml": "project: demo\n",
    "{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml -}}\n",
    "ref.txt.jinja": "{{ project }} asked for {{ _copier_conf.vcs_ref }}\n",
    "bin/run.sh": ("#!/bin/sh\necho run\n", 0o755),
}
GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "Author", "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Author", "GIT_COMMITTER_EMAIL": "author@example.com",
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, env=GIT_ENV,
                          capture_output=True, text=True).stdout.strip()


def commit(root: Path, files: dict, message: str, tag: str | None = None) -> None:
    write_tree(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    if tag:
        git(root, "tag", tag)


def template_repository(root: Path, files: dict) -> Path:
    """A working repository with the tags and branches described in the module."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for tag in TAGS:
        commit(root, {**files, "VERSION": f"{tag}\n"}, tag, tag)
    commit(root, {"VERSION": "after v1.2.0\n"}, "after")
    commit(root, {"VERSION": "head\n"}, "head")
    git(root, "checkout", "-q", "-b", "next")
    commit(root, {"VERSION": "v2.0.0rc1\n"}, "pre-release", "v2.0.0rc1")
    git(root, "tag", "not-a-version")
    git(root, "checkout", "-q", "main")
    return root


def publish(working: Path, served: Path, name: str) -> Path:
    """A bare copy of ``working`` at ``served/name.git`` (what a forge holds)."""
    bare = served / f"{name}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(working), str(bare)], check=True,
                   env=GIT_ENV)
    return bare


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    monkeypatch.delenv("LAUNCHPAD_NO_CACHE", raising=False)
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def working(tmp_path: Path) -> Path:
    return template_repository(tmp_path / "work" / "tpl", COPIER_FILES)


@pytest.fixture
def server(tmp_path: Path, working: Path, monkeypatch: pytest.MonkeyPatch) -> GitHttpServer:
    publish(working, tmp_path / "served", "owner/tpl")
    with serving(tmp_path / "served") as running:
        monkeypatch.setenv("LAUNCHPAD_GH_URL", running.url)
        yield running


def launchpad(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def render(capsys: pytest.CaptureFixture[str], source: str, dest: Path, *options: str) -> Path:
    code, _out, err = launchpad(capsys, "render", source, str(dest), "--defaults", "-q", *options)
    assert code == 0, err
    return dest


def copier_copy(source: str, dest: Path, ref: str | None = None) -> Path:
    import copier

    copier.run_copy(source, dest, vcs_ref=ref, defaults=True, quiet=True)
    return dest


def answers(dest: Path) -> dict:
    return yaml.safe_load((dest / ".copier-answers.yml").read_text())


# -- addresses -------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "url"), [
    ("gh:owner/name", "https://github.com/owner/name.git"),
    ("gh:/owner/name.git", "https://github.com/owner/name.git"),
    ("gl:group/sub/name", "https://gitlab.com/group/sub/name.git"),
    ("https://github.com/owner/name", "https://github.com/owner/name.git"),
    ("git+https://example.com/owner/name", "https://example.com/owner/name"),
    ("http://example.com/owner/name.git", "http://example.com/owner/name.git"),
    ("git@github.com:owner/name.git", "git@github.com:owner/name.git"),
    ("git://example.com/name", "git://example.com/name"),
    ("file:///srv/name.git", "file:///srv/name.git"),
])
def test_addresses_are_expanded_as_copier_expands_them(spec, url):
    from copier._vcs import get_repo

    assert git_url(spec) == url
    assert get_repo(spec) in (url, None)  # Copier knows no ssh:// or plain file:// either


def test_shorthands_follow_the_configured_hosts_and_plain_folders_are_no_repository(tmp_path):
    assert git_url("gh:o/n", {"gh": "http://127.0.0.1:9/"}) == "http://127.0.0.1:9/o/n.git"
    assert git_url("gl:o/n", {"gh": "http://x"}) is None  # no such shorthand: a path
    assert git_url(str(tmp_path)) is None
    assert without_credentials("cannot clone https://me:tok3n@host/r.git: no") == (
        "cannot clone https://host/r.git: no")


# -- versions --------------------------------------------------------------------------------
def test_versions_are_in_pep440_order_with_their_commits(server, working, tmp_path):
    versions = list_versions("gh:owner/tpl", cache_dir=tmp_path / "cache",
                             hosts={"gh": server.url})
    assert [v.tag for v in versions] == ["v1.0.0", "v1.2.0", "v1.10.0"]
    assert [v.commit for v in versions] == [git(working, "rev-parse", t) for t in
                                            ("v1.0.0", "v1.2.0", "v1.10.0")]
    with_pre = list_versions("gh:owner/tpl", cache_dir=tmp_path / "cache",
                             hosts={"gh": server.url}, prereleases=True)
    assert [v.tag for v in with_pre][-2:] == ["v1.10.0", "v2.0.0rc1"]


def test_resolved_source_tells_the_commit_tag_and_describe(server, working, tmp_path):
    kwargs = {"cache_dir": tmp_path / "cache", "hosts": {"gh": server.url}}
    newest = resolve_source("gh:owner/tpl", **kwargs)
    assert (newest.tag, newest.describe, newest.ref) == ("v1.10.0", "v1.10.0", None)
    assert newest.commit == git(working, "rev-parse", "v1.10.0")
    assert newest.url == f"{server.url}/owner/tpl.git"
    assert (newest.path / "VERSION").read_text() == "v1.10.0\n"
    head = resolve_source("gh:owner/tpl", "HEAD", **kwargs)
    assert head.tag is None
    assert head.describe == git(working, "describe", "--tags", "--always", "main")
    assert head.describe.startswith("v1.2.0-2-g")
    by_hash = resolve_source("gh:owner/tpl", git(working, "rev-parse", "--short", "v1.0.0"),
                             **kwargs)
    assert (by_hash.describe, by_hash.tag) == ("v1.0.0", None)


# -- the command line, compared with copier copy ------------------------------------------------
@pytest.mark.parametrize("form", ["gh", "http", "git+http", "file", "working tree"])
def test_render_each_form_of_address_as_copier_copy(server, working, tmp_path, capsys, form):
    url = f"{server.url}/owner/tpl.git"
    source, copier_source = {
        "gh": ("gh:owner/tpl", url),
        "http": (url, url),
        "git+http": (f"git+{server.url}/owner/tpl", f"git+{server.url}/owner/tpl"),
        "file": (f"file://{tmp_path}/served/owner/tpl.git",) * 2,
        "working tree": (str(working),) * 2,
    }[form]
    ours = render(capsys, source, tmp_path / "lp")
    theirs = copier_copy(copier_source, tmp_path / "copier")
    if source != copier_source:  # Copier cannot reach gh: here: only _src_path differs
        text = (theirs / ".copier-answers.yml").read_text()
        (theirs / ".copier-answers.yml").write_text(text.replace(copier_source, source))
    assert_same_tree(theirs, ours)
    assert answers(ours) == {"_commit": "v1.10.0", "_src_path": source, "project": "demo"}
    assert (ours / "bin" / "run.sh").stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize("ref", ["v1.2.0", "HEAD", "main", "next", "commit"])
def test_render_at_a_ref_as_copier_copy(server, working, tmp_path, capsys, ref):
    if ref == "commit":
        ref = git(working, "rev-parse", "--short", "v1.0.0")
    url = f"{server.url}/owner/tpl.git"
    ours = render(capsys, url, tmp_path / "lp", "--vcs-ref", ref)
    theirs = copier_copy(url, tmp_path / "copier", ref)
    assert_same_tree(theirs, ours)
    assert answers(ours)["_commit"] == git(working, "describe", "--tags", "--always", ref)
    assert (ours / "ref.txt").read_text() == f"demo asked for {ref}\n"


def test_a_local_working_tree_at_head_includes_its_edits_as_copier_does(working, tmp_path,
                                                                        capsys):
    (working / "ref.txt.jinja").write_text("edited, not committed\n")
    ours = render(capsys, str(working), tmp_path / "lp", "--vcs-ref", "HEAD")
    copier_copy(str(working), tmp_path / "copier", "HEAD")
    assert (ours / "ref.txt").read_text() == "edited, not committed\n"
    assert (tmp_path / "copier" / "ref.txt").read_text() == "edited, not committed\n"
    newest = render(capsys, str(working), tmp_path / "newest")  # the tag: no edits
    assert (newest / "ref.txt").read_text() == "demo asked for None\n"


def test_cookiecutter_template_from_a_repository_as_cookiecutter(tmp_path, capsys, monkeypatch):
    files = {
        "cookiecutter.json": json.dumps({"project": "demo"}),
        "{{ cookiecutter.project }}/info.txt":
            "{{ cookiecutter._template }} at {{ cookiecutter._checkout }}\n",
    }
    working = template_repository(tmp_path / "work" / "cc", files)
    publish(working, tmp_path / "served", "owner/cc")
    with serving(tmp_path / "served") as running:
        monkeypatch.setenv("LAUNCHPAD_GH_URL", running.url)
        ours = render(capsys, "gh:owner/cc", tmp_path / "lp", "--vcs-ref", "v1.2.0")
        url = f"{running.url}/owner/cc.git"
        theirs = run_cookiecutter_at(url, tmp_path / "cc-out", "v1.2.0")
    (theirs / "demo" / "info.txt").write_text(
        (theirs / "demo" / "info.txt").read_text().replace(url, "gh:owner/cc"))
    assert_same_tree(theirs, ours)
    assert (ours / "demo" / "info.txt").read_text() == "gh:owner/cc at v1.2.0\n"


def run_cookiecutter_at(url: str, out: Path, checkout: str) -> Path:
    from cookiecutter.main import cookiecutter

    config = out.parent / "cookiecutter-config.json"
    config.write_text(json.dumps({"cookiecutters_dir": str(out.parent / "cookiecutters"),
                                  "replay_dir": str(out.parent / "replay")}))
    out.mkdir(parents=True)
    cookiecutter(url, checkout=checkout, no_input=True, output_dir=str(out),
                 config_file=str(config), accept_hooks=False)
    return out


def test_validate_and_import_take_repositories(server, tmp_path, capsys):
    code, out, err = launchpad(capsys, "validate", "gh:owner/tpl", "--vcs-ref", "v1.0.0")
    assert (code, err) == (0, "")
    assert out.startswith("gh:owner/tpl: valid (")
    output = tmp_path / "tpl.json"
    code, out, err = launchpad(capsys, "import", "copier", "gh:owner/tpl", "-o", str(output))
    assert code == 0, err
    definition = json.loads(output.read_text())
    assert definition["settings"]["origin"]["commit"] == "v1.10.0"
    assert str(tmp_path / "cache") not in output.read_text()


# -- the cache ---------------------------------------------------------------------------------
def test_a_held_tag_is_used_without_the_network_and_a_new_one_is_fetched(
        server, working, tmp_path, capsys):
    render(capsys, "gh:owner/tpl", tmp_path / "one", "--vcs-ref", "v1.2.0")
    asked = len(server.requests)
    assert asked > 0
    render(capsys, "gh:owner/tpl", tmp_path / "two", "--vcs-ref", "v1.2.0")
    assert len(server.requests) == asked  # from the cache, not a single request
    assert len(list((tmp_path / "cache" / "git").glob("*.git"))) == 1

    commit(working, {"VERSION": "v1.3.0\n"}, "v1.3.0", "v1.3.0")
    git(working, "push", "-q", str(tmp_path / "served" / "owner" / "tpl.git"), "main", "v1.3.0")
    three = render(capsys, "gh:owner/tpl", tmp_path / "three", "--vcs-ref", "v1.3.0")
    assert len(server.requests) > asked
    assert answers(three)["_commit"] == "v1.3.0"
    assert answers(render(capsys, "gh:owner/tpl", tmp_path / "four"))["_commit"] == "v1.10.0"


def test_an_unreachable_repository_held_in_the_cache_renders_with_a_warning(
        tmp_path, working, capsys, monkeypatch):
    publish(working, tmp_path / "served", "owner/tpl")
    with serving(tmp_path / "served") as running:
        monkeypatch.setenv("LAUNCHPAD_GH_URL", running.url)
        render(capsys, "gh:owner/tpl", tmp_path / "one")
    code, _out, err = launchpad(capsys, "render", "gh:owner/tpl", str(tmp_path / "two"),
                                "--defaults", "-q")
    assert code == 0
    assert err.startswith(f"launchpad: warning: cannot fetch {running.url}/owner/tpl.git: ")
    assert err.endswith("using the copy cached earlier\n") and err.count("\n") == 1
    assert answers(tmp_path / "two")["_commit"] == "v1.10.0"


def test_without_a_cache_the_clone_is_removed_after_the_command(server, tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setenv("LAUNCHPAD_NO_CACHE", "1")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert answers(render(capsys, "gh:owner/tpl", tmp_path / "lp"))["_commit"] == "v1.10.0"
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "cache").exists()


# -- errors: one line, non-zero, nothing half-written ---------------------------------------------
def assert_one_line(code: int, err: str, *parts: str) -> None:
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("launchpad: error: ")
    for part in parts:
        assert part in err


def assert_no_half_cache(cache: Path) -> None:
    leftovers = [p.name for p in (cache / "git").rglob("*") if p.name.startswith(".staging-")]
    assert leftovers == []
    assert list((cache / "git").glob("*.git")) == []


def test_an_unknown_ref_is_one_line(server, tmp_path, capsys):
    code, _out, err = launchpad(capsys, "render", "gh:owner/tpl", str(tmp_path / "lp"),
                                "--defaults", "--vcs-ref", "v9.9.9")
    assert_one_line(code, err, "gh:owner/tpl has no branch, tag or commit 'v9.9.9'")
    assert not (tmp_path / "lp").exists()


def test_an_unreachable_host_is_one_line_and_leaves_no_half_cache(tmp_path, capsys,
                                                                  monkeypatch):
    port = free_port()
    monkeypatch.setenv("LAUNCHPAD_GH_URL", f"http://127.0.0.1:{port}")
    code, _out, err = launchpad(capsys, "render", "gh:owner/tpl", str(tmp_path / "lp"),
                                "--defaults")
    assert_one_line(code, err, f"cannot clone http://127.0.0.1:{port}/owner/tpl.git: ")
    assert_no_half_cache(tmp_path / "cache")


def test_a_missing_repository_is_one_line_and_leaves_no_half_cache(server, tmp_path, capsys):
    code, _out, err = launchpad(capsys, "validate", "gh:owner/missing")
    assert_one_line(code, err, f"cannot clone {server.url}/owner/missing.git: ")
    assert_no_half_cache(tmp_path / "cache")


def test_a_repository_that_holds_no_template_is_one_line_naming_it(tmp_path, capsys,
                                                                   monkeypatch):
    working = tmp_path / "work" / "notes"
    working.mkdir(parents=True)
    git(working, "init", "-q")
    commit(working, {"README.md": "no template here\n"}, "notes", "v1.0.0")
    publish(working, tmp_path / "served", "owner/notes")
    with serving(tmp_path / "served") as running:
        monkeypatch.setenv("LAUNCHPAD_GH_URL", running.url)
        code, _out, err = launchpad(capsys, "render", "gh:owner/notes",
                                    str(tmp_path / "lp"), "--defaults")
    assert_one_line(code, err, "gh:owner/notes has no launchpad.yml")
    assert str(tmp_path / "cache") not in err


def test_a_ref_for_a_folder_that_is_no_repository_is_one_line(tmp_path, capsys):
    folder = write_tree(tmp_path / "plain", COPIER_FILES)
    code, _out, err = launchpad(capsys, "render", str(folder), str(tmp_path / "lp"),
                                "--defaults", "--vcs-ref", "v1.0.0")
    assert_one_line(code, err, "is not a Git repository, so it has no ref 'v1.0.0'")


def test_a_ref_the_cache_lacks_while_the_repository_is_unreachable_says_so(
        tmp_path, working, capsys, monkeypatch):
    publish(working, tmp_path / "served", "owner/tpl")
    with serving(tmp_path / "served") as running:
        monkeypatch.setenv("LAUNCHPAD_GH_URL", running.url)
        render(capsys, "gh:owner/tpl", tmp_path / "one")
    code, _out, err = launchpad(capsys, "render", "gh:owner/tpl", str(tmp_path / "two"),
                                "--defaults", "--vcs-ref", "v7.0.0")
    assert_one_line(code, err, f"cannot fetch {running.url}/owner/tpl.git: ")
    assert "no branch, tag or commit" not in err


def test_a_missing_local_repository_says_why(tmp_path, capsys):
    code, _out, err = launchpad(capsys, "render", f"file://{tmp_path}/nowhere.git",
                                str(tmp_path / "lp"), "--defaults")
    assert_one_line(code, err, f"'{tmp_path}/nowhere.git' does not appear to be a git repository")
    assert_no_half_cache(tmp_path / "cache")


def test_render_over_the_git_protocol_as_copier_copy(tmp_path, working, capsys):
    """``git://`` served by ``git daemon`` on loopback."""
    import time

    publish(working, tmp_path / "served", "owner/tpl")
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}",
         f"--base-path={tmp_path / 'served'}", str(tmp_path / "served")],
        env=GIT_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(100):  # until it listens
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        url = f"git://127.0.0.1:{port}/owner/tpl.git"
        ours = render(capsys, url, tmp_path / "lp", "--vcs-ref", "main")
        theirs = copier_copy(url, tmp_path / "copier", "main")
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
    assert_same_tree(theirs, ours)
    assert answers(ours)["_commit"].startswith("v1.2.0-2-g")
