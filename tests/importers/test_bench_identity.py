"""The benchmark template renders to the same tree in Copier, Cookiecutter and LaunchPad."""

from __future__ import annotations

import pytest

from launchpad_core.importers.importing import load_source

from .conftest import assert_same_tree, render_with_launchpad, run_cookiecutter, run_copier

ANSWERS = {"project_name": "Orbital Lab", "project_slug": "orbital_lab", "use_docker": False}


@pytest.fixture(scope="module")
def bench(tmp_path_factory, bench_templates):
    return bench_templates(tmp_path_factory.mktemp("bench"), 50)


@pytest.mark.parametrize("answers", [{}, ANSWERS], ids=["defaults", "answered"])
def test_copier_bench_is_identical(lp, bench, tmp_path, answers):
    expected = run_copier(bench["copier"], tmp_path / "copier" / "out", answers)
    actual = render_with_launchpad(lp, bench["copier"], tmp_path / "lp" / "out", answers)
    assert_same_tree(expected, actual)


@pytest.mark.parametrize("answers", [{}, ANSWERS], ids=["defaults", "answered"])
def test_cookiecutter_bench_is_identical(lp, bench, tmp_path, answers):
    context = {**answers, "use_docker": "no"} if answers else {}
    expected = run_cookiecutter(bench["cookiecutter"], tmp_path / "cc", context)
    actual = render_with_launchpad(lp, bench["cookiecutter"], tmp_path / "lp", context)
    assert_same_tree(expected, actual)


def test_native_bench_renders_the_same_files_as_copier(lp, bench, tmp_path):
    native = load_source(bench["native"], launchpad=lp, trusted=False)
    expected = run_copier(bench["copier"], tmp_path / "copier", {})
    actual = render_with_launchpad(lp, native, tmp_path / "lp", {})
    assert set(f.path for f in lp.render(native, lp.resolve_answers(native, {}))) == {
        p.relative_to(expected).as_posix() for p in expected.rglob("*") if p.is_file()
    }
    for path in expected.rglob("*"):
        if path.is_file():
            assert (actual / path.relative_to(expected)).read_bytes() == path.read_bytes()
