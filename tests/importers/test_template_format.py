"""A directory holding several kinds of template (``cookiecutter.json`` and
``copier.yml``, or ``launchpad.yml`` too): ``--template-format`` chooses which
one render, validate and import read; each renders as its own tool renders it.
Copier's ``_subdirectory`` may be templated if it renders to a constant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launchpad_core.cli import main as cli
from launchpad_core.errors import LoadError
from launchpad_core.importers.importing import import_template

from .conftest import assert_same_tree, run_cookiecutter, run_copier, write_tree

BOTH = {
    "cookiecutter.json": json.dumps({"project": "both", "flavour": "cookie"}),
    "{{ cookiecutter.project }}/README.md": (
        "# {{ cookiecutter.project }} ({{ cookiecutter.flavour }})\n"
    ),
    "copier.yml": (
        "_subdirectory: \"{% set base = 'copier' %}{{ base ~ '_' ~ 'template' | lower }}\"\n"
        "project: both\nflavour: copier\nlicense: MIT\n"
    ),
    "copier_template/README.md.jinja": "# {{ project }} ({{ flavour }}, {{ license }})\n",
    "copier_template/{{ project }}.txt": "static {{ project }}\n",
}


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAUNCHPAD_NO_CACHE", raising=False)


def render(src: Path, dst: Path, *options: str) -> None:
    assert cli.main(["render", str(src), str(dst), "--defaults", "-q", *options]) == 0


@pytest.mark.parametrize("answers", [{}, {"project": "named"}])
def test_each_format_renders_as_its_tool(tmp_path, answers):
    src = write_tree(tmp_path / "tpl", BOTH)
    data = [f"-d{k}={v}" for k, v in answers.items()]
    render(src, tmp_path / "lp-copier", "--template-format", "copier", *data)
    assert_same_tree(run_copier(src, tmp_path / "copier", answers), tmp_path / "lp-copier")
    render(src, tmp_path / "lp-cc", "--template-format", "cookiecutter", *data)
    assert_same_tree(run_cookiecutter(src, tmp_path / "cc", answers), tmp_path / "lp-cc")


def test_validate_and_import_take_the_choice(tmp_path, capsys):
    src = write_tree(tmp_path / "tpl", BOTH)
    assert cli.main(["validate", str(src), "--template-format", "copier"]) == 0
    assert cli.main(["validate", str(src), "--template-format", "cookiecutter"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{src}: valid (3 variables, 2 files)", f"{src}: valid (2 variables, 2 files)"]
    for kind in ("copier", "cookiecutter"):
        target = tmp_path / f"{kind}.json"
        assert cli.main(["import", kind, str(src), "-o", str(target)]) == 0
        assert json.loads(target.read_text())["settings"]["origin"]["format"] == kind


def test_launchpad_format_reads_the_definition_beside_the_others(tmp_path):
    tree = {k: v for k, v in BOTH.items() if "cookiecutter" not in k}
    tree["launchpad.yml"] = (
        "name: own\nvariables:\n  - name: project\n    default: mine\n"
        "  - name: flavour\n    default: plain\n  - name: license\n    default: none\n"
    )
    src = write_tree(tmp_path / "tpl", tree)
    render(src, tmp_path / "lp", "--template-format", "launchpad")
    # A launchpad directory renders every file beside the definition.
    assert (tmp_path / "lp" / "copier_template" / "README.md.jinja").read_text() == (
        "# mine (plain, none)\n"
    )
    render(src, tmp_path / "lp-copier", "--template-format", "copier")
    assert_same_tree(run_copier(src, tmp_path / "copier", {}), tmp_path / "lp-copier")


@pytest.mark.parametrize(
    ("tree", "option", "message"),
    [
        (BOTH, "launchpad", "has no launchpad.yml or launchpad.yaml or launchpad.json"),
        ({"copier.yml": "a: 1\n"}, "cookiecutter", "is not a cookiecutter template"),
        (BOTH, "mako", "no importer named 'mako' (known: cookiecutter, copier, launchpad)"),
    ],
)
def test_a_format_the_directory_does_not_hold_is_one_error(tmp_path, capsys, tree, option, message):
    src = write_tree(tmp_path / "tpl", tree)
    assert cli.main(["validate", str(src), "--template-format", option]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.splitlines()) == 1


def test_a_subdirectory_chosen_by_the_answers_is_refused(lp, tmp_path):
    tree = {"copier.yml": "_subdirectory: \"{{ kind }}\"\nkind: a\n", "a/x.txt": "x\n"}
    src = write_tree(tmp_path / "tpl", tree)
    with pytest.raises(LoadError, match="depends on kind: a _subdirectory chosen by the answers"):
        import_template(src, launchpad=lp)
