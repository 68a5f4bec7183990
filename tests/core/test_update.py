"""``launchpad update`` and ``launchpad check`` on projects made by ``launchpad render``
from a LaunchPad template directory kept in Git with version tags."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from launchpad_core.cli import main as cli
from launchpad_core.model.output import RenderedFile
from launchpad_core.sources.repositories import list_versions, resolve_source
from launchpad_core.update.merging import renames

from .update_fixtures import GIT_ENV, committed, git, tagged_template, without_git

LINES = "".join(f"line {n}\n" for n in range(1, 21))
DEFINITION = """\
name: demo
version: "{version}"
variables:
  - name: name
    default: demo
{extra}settings:
  answers_file: .launchpad-answers.yml
"""


def definition(version: str, extra: str = "") -> str:
    return DEFINITION.format(version=version, extra=extra)


V1 = {
    "launchpad.yml": definition("1.0"),
    "README.md": "# {{ name }}\n\n" + LINES,
    "notes.txt": LINES,
    "gone.txt": "removed in v2\n",
}
V2 = {
    "launchpad.yml": definition("2.0", "  - name: licence\n    default: MIT\n"),
    "README.md": "# {{ name }}\n\n" + LINES.replace("line 15\n", "line 15 (v2)\n"),
    "notes.txt": LINES.replace("line 3\n", "line 3 (v2)\n"),
    "LICENSE": "{{ licence }}\n",
}
V3 = {**V2, "launchpad.yml": definition("3.0", "  - name: licence\n    default: MIT\n"),
      "extra.txt": "new in v3\n"}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return tagged_template(tmp_path / "tpl", [V1, V2, V3])


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    """Rendered from v1 by ``launchpad render`` (the template checked out at v1), committed."""
    git(template, "checkout", "-q", "v1")
    dest = tmp_path / "project"
    assert cli.main(["render", str(template), str(dest), "-d", "name=rocket", "-q"]) == 0
    git(template, "checkout", "-q", "main")
    return committed(dest)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".launchpad-answers.yml").read_text())


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}


def test_render_records_the_template_and_its_version(project, template):
    assert answers(project) == {"_template": "demo", "_version": "1.0",
                                "_src_path": str(template.resolve()), "_commit": "v1",
                                "name": "rocket"}


def test_check_says_how_far_behind(project, capsys):
    code, out, _ = run(capsys, "check", str(project))
    assert (code, out) == (1, f"{project}: at v1, 2 version(s) behind (latest v3: v2, v3)\n")
    code, out, _ = run(capsys, "check", str(project), "--json")
    assert code == 1
    assert json.loads(out) == {"current": "v1", "latest": "v3", "behind": 2,
                               "newer": ["v2", "v3"]}


def test_update_merges_both_sides_and_records_the_new_version(project, capsys):
    (project / "notes.txt").write_text(LINES.replace("line 18\n", "line 18 (mine)\n"))
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("line 15\n", "line 15 (mine)\n"))
    committed(project)
    code, _, err = run(capsys, "update", str(project), "--to", "v2", "--defaults")
    assert code == 0
    notes = (project / "notes.txt").read_text()
    assert "line 3 (v2)\n" in notes and "line 18 (mine)\n" in notes
    assert (project / "README.md").read_text() == (
        "# rocket\n\n" + LINES.replace("line 15\n", "<<<<<<< before updating\nline 15 (mine)\n"
                                       "=======\nline 15 (v2)\n>>>>>>> after updating\n"))
    assert not (project / "gone.txt").exists()
    assert (project / "LICENSE").read_text() == "MIT\n"
    recorded = answers(project)
    assert (recorded["_commit"], recorded["_version"], recorded["licence"]) == ("v2", "2.0", "MIT")
    assert "conflict: README.md" in err
    committed(project)
    code, out, _ = run(capsys, "check", str(project))
    assert (code, out) == (1, f"{project}: at v2, 1 version(s) behind (latest v3: v3)\n")


def test_update_goes_to_the_latest_version_and_takes_new_answers(project, capsys):
    code, _, _ = run(capsys, "update", str(project), "-d", "licence=ISC", "--defaults")
    assert code == 0
    assert (project / "extra.txt").read_text() == "new in v3\n"
    assert (project / "LICENSE").read_text() == "ISC\n"
    assert answers(project)["_commit"] == "v3"
    committed(project)
    assert run(capsys, "check", str(project))[:2] == (0, f"{project}: up to date (v3)\n")


def test_dry_run_prints_the_diff_and_changes_nothing(project, capsys):
    before = snapshot(project)
    code, out, err = run(capsys, "update", str(project), "--to", "v2", "--dry-run", "--defaults")
    assert code == 0
    assert "--- a/notes.txt\n+++ b/notes.txt\n" in out and "+line 3 (v2)\n" in out
    assert "--- a/gone.txt\n+++ /dev/null\n" in out
    assert "--- /dev/null\n+++ b/LICENSE\n" in out
    assert err.startswith(f"Would update {project} from v1 to v2")
    assert snapshot(project) == before


def test_conflicts_as_rej_files(project, capsys):
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("line 15\n", "mine\n").replace(
        "line 1\n", "line 1 (mine)\n"))
    committed(project)
    code, _, err = run(capsys, "update", str(project), "--to", "v2", "--conflict", "rej",
                       "--defaults")
    assert code == 0
    assert readme.read_text() == "# rocket\n\n" + LINES.replace(
        "line 15\n", "line 15 (v2)\n").replace("line 1\n", "line 1 (mine)\n")
    assert (project / "README.md.rej").read_text() == (
        "diff a/README.md b/README.md\t(rejected hunks)\n@@ -14,7 +14,7 @@ line 11\n"
        " line 12\n line 13\n line 14\n-line 15\n+mine\n line 16\n line 17\n line 18\n")
    assert "conflict: README.md" in err


def test_a_dirty_work_tree_is_refused_unless_forced(project, capsys):
    (project / "notes.txt").write_text("uncommitted\n")
    before = snapshot(project)
    code, out, err = run(capsys, "update", str(project), "--defaults")
    assert (code, out) == (1, "")
    assert err == (f"launchpad: error: {project} has uncommitted changes: commit or stash "
                   "them, or add --force\n")
    assert snapshot(project) == before
    assert run(capsys, "update", str(project), "--defaults", "--force")[0] == 0
    assert (project / "notes.txt").read_text().startswith("<<<<<<< before updating\n")


def test_a_failure_while_swapping_files_in_leaves_the_project_as_it_was(
        project, capsys, monkeypatch):
    before = snapshot(project)
    real_rename, calls = os.rename, []

    def failing_rename(src, dst):
        calls.append(dst)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    code, _, err = run(capsys, "update", str(project), "--defaults")
    monkeypatch.undo()
    assert code == 1
    assert err.startswith(f"launchpad: error: could not update {project}: ")
    assert len(err.splitlines()) == 1
    assert snapshot(project) == before
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".launchpad-")) == [
        ".launchpad-answers.yml"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--to", "v9"], "the template {tpl} has no version 'v9'"),
        (["-d", "colour=red"], "the template has no question 'colour'"),
        (["--answers-file", "nope.yml"], "{project} has no answers file (nope.yml)"),
    ],
)
def test_update_errors_are_one_line(project, template, capsys, argv, message):
    before = snapshot(project)
    code, _, err = run(capsys, "update", str(project), "--defaults", *argv)
    assert code == 1
    assert err == "launchpad: error: " + message.format(tpl=template, project=project) + "\n"
    assert snapshot(project) == before


def test_a_template_that_is_no_git_repository(project, template, capsys):
    (template / ".git").rename(template / "git-moved")
    for command in (["update", "--defaults"], ["check"]):
        code, _, err = run(capsys, command[0], str(project), *command[1:])
        assert code == (1 if command[0] == "update" else 2)
        assert err == f"launchpad: error: the template {template} is not a Git repository\n"


def test_a_template_that_is_not_there(project, template, capsys):
    template.rename(template.with_name("moved"))
    code, _, err = run(capsys, "update", str(project), "--defaults")
    assert (code, err) == (1, f"launchpad: error: the template {template} is not found\n")


def test_check_errors_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, out, err = run(capsys, "check", str(tmp_path / "empty"))
    assert (code, out) == (2, "")
    assert err == (f"launchpad: error: {tmp_path / 'empty'} has no answers file "
                   "(.launchpad-answers.yml, .copier-answers.yml)\n")


def test_versions_are_tags_in_pep_440_order(tmp_path):
    repo = tagged_template(tmp_path / "repo", [{"a": "1"}])
    head = git(repo, "rev-parse", "HEAD").strip()
    for tag in ("v10", "v2", "1.5", "not-a-version", "v3rc1", "v2.0.1"):
        git(repo, "tag", "-a", "-m", tag, tag) if tag == "v10" else git(repo, "tag", tag)
    versions = list_versions(str(repo), cache_dir=tmp_path / "cache")
    assert [v.tag for v in versions] == ["v1", "1.5", "v2", "v2.0.1", "v10"]
    assert {v.commit for v in versions} == {head}
    with_pre = list_versions(str(repo), cache_dir=tmp_path / "cache", prereleases=True)
    assert "v3rc1" in [v.tag for v in with_pre]


def test_a_version_is_checked_out_in_the_cache(template, tmp_path):
    resolved = resolve_source(str(template), "v1", cache_dir=tmp_path / "cache")
    assert resolved.path.is_relative_to(tmp_path / "cache")
    assert (resolved.path / "gone.txt").read_text() == "removed in v2\n"
    assert git(resolved.path, "describe", "--tags").strip() == resolved.describe == "v1"
    assert set(snapshot(without_git(resolved.path))) == set(V1)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_only_the_new_question_is_asked_on_a_terminal(project, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Terminal("Apache-2.0\n"))
    code = cli.main(["update", str(project), "--to", "v2"])
    prompts = capsys.readouterr().out  # input() writes its prompt there
    assert code == 0
    assert (project / "LICENSE").read_text() == "Apache-2.0\n"
    assert prompts == "licence [MIT]: "


SECRET_DEFINITION = definition("1.0", "  - name: token\n    secret: true\n")


def test_a_secret_is_not_recorded_and_is_given_again(tmp_path, capsys):
    versions = [{"launchpad.yml": SECRET_DEFINITION, "config.txt": "token={{ token }}\n",
                 "notes.txt": "v1\n"},
                {"launchpad.yml": SECRET_DEFINITION, "config.txt": "token={{ token }}\n",
                 "notes.txt": "v2\n"}]
    template = tagged_template(tmp_path / "tpl", versions)
    git(template, "checkout", "-q", "v1")
    project = tmp_path / "project"
    assert run(capsys, "render", str(template), str(project), "-d", "token=s3cret",
               "--defaults", "-q")[0] == 0
    git(template, "checkout", "-q", "main")
    committed(project)
    assert "token" not in answers(project)
    code, _, err = run(capsys, "update", str(project), "--defaults")
    assert code == 1
    assert err == ("launchpad: The answers are not valid.\n"
                   "  $.token: an answer is required (no default)\n")
    assert run(capsys, "update", str(project), "--defaults", "-d", "token=s3cret")[0] == 0
    assert (project / "config.txt").read_text() == "token=s3cret\n"
    assert (project / "notes.txt").read_text() == "v2\n"
    assert "token" not in answers(project)


def test_an_answers_file_without_a_version(project, capsys):
    path = project / ".launchpad-answers.yml"
    path.write_text(path.read_text().replace("_commit: v1\n", ""))
    committed(project)
    for command, status in (("update", 1), ("check", 2)):
        code, _, err = run(capsys, command, str(project))
        assert (code, err) == (status, "launchpad: error: .launchpad-answers.yml records no "
                                       "template version (_commit)\n")


def test_check_of_a_copier_project_a_commit_past_its_tag(project, template, capsys):
    path = project / ".launchpad-answers.yml"
    git(template, "checkout", "-q", "-b", "maintenance", "v2")
    (template / "notes.txt").write_text("between v2 and v3\n")
    git(template, "commit", "-qam", "between")
    between = git(template, "describe", "--tags").strip()
    git(template, "checkout", "-q", "main")
    path.write_text(path.read_text().replace("_commit: v1", f"_commit: {between}")
                    .replace("_template: demo\n", ""))
    path.rename(project / ".copier-answers.yml")
    code, out, _ = run(capsys, "check", str(project))
    assert (code, out) == (1, f"{project}: at {between}, 1 version(s) behind (latest v3: v3)\n")


def test_renames_pair_moved_files_by_name_then_by_content(tmp_path):
    old = {f"old/m{i}.py": RenderedFile(f"old/m{i}.py", f"# module {i}\n".encode() + LINES.encode())
           for i in range(300)}
    new = {f"new/m{i}.py": RenderedFile(f"new/m{i}.py", f"# module {i}\n".encode() + LINES.encode())
           for i in range(300)}
    old["a.txt"] = RenderedFile("a.txt", LINES.encode())
    new["b.txt"] = RenderedFile("b.txt", LINES.replace("line 3\n", "").encode())
    old["gone.txt"] = RenderedFile("gone.txt", b"nothing alike\n")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "m7.py").write_text("the person's own file\n")
    found = renames(tmp_path, old, new)
    assert found == {**{f"old/m{i}.py": f"new/m{i}.py" for i in range(300) if i != 7},
                     "a.txt": "b.txt"}
