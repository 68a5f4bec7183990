"""``launchpad update`` leaves a Copier project as ``copier update`` does, byte for byte.

A Copier template with two tagged versions covers the cases of Copier's own update
tests: changed, removed and renamed files, a new question, edits on both sides
(merged, and conflicting with markers), ``_skip_if_exists`` and ``_exclude``. Each
project is copied, one copy updated by Copier, the other by LaunchPad; the trees
(less ``.git``) must be identical. Where LaunchPad chooses otherwise (a removed or
renamed file the person edited), the test says what each does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from launchpad_core.cli import main as cli

from .update_fixtures import (
    GIT_ENV,
    assert_same_project,
    committed,
    copier_project,
    copier_update,
    git,
    launchpad_update,
    tagged_template,
    twins,
)

EXCLUDE = '_exclude: [copier.yml, "*.bak", ".git", "{{ drop }}"]\n'
ANSWERS = "{{ _copier_conf.answers_file }}.jinja"
ANSWERS_BODY = "# Changes here will be overwritten by Copier\n{{ _copier_answers|to_nice_yaml -}}\n"
LINES = "".join(f"line {n}\n" for n in range(1, 21))

V1 = {
    "copier.yml": "_skip_if_exists: [keep.txt]\n" + EXCLUDE
    + "name:\n  type: str\n  default: demo\ndrop:\n  type: str\n  default: ''\n",
    ANSWERS: ANSWERS_BODY,
    "README.md.jinja": "# {{ name }}\n\n" + LINES,
    "changed.txt": "first\n",
    "removed.txt": "going away\n",
    "old_name.txt": "a file that moves\n" + LINES,
    "both.txt": LINES,
    "clash.txt": LINES,
    "keep.txt": "template keep v1\n",
    "deleted_by_me.txt": "v1\n",
    "excluded_later.txt": "rendered by v1\n",
    "src/{{ name }}/mod.py.jinja": "NAME = '{{ name }}'\n",
    "bin/run.sh": ("#!/bin/sh\necho v1\n", 0o755),
}
V2 = {
    **{k: v for k, v in V1.items() if k not in ("removed.txt", "old_name.txt")},
    "copier.yml": "_skip_if_exists: [keep.txt]\n"
    + EXCLUDE.replace("]", ", excluded_later.txt]")
    + "name:\n  type: str\n  default: demo\ndrop:\n  type: str\n  default: ''\n"
    + "license:\n  type: str\n  default: MIT\n",
    "LICENSE.jinja": "{{ license }} licence for {{ name }}\n",
    "changed.txt": "second\n",
    "new_name.txt": "a file that moves\n" + LINES,
    "both.txt": LINES.replace("line 18\n", "line 18 (template)\n"),
    "clash.txt": LINES.replace("line 5\n", "line 5 (template)\n"),
    "keep.txt": "template keep v2\n",
    "deleted_by_me.txt": "v2\n",
    "notes.bak": "never written\n",
    "excluded_later.txt": "rendered by v2\n",
    "src/{{ name }}/mod.py.jinja": "NAME = '{{ name }}'\nVERSION = 2\n",
    "bin/run.sh": ("#!/bin/sh\necho v2\n", 0o755),
}


def my_edits(project: Path) -> None:
    """Edits on the person's side."""
    (project / "both.txt").write_text(LINES.replace("line 2\n", "line 2 (mine)\n"))
    (project / "clash.txt").write_text(LINES.replace("line 5\n", "line 5 (mine)\n"))
    (project / "keep.txt").write_text("my keep\n")
    (project / "deleted_by_me.txt").unlink()
    (project / "mine_only.txt").write_text("nobody else's\n")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "my notes\n")


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return tagged_template(tmp_path / "tpl", [V1, V2])


def both_updated(template: Path, tmp_path: Path, *lp_args: str,
                 data: dict | None = None, edit=my_edits, conflict: str = "inline"):
    project = copier_project(template, tmp_path / "project", {"name": "demo"}, edit)
    by_copier, by_lp = twins(project)
    copier_update(by_copier, "v2", data, conflict=conflict)
    assert launchpad_update(by_lp, "--to", "v2", *lp_args) == 0
    return by_copier, by_lp


