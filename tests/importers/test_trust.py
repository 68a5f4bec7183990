"""Executed code (Copier tasks and extensions, Cookiecutter hooks and extensions) is
refused unless trusted; trusted, it runs as the original tool runs it."""

from __future__ import annotations

import json

import pytest

from launchpad_core.errors import UntrustedCodeError
from launchpad_core.importers.importing import import_template

from .conftest import (
    assert_same_tree,
    render_with_launchpad,
    run_cookiecutter,
    run_copier,
    write_tree,
)

COPIER_WITH_TASKS = {
    "copier.yml": """\
_tasks:
  - "echo '{{ project_name }}' > from-task.txt"
  - command:
      - python
      - "-c"
      - "import pathlib; pathlib.Path('argv.txt').write_text('{{ project_name }}')"
  - command: "touch never.txt"
    when: "{{ project_name == 'nobody' }}"
  - command: "echo $STAGE $COPIER_OPERATION {{ _stage }} {{ _copier_operation }} > env.txt"
    working_directory: "{{ folder }}"
project_name: Tasked
folder: sub
""",
    "README.md.jinja": "# {{ project_name }}\n",
    "{{ folder }}/keep.txt": "kept\n",
}


def test_copier_tasks_are_refused_without_trust(lp, tmp_path):
    src = write_tree(tmp_path / "tpl", COPIER_WITH_TASKS)
    template = import_template(str(src), launchpad=lp)
    assert [t["stage"] for t in template.settings.tasks] == ["after"] * 4
    answers = lp.resolve_answers(template, {})
    with pytest.raises(UntrustedCodeError, match="trust"):
        lp.render(template, answers)


@pytest.mark.parametrize("answers", [{}, {"project_name": "nobody", "folder": "elsewhere"}])
def test_trusted_copier_tasks_run_like_copier(lp, tmp_path, answers):
    src = write_tree(tmp_path / "tpl", COPIER_WITH_TASKS)
    expected = run_copier(src, tmp_path / "copier" / "out", answers, unsafe=True)
    actual = render_with_launchpad(lp, src, tmp_path / "lp" / "out", answers, trusted=True)
    assert_same_tree(expected, actual)
    assert (actual / "from-task.txt").exists()


def cookiecutter_with_hooks(pre_prompt: bool = False) -> dict:
    tree = {
        "cookiecutter.json": json.dumps(
            {
                "project_name": "Hooked",
                "slug": "{{ cookiecutter.project_name.lower() }}",
                "cli": ["yes", "no"],
            }
        ),
        "{{ cookiecutter.slug }}/README.md": "# {{ cookiecutter.project_name }}\n",
        "{{ cookiecutter.slug }}/cli.py": "print('{{ cookiecutter.slug }}')\n",
        "hooks/pre_gen_project.py": (
            "import pathlib\n"
            "pathlib.Path('pre.txt').write_text('before {{ cookiecutter.project_name }}')\n"
        ),
        "hooks/post_gen_project.py": (
            "import os\n"
            "if '{{ cookiecutter.cli }}' == 'no':\n"
            "    os.remove('cli.py')\n"
            "open('post.txt', 'w').write(sorted(os.listdir('.')).__repr__())\n"
        ),
        "hooks/post_gen_project.py~": "raise SystemExit('backup files are not hooks')\n",
    }
    if pre_prompt:
        tree["hooks/pre_prompt.py"] = (
            "import json, pathlib\n"
            "path = pathlib.Path('cookiecutter.json')\n"
            "context = json.loads(path.read_text())\n"
            "context['project_name'] = 'Changed By Hook'\n"
            "path.write_text(json.dumps(context))\n"
        )
    return tree


def test_cookiecutter_hooks_are_refused_without_trust(lp, tmp_path):
    src = write_tree(tmp_path / "tpl", cookiecutter_with_hooks())
    template = import_template(str(src), launchpad=lp)
    assert [(t["stage"], t["script"]) for t in template.settings.tasks] == [
        ("before", "hooks/pre_gen_project.py"),
        ("after", "hooks/post_gen_project.py"),
    ]
    with pytest.raises(UntrustedCodeError):
        lp.render(template, lp.resolve_answers(template, {}))


@pytest.mark.parametrize("answers", [{}, {"cli": "no", "project_name": "Other"}])
def test_trusted_cookiecutter_hooks_run_like_cookiecutter(lp, tmp_path, answers):
    src = write_tree(tmp_path / "tpl", cookiecutter_with_hooks())
    expected = run_cookiecutter(src, tmp_path / "cc", answers, accept_hooks=True)
    actual = render_with_launchpad(lp, src, tmp_path / "lp", answers, trusted=True)
    assert_same_tree(expected, actual)


