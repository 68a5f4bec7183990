"""``--skip-tasks`` (Copier's name) and ``--accept-hooks no`` (Cookiecutter's): a
template with tasks or hooks renders without them and without ``--trust``, as
``copier copy --skip-tasks`` and ``cookiecutter --accept-hooks no`` render it,
and the skip is stated on stderr and in the imported definition."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from launchpad_core.cli import main as cli
from launchpad_core.errors import UntrustedCodeError
from launchpad_core.importers.importing import import_template

from .conftest import assert_same_tree, run_cookiecutter, write_tree
from .test_trust import COPIER_WITH_TASKS, cookiecutter_with_hooks


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAUNCHPAD_NO_CACHE", raising=False)


def run_copier_skipping(src: Path, dst: Path) -> Path:
    import copier

    copier.run_copy(str(src), dst, defaults=True, skip_tasks=True, quiet=True, overwrite=True)
    return dst


def test_copier_template_with_tasks_renders_like_copier_skip_tasks(tmp_path, capsys):
    src = write_tree(tmp_path / "tpl", COPIER_WITH_TASKS)
    expected = run_copier_skipping(src, tmp_path / "copier")
    assert cli.main(["render", str(src), str(tmp_path / "lp"), "--defaults", "--skip-tasks"]) == 0
    assert_same_tree(expected, tmp_path / "lp")
    assert not (tmp_path / "lp" / "from-task.txt").exists()
    err = capsys.readouterr().err
    assert "skipped 4 tasks (--skip-tasks): echo '{{ project_name }}' > from-task.txt;" in err


@pytest.mark.parametrize("switch", [["--accept-hooks", "no"], ["--skip-tasks"]])
@pytest.mark.parametrize("pre_prompt", [False, True])
def test_cookiecutter_hooks_are_skipped_like_accept_hooks_no(tmp_path, capsys, switch, pre_prompt):
    src = write_tree(tmp_path / "tpl", cookiecutter_with_hooks(pre_prompt=pre_prompt))
    expected = run_cookiecutter(src, tmp_path / "cc", {}, accept_hooks=False)
    argv = ["render", str(src), str(tmp_path / "lp"), "--defaults", *switch]
    assert cli.main(argv) == 0
    assert_same_tree(expected, tmp_path / "lp")
    err = capsys.readouterr().err
    hooks = ["hooks/pre_gen_project.py", "hooks/post_gen_project.py"]
    if pre_prompt:
        hooks.insert(0, "hooks/pre_prompt.py")
    assert f"(--skip-tasks): {'; '.join(hooks)}\n" in err


def test_without_the_switch_the_template_is_still_refused(tmp_path, capsys):
    src = write_tree(tmp_path / "tpl", cookiecutter_with_hooks())
    assert cli.main(["render", str(src), str(tmp_path / "lp"), "--defaults"]) == 1
    assert "refused unless it is trusted" in capsys.readouterr().err
    assert cli.main(["render", str(src), str(tmp_path / "lp"), "--accept-hooks", "yes"]) == 1


def test_the_imported_definition_records_the_skip(lp, tmp_path, capsys):
    src = write_tree(tmp_path / "tpl", cookiecutter_with_hooks(pre_prompt=True))
    out = tmp_path / "def.yml"
    assert cli.main(["import", "cookiecutter", str(src), "-o", str(out), "--skip-tasks"]) == 0
    assert "skipped 3 tasks" in capsys.readouterr().err
    definition = yaml.safe_load(out.read_text())
    assert definition["settings"]["origin"]["skipped_tasks"] == [
        "hooks/pre_prompt.py", "hooks/pre_gen_project.py", "hooks/post_gen_project.py",
    ]
    assert "tasks" not in definition["settings"]
    assert [f["path"] for f in definition["settings"].get("code_files", [])] == []
    # The definition renders untrusted, and validate states the skip again.
    assert cli.main(["validate", str(out)]) == 0
    assert "skipped 3 tasks" in capsys.readouterr().err


def test_skipping_keeps_jinja_extensions_refused(lp, tmp_path):
    """Copier's --skip-tasks leaves extensions unsafe: they still need trust."""
    src = write_tree(
        tmp_path / "tpl",
        {**COPIER_WITH_TASKS, "copier.yml": "_jinja_extensions: [jinja2.ext.do]\n"
         + COPIER_WITH_TASKS["copier.yml"]},
    )
    template = import_template(src, skip_tasks=True, launchpad=lp)
    assert template.settings.tasks == ()
    with pytest.raises(UntrustedCodeError, match="jinja_extensions"):
        lp.render(template, lp.resolve_answers(template, {}))


def test_trusted_and_skipping_runs_no_hook(tmp_path):
    src = write_tree(tmp_path / "tpl", cookiecutter_with_hooks(pre_prompt=True))
    expected = run_cookiecutter(src, tmp_path / "cc", {}, accept_hooks=False)
    argv = ["render", str(src), str(tmp_path / "lp"), "--defaults", "--trust", "--skip-tasks"]
    assert cli.main(argv) == 0
    assert_same_tree(expected, tmp_path / "lp")
    assert json.loads((src / "cookiecutter.json").read_text())["project_name"] == "Hooked"


def test_the_hosted_service_accepts_what_skipping_imported(lp, tmp_path):
    """The hosted checks accept a definition with tasks (the service skips them, as
    --skip-tasks does) and one imported with --skip-tasks; both say what is skipped."""
    from launchpad_core.importers.importing import tasks_skipped_by_service
    from launchpad_core.isolation.hosted import definition_problems

    src = write_tree(tmp_path / "tpl", COPIER_WITH_TASKS)
    with_tasks = lp.unstructure(import_template(src, launchpad=lp))
    assert definition_problems(with_tasks) == []
    skipped = lp.unstructure(import_template(src, skip_tasks=True, launchpad=lp))
    assert definition_problems(skipped) == []
    assert len(tasks_skipped_by_service(with_tasks)) == len(tasks_skipped_by_service(skipped))
    assert len(skipped["settings"]["origin"]["skipped_tasks"]) == 4
