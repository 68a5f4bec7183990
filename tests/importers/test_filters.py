"""The filters and globals the importer plugins provide give what Copier's and
Cookiecutter's extensions give, rendered in the real tools' environments."""

from __future__ import annotations

import datetime as dt
import re

import jinja2
import pytest
from cookiecutter.environment import StrictEnvironment
from jinja2_ansible_filters import AnsibleCoreFiltersExtension

from launchpad_core.errors import TemplateSourceError
from launchpad_core.importers import cookiecutter_ext, copier_filters
from launchpad_core.importers.cookiecutter_ext import rewrite_now_tags
from launchpad_core.importers.importing import import_template
from launchpad_core.model.template import EnvOptions

from .conftest import write_tree

DATA = {
    "mapping": {"b": [1, 2, {"x": "é"}], "a": "text: with colon", "c": None, "d": True},
    "nested": [[1, [2, 3]], [4]],
    "text": "Hello, World! 123",
    "path": "/srv/app/main.py",
    "win": "C:\\Users\\ada\\file.txt",
}

EXPRESSIONS = [
    "{{ mapping | to_yaml }}",
    "{{ mapping | to_nice_yaml }}",
    "{{ mapping | to_nice_yaml(indent=2, width=20) }}",
    "{{ mapping | to_json }}",
    "{{ mapping | to_json(sort_keys=True, indent=1) }}",
    "{{ mapping | to_nice_json }}",
    "{{ 'a: [1, 2]' | from_yaml }}",
    "{{ '{\"k\": 1}' | from_json }}",
    "{{ text | b64encode }} {{ text | b64encode | b64decode }}",
    "{{ text | to_uuid }}",
    "{{ 'yes' | bool }} {{ 'off' | bool }} {{ 1 | bool }} {{ none | bool }}",
    "{{ true | ternary('y', 'n') }} {{ none | ternary('y', 'n', 'null') }}",
    "{{ text | regex_replace('[0-9]+', '#') }} {{ text | regex_replace('world', 'you', True) }}",
    "{{ text | regex_search('(\\\\w+), (\\\\w+)', '\\\\2', '\\\\1') }}",
    "{{ text | regex_search('(?P<w>W\\\\w+)', '\\\\g<w>') }} {{ text | regex_search('zzz') }}",
    "{{ text | regex_findall('[a-z]+', ignorecase=True) }}",
    "{{ 'a.b*c' | regex_escape }} {{ 'a.b*c' | regex_escape('posix_basic') }}",
    "{{ \"it's\" | quote }}",
    "{{ text | hash('sha256') }} {{ text | md5 }} {{ text | sha1 }} {{ text | checksum }}",
    "{{ text | hash('nope') }}",
    "{{ path | basename }} {{ path | dirname }} {{ path | splitext }}",
    "{{ win | win_basename }} {{ win | win_dirname }} {{ win | win_splitdrive }}",
    "{{ nested | flatten }} {{ nested | flatten(levels=1) }} {{ [1, none, 2] | flatten }}",
    "{{ {'a': {'x': 1}} | combine({'a': {'y': 2}, 'b': 3}) }}",
    "{{ {'a': {'x': 1}} | combine({'a': {'y': 2}}, recursive=True) }}",
    "{{ [{'a': 1}, {'b': 2}] | combine }}",
    "{{ 'one\\ntwo' | comment }}",
    "{{ 'one\\ntwo' | comment('c') }}{{ 'x' | comment('cblock') }}{{ 'y' | comment('xml') }}",
    "{{ 'one' | comment(decoration='; ', prefix_count=2) }}",
    "{{ mapping | type_debug }} {{ text | mandatory }}",
    "{{ '%Y' | strftime(0) }}",
]


@pytest.fixture(scope="module")
def environments():
    ansible = jinja2.Environment(extensions=[AnsibleCoreFiltersExtension])
    ours = jinja2.Environment()
    ours.filters.update(copier_filters.FILTERS)
    return ansible, ours


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_copier_filters_match_ansible_filters(environments, source):
    ansible, ours = environments
    assert ours.from_string(source).render(DATA) == ansible.from_string(source).render(DATA)


def test_mandatory_refuses_undefined(environments):
    for env in environments:
        with pytest.raises(jinja2.exceptions.FilterArgumentError, match="missing"):
            env.from_string("{{ missing | mandatory }}").render()