def test_the_update_is_copiers_on_every_kind_of_change(template, tmp_path, capsys):
    by_copier, by_lp = both_updated(template, tmp_path)
    assert_same_project(by_copier, by_lp)
    clash = (by_lp / "clash.txt").read_text()
    assert "<<<<<<< before updating\nline 5 (mine)\n=======\nline 5 (template)\n" in clash
    assert ">>>>>>> after updating\n" in clash
    both = (by_lp / "both.txt").read_text()
    assert "line 2 (mine)" in both and "line 18 (template)" in both
    assert (by_lp / "LICENSE").read_text() == "MIT licence for demo\n"
    assert (by_lp / "keep.txt").read_text() == "my keep\n"
    assert not (by_lp / "removed.txt").exists() and not (by_lp / "old_name.txt").exists()
    assert not (by_lp / "deleted_by_me.txt").exists() and not (by_lp / "notes.bak").exists()
    assert (by_lp / "excluded_later.txt").read_text() == "rendered by v1\n"
    assert "_commit: v2" in (by_lp / ".copier-answers.yml").read_text()
    assert "conflict: clash.txt" in capsys.readouterr().err


def test_an_answer_to_the_new_question(template, tmp_path):
    by_copier, by_lp = both_updated(template, tmp_path, "-d", "license=BSD",
                                    data={"license": "BSD"})
    assert_same_project(by_copier, by_lp)
    assert (by_lp / "LICENSE").read_text() == "BSD licence for demo\n"


def test_a_project_nobody_edited(template, tmp_path):
    by_copier, by_lp = both_updated(template, tmp_path, edit=lambda project: None)
    assert_same_project(by_copier, by_lp)


def test_a_deleted_skip_if_exists_file_is_made_again(template, tmp_path):
    def delete_keep(project: Path) -> None:
        (project / "keep.txt").unlink()

    by_copier, by_lp = both_updated(template, tmp_path, edit=delete_keep)
    assert_same_project(by_copier, by_lp)
    assert (by_lp / "keep.txt").read_text() == "template keep v2\n"


def test_edits_to_a_removed_or_renamed_file_are_kept_where_copier_drops_them(template, tmp_path):
    def edit_leaving_files(project: Path) -> None:
        (project / "removed.txt").write_text("going away, but I wrote here\n")
        moved = project / "old_name.txt"
        moved.write_text(moved.read_text().replace("line 20\n", "line 20 (mine)\n"))

    by_copier, by_lp = both_updated(template, tmp_path, edit=edit_leaving_files)
    assert not (by_copier / "removed.txt").exists()  # Copier removes it, edits and all
    assert (by_lp / "removed.txt").read_text() == "going away, but I wrote here\n"
    assert "line 20 (mine)" not in (by_copier / "new_name.txt").read_text()
    assert "line 20 (mine)\n" in (by_lp / "new_name.txt").read_text()
    assert not (by_lp / "old_name.txt").exists()


def test_a_copier_project_made_by_launchpad_render(template, tmp_path):
    """``launchpad render`` of the Copier template writes Copier's answers file, so
    either tool can update the project, to the same tree."""
    git(template, "checkout", "-q", "v1")
    project = tmp_path / "project"
    assert cli.main(["render", str(template), str(project), "--defaults", "-q"]) == 0
    git(template, "checkout", "-q", "main")
    committed(project)
    my_edits(project)
    by_copier, by_lp = twins(committed(project))
    copier_update(by_copier, "v2")
    assert launchpad_update(by_lp, "--to", "v2") == 0
    assert_same_project(by_copier, by_lp)


def test_a_file_both_sides_added_and_an_edit_both_sides_made(template, tmp_path):
    def same_edit_and_own_licence(project: Path) -> None:
        my_edits(project)
        (project / "changed.txt").write_text("second\n")  # the template's very edit
        (project / "LICENSE").write_text("my own licence\n")

    by_copier, by_lp = both_updated(template, tmp_path, edit=same_edit_and_own_licence)
    assert_same_project(by_copier, by_lp)
    assert (by_lp / "changed.txt").read_text() == "second\n"
    assert (by_lp / "LICENSE").read_text() == (
        "<<<<<<< before updating\nmy own licence\n=======\nMIT licence for demo\n"
        ">>>>>>> after updating\n")


def test_conflicts_as_rej_files_are_copiers(template, tmp_path):
    by_copier, by_lp = both_updated(template, tmp_path, "--conflict", "rej", conflict="rej")
    assert_same_project(by_copier, by_lp)
    assert (by_lp / "clash.txt").read_text() == V2["clash.txt"]
    rejected = (by_lp / "clash.txt.rej").read_text()
    assert rejected.startswith("diff a/clash.txt b/clash.txt\t(rejected hunks)\n@@ -2,7 +2,7 @@")
    assert "-line 5\n+line 5 (mine)\n" in rejected


def test_a_changed_answer_moves_the_files_it_names(template, tmp_path):
    by_copier, by_lp = both_updated(template, tmp_path, "-d", "name=renamed",
                                    data={"name": "renamed"})
    assert_same_project(by_copier, by_lp)
    assert (by_lp / "src" / "renamed" / "mod.py").read_text() == "NAME = 'renamed'\nVERSION = 2\n"
    assert not (by_lp / "src" / "demo").exists()