def test_pre_prompt_hook_runs_only_when_trusted(lp, tmp_path):
    src = write_tree(tmp_path / "tpl", cookiecutter_with_hooks(pre_prompt=True))
    with pytest.raises(UntrustedCodeError, match="pre_prompt"):
        import_template(str(src), launchpad=lp)
    expected = run_cookiecutter(src, tmp_path / "cc", {}, accept_hooks=True)
    actual = render_with_launchpad(lp, src, tmp_path / "lp", {}, trusted=True)
    assert_same_tree(expected, actual)
    assert (actual / "changed by hook" / "README.md").read_text() == "# Changed By Hook\n"


@pytest.mark.parametrize(
    ("tree", "declared"),
    [
        ({"copier.yml": "_jinja_extensions: [jinja2.ext.do]\nname: x\n", "a.txt": "a\n"},
         ("jinja2.ext.do",)),
        (
            {
                "cookiecutter.json": json.dumps({"name": "x", "_extensions": ["local_ext.Upper"]}),
                "local_ext.py": (
                    "from jinja2.ext import Extension\n\n\nclass Upper(Extension):\n    pass\n"
                ),
                "{{ cookiecutter.name }}/a.txt": "a\n",
            },
            ("local_ext.Upper",),
        ),
    ],
    ids=["copier", "cookiecutter"],
)
def test_jinja_extensions_are_refused_without_trust(lp, tmp_path, tree, declared):
    src = write_tree(tmp_path / "tpl", tree)
    template = import_template(str(src), launchpad=lp)
    assert template.settings.jinja_extensions == declared
    with pytest.raises(UntrustedCodeError, match="jinja_extensions"):
        lp.render(template, lp.resolve_answers(template, {}))


def test_trusted_jinja_extension_is_loaded_like_copier(lp, tmp_path):
    src = write_tree(
        tmp_path / "tpl",
        {
            "copier.yml": "_jinja_extensions: [jinja2.ext.do]\nname: x\n",
            "a.txt.jinja": "{% set items = [] %}{% do items.append(name) %}{{ items }}\n",
        },
    )
    expected = run_copier(src, tmp_path / "copier", {}, unsafe=True)
    actual = render_with_launchpad(lp, src, tmp_path / "lp", {}, trusted=True)
    assert_same_tree(expected, actual)


def cookiecutter_with_answer_changing_hook() -> dict:
    return {
        "cookiecutter.json": json.dumps(
            {
                "project_name": "  Padded Name  ",
                "slug": "{{ cookiecutter.project_name.strip().lower().replace(' ', '_') }}",
                "license": ["MIT", "BSD"],
            }
        ),
        "{{ cookiecutter.slug }}/README.md": (
            "# {{ cookiecutter.project_name }} ({{ cookiecutter.license }})\n"
            "{{ cookiecutter.added }} {{ _cookiecutter.license }}\n"
        ),
        "{{ cookiecutter.slug }}/{{ cookiecutter.project_name }}.txt": "named\n",
        "hooks/pre_gen_project.py": (
            "{{ cookiecutter.update({'project_name': cookiecutter.project_name.strip()}) }}\n"
            "{%- set _ = cookiecutter.update({'added': 'by hook', 'slug': 'not-the-folder'}) %}\n"
            "import pathlib\n"
            "pathlib.Path('pre.txt').write_text('{{ cookiecutter.project_name }}')\n"
        ),
        "hooks/post_gen_project.py": (
            "import pathlib\n"
            "pathlib.Path('post.txt').write_text('{{ cookiecutter.project_name }}|"
            "{{ cookiecutter.added }}|{{ cookiecutter.slug }}|{{ cookiecutter | length }}')\n"
        ),
    }


@pytest.mark.parametrize("answers", [{}, {"project_name": " Other ", "license": "BSD"}])
def test_a_pre_gen_hook_that_changes_the_answers_changes_the_files(lp, tmp_path, answers):
    """Cookiecutter renders its hooks with the very context the files are rendered
    with afterwards: ``{{ cookiecutter.update(...) }}`` in a pre_gen_project hook
    changes the files and the post_gen_project hook; a key it adds is there too. The
    project folder keeps the name it had when the hook ran."""
    src = write_tree(tmp_path / "tpl", cookiecutter_with_answer_changing_hook())
    expected = run_cookiecutter(src, tmp_path / "cc", answers, accept_hooks=True)
    actual = render_with_launchpad(lp, src, tmp_path / "lp", answers, trusted=True)
    assert_same_tree(expected, actual)
    project = next(actual.iterdir())
    assert (project / "README.md").read_text().splitlines()[1].startswith("by hook ")