def test_pathjoin():
    assert copier_filters.pathjoin("a", "b", "c.txt") == "a/b/c.txt"
    assert copier_filters.pathjoin("a", "b", mode="windows") == "a\\b"


def cookiecutter_environment() -> StrictEnvironment:
    return StrictEnvironment(context={"cookiecutter": {}}, keep_trailing_newline=True)


def our_environment(envops: EnvOptions | None = None) -> jinja2.Environment:
    envops = envops or EnvOptions()
    env = jinja2.Environment(
        keep_trailing_newline=True,
        trim_blocks=envops.trim_blocks,
        lstrip_blocks=envops.lstrip_blocks,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(cookiecutter_ext.FILTERS)
    env.globals.update(cookiecutter_ext.GLOBALS)
    return env


NOW_TEMPLATES = [
    "{% now 'utc' %}",
    "year {% now 'utc', '%Y' %}.",
    "{% now 'local', '%Y-%m' %}",
    "[{% now 'utc' + 'days=3, hours=2', '%Y-%m-%d %H' %}]",
    "[{% now 'utc' - 'months=14', '%Y-%m' %}]",
    "[{% now 'Europe/Paris' + 'weeks=1', '%Y-%m-%d' %}]",
    "[{% now '+05:30', '%H' %}]",
    "a\n  {%- now 'utc', '%Y' -%}  \nb",
    "{% for i in [1] %}{% now 'utc', fmt ~ '%m' %}{% endfor %}",
    "{% if true %}{% now tz, '%Y' %}{% endif %} and {{ 'now' }}",
]


@pytest.mark.parametrize("source", NOW_TEMPLATES)
def test_now_tag_rewrite_renders_what_the_time_extension_renders(source):
    context = {"tz": "utc", "fmt": "%Y-"}
    expected = cookiecutter_environment().from_string(source).render(context)
    rewritten = rewrite_now_tags(source, EnvOptions())
    assert "{% now" not in rewritten
    assert our_environment().from_string(rewritten).render(context) == expected


@pytest.mark.parametrize("options", [{"trim_blocks": True}, {"lstrip_blocks": True}])
def test_now_tag_rewrite_keeps_block_whitespace_rules(options):
    source = "line\n    {% now 'utc', '%Y' %}\nnext\n"
    tool = StrictEnvironment(context={"cookiecutter": {}}, keep_trailing_newline=True, **options)
    rewritten = rewrite_now_tags(source, EnvOptions(**options))
    assert our_environment(EnvOptions(**options)).from_string(rewritten).render() == (
        tool.from_string(source).render()
    )


def test_other_cookiecutter_extensions():
    tool, ours = cookiecutter_environment(), our_environment()
    for source in (
        "{{ {'b': 1, 'a': [1, 2]} | jsonify }}",
        "{{ {'b': 1} | jsonify(2) }}",
        "{{ 'Hello World! Ça va?' | slugify }}",
        "{{ 'Hello World' | slugify(separator='_', max_length=8) }}",
    ):
        assert ours.from_string(source).render() == tool.from_string(source).render()
    assert re.fullmatch(r"[A-Za-z]{12}", ours.from_string("{{ random_ascii_string(12) }}").render())
    assert re.fullmatch(
        r"[0-9a-f-]{36}", ours.from_string("{{ uuid4() }}").render()
    )
    assert cookiecutter_ext.cookiecutter_now("utc", "%Y") == str(dt.datetime.now(dt.UTC).year)


@pytest.mark.parametrize("source", [
    "{{ '!!python/object/apply:os.system [\"echo hi\"]' | from_yaml }}",
    "{{ '!!python/object:builtins.object {}' | from_yaml }}",
    "{{ 'a: 1\\n--- !!python/name:os.system' | from_yaml_all }}",
    "{{ 'a: [1' | from_yaml }}",
])
def test_from_yaml_reads_plain_yaml_only_and_says_so_as_a_template_error(lp, tmp_path, source):
    """A python tag is refused by safe_load; it reaches the user as the template's error
    (which file, why), not as an unexpected exception."""
    root = write_tree(tmp_path / "tpl", {"copier.yml": "_templates_suffix: .jinja\nname: x\n",
                                         "out.txt.jinja": source})
    template = import_template(str(root), "copier", launchpad=lp)
    with pytest.raises(TemplateSourceError) as caught:
        lp.render(template, lp.resolve_answers(template, {}))
    assert caught.value.code == "template_error" and caught.value.source == "out.txt"
    assert "only plain YAML is read here" in caught.value.message
