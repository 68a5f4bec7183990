"""``launchpad import`` on the command line: an importer refuses a directory that is not
its format, ``import launchpad`` makes the JSON definition the hosted API takes, and
what is written holds no path of the importing machine (``portable``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launchpad_core.cli import main as cli
from launchpad_core.importers.importing import MACHINE_PATHS, import_template, portable
from launchpad_core.isolation.hosted import definition_problems
from launchpad_core.launchpad import Launchpad

from .conftest import snapshot, write_tree

LAUNCHPAD_DIR = {
    "launchpad.yml": (
        "name: greeting\n"
        "description: Says hello\n"
        "variables:\n"
        "  - {name: who, default: world}\n"
        "  - {name: loud, type: bool, default: false}\n"
        "files:\n"
        "  - {path: notes.txt, render: false}\n"
    ),
    "{{ who }}/hello.txt": "{% if loud %}HELLO{% else %}hello{% endif %} {{ who }}\n",
    "notes.txt": "{{ not rendered }}\n",
    "run.sh": ("#!/bin/sh\necho {{ who }}\n", 0o755),
}
COPIER_DIR = {
    "copier.yml": "project:\n  type: str\n  default: demo\n",
    "{{ project }}/README.md.jinja": "# {{ project }}\n",
}
COOKIECUTTER_DIR = {
    "cookiecutter.json": json.dumps({"name": "demo"}),
    "{{ cookiecutter.name }}/README.md": "# {{ cookiecutter.name }} {{ cookiecutter._repo_dir }}\n",
}


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_NO_CACHE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- refusal -------------------------------------------------------------------------------
@pytest.mark.parametrize(("importer", "tree", "message"), [
    ("copier", LAUNCHPAD_DIR, "src is not a copier template; it looks like a launchpad template"),
    ("cookiecutter", LAUNCHPAD_DIR,
     "src is not a cookiecutter template; it looks like a launchpad template"),
    ("copier", COOKIECUTTER_DIR,
     "src is not a copier template; it looks like a cookiecutter template"),
    ("cookiecutter", COPIER_DIR,
     "src is not a cookiecutter template; it looks like a copier template"),
    ("launchpad", COPIER_DIR, "src is not a launchpad template; it looks like a copier template"),
    ("copier", {"README.md": "just a folder\n"}, "src is not a copier template"),
])
def test_an_importer_refuses_what_is_not_its_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, importer: str, tree: dict, message: str
) -> None:
    write_tree(tmp_path / "src", tree)
    assert run(capsys, "import", importer, "src", "-o", "out.json") == (
        1, "", f"launchpad: error: {message}\n")
    assert not (tmp_path / "out.json").exists()


# -- import launchpad ---------------------------------------------------------------------
def test_import_launchpad_makes_one_definition_that_renders_the_same(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lp: Launchpad
) -> None:
    write_tree(tmp_path / "greeting", LAUNCHPAD_DIR)
    code, out, err = run(capsys, "import", "launchpad", "greeting", "-o", "greeting.json")
    assert (code, err) == (0, "")
    assert out == "Imported greeting (2 variables, 3 files) to greeting.json.\n"
    definition = json.loads((tmp_path / "greeting.json").read_text())
    assert definition["name"] == "greeting"
    assert definition_problems(definition) == []  # what the hosted API accepts
    for source, dest in (("greeting", "from-dir"), ("greeting.json", "from-json")):
        assert run(capsys, "render", source, dest, "-d", "who=moon", "-d", "loud=yes", "-q")[0] == 0
    assert snapshot(tmp_path / "from-dir") == snapshot(tmp_path / "from-json")
    assert (tmp_path / "from-json" / "moon" / "hello.txt").read_text() == "HELLO moon\n"
    assert (tmp_path / "from-json" / "notes.txt").read_text() == "{{ not rendered }}\n"
    assert (tmp_path / "from-json" / "run.sh").stat().st_mode & 0o111


def test_import_launchpad_writes_yaml_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lp: Launchpad
) -> None:
    write_tree(tmp_path / "greeting", LAUNCHPAD_DIR)
    assert run(capsys, "import", "launchpad", "greeting", "-o", "greeting.yml")[0] == 0
    assert lp.load(tmp_path / "greeting.yml") == lp.load(tmp_path / "greeting")


def test_import_launchpad_reports_definition_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_tree(tmp_path / "bad", {"launchpad.yml": "name: bad\nvariables:\n  - {name: 1x}\n"})
    code, out, err = run(capsys, "import", "launchpad", "bad", "-o", "bad.json")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == "launchpad: The imported definition is not valid."
    assert err.splitlines()[1].startswith("  $.variables[0].name: ")


# -- portable -----------------------------------------------------------------------------
@pytest.mark.parametrize(("importer", "tree"), [
    ("copier", COPIER_DIR), ("cookiecutter", COOKIECUTTER_DIR),
])
def test_an_imported_definition_holds_no_local_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lp: Launchpad, importer: str, tree: dict
) -> None:
    source = write_tree(tmp_path / "src", tree).resolve()
    assert import_template(source, importer, launchpad=lp).settings.origin["source"]
    assert run(capsys, "import", importer, str(source), "-o", "t.json")[0] == 0
    text = (tmp_path / "t.json").read_text()
    assert str(tmp_path) not in text
    origin = json.loads(text)["settings"]["origin"]
    assert origin["format"] == importer
    assert not set(origin) & set(MACHINE_PATHS)
    assert run(capsys, "render", "t.json", "out", "--defaults", "-q")[0] == 0
    assert (tmp_path / "out" / "demo" / "README.md").read_text().startswith("# demo")


def test_portable_strips_only_the_machine_paths(tmp_path: Path, lp: Launchpad) -> None:
    source = write_tree(tmp_path / "cc", COOKIECUTTER_DIR)
    template = import_template(source, "cookiecutter", launchpad=lp)
    stripped = portable(template)
    assert set(template.settings.origin) - set(stripped.settings.origin) == {
        "source", "repo_dir"}
    assert stripped.settings.origin["keys"] == ["name"]
    assert stripped.variables == template.variables and stripped.files == template.files
    assert portable(stripped) is stripped
    native = lp.load(write_tree(tmp_path / "lp", LAUNCHPAD_DIR))
    assert portable(native) is native
