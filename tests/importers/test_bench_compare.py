"""``bench/compare.py``: renders with LaunchPad and the template's own tool, says
whether the trees are identical, which files differ and the time ratio."""

from __future__ import annotations

import importlib.util
import re

import pytest

from .conftest import ROOT, write_tree
from .test_copier_git_folder import TEMPLATE as GIT_FOLDER_TEMPLATE
from .test_template_format import BOTH


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("compare", ROOT / "bench" / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_identical_trees_of_both_kinds_in_one_directory(compare, tmp_path, capsys):
    src = write_tree(tmp_path / "both", BOTH)
    assert compare([str(src), "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    for kind in ("copier", "cookiecutter"):
        assert re.search(
            rf"{re.escape(str(src))} \({kind}\)\n  identical: yes\n  differing files: none\n"
            rf"  time: launchpad [\d.]+ s, {kind} [\d.]+ s, ratio [\d.]+ \(median of 1\)\n"
            rf"  cpu: launchpad [\d.]+ s, {kind} [\d.]+ s, ratio [\d.]+\n",
            out,
        ), out


def test_differing_files_are_listed_and_cut_at_show(compare, tmp_path, capsys):
    src = write_tree(tmp_path / "gitfolder", GIT_FOLDER_TEMPLATE)
    assert compare([str(src), "--rounds", "1", "--show", "2"]) == 1
    out = capsys.readouterr().out
    assert "  identical: no\n  differing files: 7\n" in out
    assert "    .git/ (only in the original's output)\n" in out
    assert "    ... and 5 more\n" in out


def test_a_directory_that_is_no_template_is_said_so(compare, tmp_path, capsys):
    assert compare([str(tmp_path), "--rounds", "1"]) == 2
    assert "not a Copier or Cookiecutter template" in capsys.readouterr().out


def test_startup_counts_the_imports_of_a_cold_render(tmp_path, capsys, monkeypatch):
    """``bench/startup.py``: modules imported by a cold render, their time and the CPU."""
    spec = importlib.util.spec_from_file_location("startup", ROOT / "bench" / "startup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    src = write_tree(tmp_path / "tpl", BOTH)
    assert module.main([str(src), "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    found = re.fullmatch(rf"{re.escape(str(src))}: (\d+) modules imported, their import time "
                         r"[\d.]+ ms \(sum of each one's minimum\), command CPU (\d+) ms "
                         r"\(median of 2\)\n", out)
    assert found, out
    assert int(found[1]) > 50 and int(found[2]) > 0


def test_coldstart_interleaves_the_tool_and_two_checkouts(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("coldstart", ROOT / "bench" / "coldstart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    src = write_tree(tmp_path / "both", BOTH)
    assert module.main([str(src), "--before", str(ROOT), "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    for kind in ("copier", "cookiecutter"):
        assert re.search(
            rf"{re.escape(str(src))} \({kind}, median of 1\): {kind} [\d.]+ s, cpu [\d.]+ s"
            rf" \| before [\d.]+ s \([\d.]+\), cpu [\d.]+ s \([\d.]+\)"
            rf" \| after [\d.]+ s \([\d.]+\), cpu [\d.]+ s \([\d.]+\)\n",
            out,
        ), out


def test_trust_runs_what_the_template_needs_with_every_tool(compare, capsys):
    """A template with its own Jinja extensions: LaunchPad refuses it untrusted (the
    originals have no such refusal), ``--trust`` renders it with each."""
    src = ROOT / "tests" / "fixtures" / "cookiecutter-extensions"
    assert compare([str(src), "--rounds", "1"]) == 2
    assert "  launchpad failed (exit 1): " in capsys.readouterr().out
    assert compare([str(src), "--rounds", "1", "--trust"]) == 0
    assert "(cookiecutter)\n  identical: yes\n" in capsys.readouterr().out
