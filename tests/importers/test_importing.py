"""The importing entry points: detection, import by name, destinations, tasks."""

from __future__ import annotations

import json

import jinja2
import pytest

from launchpad_core.errors import LoadError, UntrustedCodeError
from launchpad_core.importers.importing import (
    import_template,
    template_importers,
    with_destination,
)
from launchpad_core.importers.template_tasks import TaskError, extension_path, run_tasks
from launchpad_core.model.serialization import structure_template, unstructure_template
from launchpad_core.model.template import Template

from .conftest import write_tree

COOKIECUTTER = {
    "cookiecutter.json": json.dumps({"name": "demo", "_x": [1]}),
    "{{ cookiecutter.name }}/README.md": "{{ cookiecutter.name }}\n",
}


def test_the_built_in_importers_are_plugins(lp):
    assert {"copier", "cookiecutter"} <= set(template_importers(lp))


def test_launchpad_load_detects_foreign_templates(lp, tmp_path):
    src = write_tree(tmp_path / "cc", COOKIECUTTER)
    template = lp.load(src)
    assert template.settings.origin["format"] == "cookiecutter"
    files = lp.render(template, lp.resolve_answers(template, {}))
    assert [(f.path, f.data) for f in files] == [("demo/README.md", b"demo\n")]


def test_import_by_name_or_detection(lp, tmp_path):
    src = write_tree(tmp_path / "cc", COOKIECUTTER)
    assert import_template(src, launchpad=lp) == import_template(src, "cookiecutter", launchpad=lp)
    with pytest.raises(LoadError, match="no importer named 'svn'"):
        import_template(src, "svn", launchpad=lp)
    with pytest.raises(LoadError, match="not a template any importer recognises"):
        import_template(tmp_path, launchpad=lp)
    with pytest.raises(LoadError, match="not a directory"):
        import_template(src / "cookiecutter.json", "cookiecutter", launchpad=lp)


def test_imported_definition_survives_json(lp, tmp_path):
    template = import_template(write_tree(tmp_path / "cc", COOKIECUTTER), launchpad=lp)
    assert structure_template(unstructure_template(template)) == template


def test_with_destination_leaves_native_templates_alone(lp, tmp_path):
    native = Template(name="native")
    assert with_destination(native, tmp_path, launchpad=lp) is native


def test_cookiecutter_output_dir_comes_from_the_destination(lp, tmp_path):
    src = write_tree(tmp_path / "cc", {**COOKIECUTTER, "{{ cookiecutter.name }}/where.txt": (
        "{{ cookiecutter._output_dir }}"
    )})
    template = with_destination(import_template(src, launchpad=lp), tmp_path / "out", launchpad=lp)
    files = {f.path: f.data for f in lp.render(template, lp.resolve_answers(template, {}))}
    assert files["demo/where.txt"] == str(tmp_path / "out").encode()


def test_tasks_need_trust_and_report_failures(lp, tmp_path):
    src = write_tree(tmp_path / "tpl", {"copier.yml": "_tasks: ['exit 3']\nx: 1\n"})
    template = import_template(src, launchpad=lp)
    answers = lp.resolve_answers(template, {})
    assert run_tasks(template, answers, tmp_path, stage="before", trusted=False, launchpad=lp) == 0
    with pytest.raises(UntrustedCodeError):
        run_tasks(template, answers, tmp_path, stage="after", trusted=False, launchpad=lp)
    with pytest.raises(TaskError, match="exit status 3"):
        run_tasks(template, answers, tmp_path / "out", stage="after", trusted=True, launchpad=lp)
    with pytest.raises(ValueError, match="stage"):
        run_tasks(template, answers, tmp_path, stage="migration", trusted=True, launchpad=lp)


def test_extension_path_makes_the_templates_modules_importable(lp, tmp_path):
    src = write_tree(tmp_path / "cc", {
        **COOKIECUTTER,
        "cookiecutter.json": json.dumps({"name": "demo", "_extensions": ["lp_test_ext.Shout"]}),
        "lp_test_ext.py": "from jinja2.ext import Extension\n\nclass Shout(Extension):\n    pass\n",
    })
    template = import_template(src, launchpad=lp)
    with extension_path(template) as extensions:
        assert extensions == ("lp_test_ext.Shout",)
        assert jinja2.Environment(extensions=list(extensions))
