"""``cookiecutter.json`` missing, unreadable or malformed: one line that says which."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from launchpad_core.cli import main as cli
from launchpad_core.errors import LoadError
from launchpad_core.importers.cookiecutter import CookiecutterImporter

from .conftest import write_tree

PROJECT = {"{{ cookiecutter.name }}/README.md": "# {{ cookiecutter.name }}\n"}


@pytest.fixture(autouse=True)
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (None, "cookiecutter.json is missing"),
        (b'{"name": }', "cookiecutter.json is not valid JSON: Expecting value"),
        (b'{"name": "\xff"}', "cookiecutter.json cannot be read: invalid start byte"),
    ],
)
def test_context_file_problem_is_named(tmp_path, context, message):
    tree = PROJECT if context is None else {**PROJECT, "cookiecutter.json": context}
    src = write_tree(tmp_path / "tpl", tree)
    with pytest.raises(LoadError) as caught:
        CookiecutterImporter().load(src, trusted=False)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(f"(in {src})")


def test_pre_prompt_hook_removing_it_is_reported_as_missing(tmp_path, capsys):
    hook = f"#!{sys.executable}\nimport os\nos.remove('cookiecutter.json')\n"
    tree = {**PROJECT, "cookiecutter.json": '{"name": "x"}', "hooks/pre_prompt.py": hook}
    src = write_tree(tmp_path / "tpl", tree)
    assert cli.main(["render", str(src), str(tmp_path / "out"), "--defaults", "--trust"]) == 1
    err = capsys.readouterr().err
    assert err == f"launchpad: error: cookiecutter.json is missing (in {src})\n"
