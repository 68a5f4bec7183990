"""Rendering: templated paths, conditions, settings globs, binary files, modes,
answers files, collisions, determinism and the compile caches."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

import launchpad_core.render.engine as engine_module
from launchpad_core import (
    DefinitionError,
    EnvOptions,
    Launchpad,
    SecurityError,
    UnsafePathError,
    UntrustedCodeError,
    hookimpl,
)
from launchpad_core.errors import PathCollisionError
from launchpad_core.render.engine import Engine
from launchpad_core.testing import render_tree

from .conftest import definition, make_launchpad, render

VARIABLES = [
    {"name": "name", "default": "app"},
    {"name": "docker", "type": "bool", "default": False},
    {"name": "token", "secret": True, "default": "s3cret"},
]


def tree(lp: Launchpad, *files: Any, given: dict[str, Any] | None = None,
         **fields: Any) -> dict[str, bytes]:
    return render_tree(lp, definition(*files, variables=VARIABLES, **fields), given)


def test_paths_and_contents_are_rendered(lp: Launchpad) -> None:
    files = tree(lp, {"path": "{{ name }}/{{ name|upper }}.md", "content": "# {{ name }}\n"},
                 given={"name": "rocket"})
    assert files == {"rocket/ROCKET.md": b"# rocket\n"}


@pytest.mark.parametrize("path", [
    "{% if docker %}Dockerfile{% endif %}",
    "{% if docker %}docker{% endif %}/compose.yml",
    "deploy/{{ '' if not docker else 'k8s' }}/service.yml",
])
def test_a_segment_that_renders_empty_skips_the_file(lp: Launchpad, path: str) -> None:
    assert tree(lp, path, "kept.txt") == {"kept.txt": b""}
    assert len(tree(lp, path, "kept.txt", given={"docker": True})) == 2


@pytest.mark.parametrize(("when", "written"), [
    ("docker", False), ("not docker", True), ("{{ docker }}", False), ("{{ not docker }}", True),
    (True, True), (False, False), ("name == 'app'", True),
])
def test_when_on_files(lp: Launchpad, when: Any, written: bool) -> None:
    assert ("a.txt" in tree(lp, {"path": "a.txt", "when": when})) is written


def test_render_false_copies_the_content_as_it_is(lp: Launchpad) -> None:
    assert tree(lp, {"path": "{{ name }}.txt", "content": "{{ raw }}", "render": False}) == {
        "app.txt": b"{{ raw }}",  # the path is still rendered
    }


def test_copy_without_render_matches_the_source_or_the_output_path(lp: Launchpad) -> None:
    files = tree(
        lp,
        {"path": "tpl/{{ name }}.j2", "content": "{{ keep }}"},
        {"path": "{{ name }}.html", "content": "{{ keep }}"},
        {"path": "other.txt", "content": "{{ name }}"},
        settings={"copy_without_render": ["*.j2", "app.html"]},
    )
    assert files == {"tpl/app.j2": b"{{ keep }}", "app.html": b"{{ keep }}", "other.txt": b"app"}


def test_exclude_matches_the_source_or_the_output_path(lp: Launchpad) -> None:
    files = tree(lp, "build/out.txt", "{{ name }}.pyc", "{{ name }}.log", "src/{{ name }}.py",
                 settings={"exclude": ["build/", "*.pyc", "app.log"]})
    assert set(files) == {"src/app.py"}


def test_skip_if_exists_from_the_file_or_the_settings(lp: Launchpad) -> None:
    data = definition(
        {"path": "a.cfg", "skip_if_exists": True}, "b.cfg", "{{ name }}.toml", "other.txt",
        variables=VARIABLES, settings={"skip_if_exists": ["b.cfg", "app.toml"]},
    )
    flags = {f.path: f.skip_if_exists for f in render(lp, data)}
    assert flags == {"a.cfg": True, "b.cfg": True, "app.toml": True, "other.txt": False}


def test_binary_content_passes_through_untouched(lp: Launchpad) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00{{ name }}\xff"
    encoded = base64.b64encode(data).decode()
    files = tree(lp, {"path": "{{ name }}.png", "encoding": "base64", "content": encoded},
                 settings={"exclude": []})
    assert files == {"app.png": data}


def test_file_modes_are_kept(lp: Launchpad) -> None:
    data = definition({"path": "run.sh", "mode": "0755"}, {"path": "key", "mode": 0o600}, "plain")
    assert {f.path: f.mode for f in render(lp, data)} == {
        "run.sh": 0o755, "key": 0o600, "plain": None,
    }


def test_the_answers_file_holds_the_answers_but_no_secret(lp: Launchpad) -> None:
    files = tree(lp, "a.txt", given={"name": "rocket"},
                 settings={"answers_file": ".answers-{{ name }}.yml"})
    text = files[".answers-rocket.yml"].decode()
    assert text.startswith("# Answers LaunchPad rendered this project with (t)\n")
    assert yaml.safe_load(text) == {
        "_template": "t", "_version": "0.1.0", "name": "rocket", "docker": False,
    }
    assert "s3cret" not in text
    assert "token" not in text


def test_context_name_exposes_the_answers_as_one_mapping(lp: Launchpad) -> None:
    files = tree(lp, {"path": "{{ cc.name }}.txt", "content": "{{ cc.name }} {{ name }} "
                      "{{ cc|length }}"}, settings={"context_name": "cc"})
    assert files == {"app.txt": b"app app 3"}


def test_an_unsafe_rendered_path_is_refused(lp: Launchpad) -> None:
    with pytest.raises(UnsafePathError) as info:
        tree(lp, "{{ name }}/x", given={"name": "../../etc"})
    assert info.value.source == "{{ name }}/x"
    assert "'..' segments" in str(info.value)


def test_a_value_with_slashes_makes_directories_inside_the_destination(lp: Launchpad) -> None:
    assert set(tree(lp, "x/{{ name }}", given={"name": "/etc/passwd"})) == {"x/etc/passwd"}


def test_files_are_sorted_by_path(lp: Launchpad) -> None:
    assert list(tree(lp, "b", "a/z", "a/b", "c")) == ["a/b", "a/z", "b", "c"]


# Collisions ----------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [
    ("A.txt", "a.txt"),
    ("\u00e9.txt", "e\u0301.txt"),  # NFC and NFD forms of é
    ("{{ name }}.txt", "app.txt"),
    ("{{ name }}", "app/x"),  # a file where a directory is needed
])
def test_collisions_are_errors_naming_both_sources(lp: Launchpad, first: str, second: str) -> None:
    with pytest.raises(PathCollisionError) as info:
        tree(lp, first, second)
    message = str(info.value)
    assert f"(from {first})" in message
    assert f"(from {second})" in message


# Directory entries ----------------------------------------------------------------------


def folders_and_files(lp: Launchpad, *files: Any, **fields: Any) -> list[tuple[str, bool]]:
    rendered = render(lp, definition(*files, variables=VARIABLES, **fields))
    assert all(f.data == b"" for f in rendered if f.is_dir)
    return [(f.path, f.is_dir) for f in rendered]


def test_directory_entries_render_to_the_empty_folders_only(lp: Launchpad) -> None:
    assert folders_and_files(
        lp,
        "empty/",
        "{{ name }}/logs/",
        "{{ name }}/",  # implied by app/logs
        "{% if docker %}docker{% endif %}/",  # an empty segment skips it
        {"path": "skipped/", "when": "docker"},
        "src/",  # implied by the file in it
        "src/main.py",
        "same/",
        "{{ 'same' }}/",  # the same folder: one entry
    ) == [("app/logs", True), ("empty", True), ("same", True), ("src/main.py", False)]


def test_exclude_matches_directory_entries_with_their_slash(lp: Launchpad) -> None:
    settings = {"exclude": ["build/", "*.log"]}
    assert folders_and_files(lp, "build/", "{{ name }}/build/", "logs/", settings=settings) == [
        ("logs", True)
    ]


@pytest.mark.parametrize(("folder", "file"), [("x/", "x"), ("a.txt/sub/", "a.txt")])
def test_a_folder_where_a_file_is_is_a_collision(lp: Launchpad, folder: str, file: str) -> None:
    with pytest.raises(PathCollisionError, match=f"from {file}"):
        tree(lp, folder, file)


def test_an_unsafe_folder_is_refused(lp: Launchpad) -> None:
    with pytest.raises(UnsafePathError):
        tree(lp, "{{ '..' }}/")


# Determinism and caches -----------------------------------------------------------------

RICH = definition(
    {"path": "{{ name }}/README.md", "content": "# {{ name }}\n{% for i in range(3) %}{{ i }}"
                                                "{% endfor %}"},
    {"path": "{% if docker %}Dockerfile{% endif %}", "content": "FROM {{ name }}"},
    {"path": "static.txt", "content": "no markup at all"},
    {"path": "when.txt", "when": "not docker", "content": "{{ name|title }}"},
    variables=VARIABLES,
    settings={"answers_file": ".answers.yml"},
)


def test_rendering_is_deterministic(lp: Launchpad) -> None:
    first = render(lp, RICH, {"name": "x"})
    assert render(lp, RICH, {"name": "x"}) == first
    assert render(make_launchpad(), RICH, {"name": "x"}) == first


def test_text_without_markup_is_returned_as_is_and_not_compiled(lp: Launchpad) -> None:
    engine = lp.engine
    before = len(engine._compiled)
    text = "plain {text} with % and } but no markers"
    assert engine.render_text(EnvOptions(), text, {}, "x") is text
    assert engine.evaluate(EnvOptions(), "{{ 1 }}", {}, "x") is True
    assert len(engine._compiled) == before + 1  # only the one with markup


def test_a_second_render_compiles_nothing(
    lp: Launchpad, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = lp.structure(RICH)
    render(lp, RICH)
    compiled: list[str] = []
    jinja_compile = type(lp.engine.environment(EnvOptions())).compile

    def counting_uncached(self: Engine, env: Any, source: str, name: str) -> Any:
        compiled.append(source)
        raise AssertionError("compiled again")

    def counting_compile(env: Any, source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(source))
        return jinja_compile(env, source, *args, **kwargs)

    monkeypatch.setattr(Engine, "_compile_uncached", counting_uncached)
    monkeypatch.setattr(type(lp.engine.environment(EnvOptions())), "compile", counting_compile)
    answers = lp.resolve_answers(template, {"name": "other"})
    files = {f.path for f in lp.render(template, answers)}
    assert files == {".answers.yml", "other/README.md", "static.txt", "when.txt"}
    assert compiled == []


def test_a_validated_template_renders_without_compiling(
    lp: Launchpad, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = lp.structure(RICH)  # validation compiles every source
    compiled: list[str] = []
    monkeypatch.setattr(Engine, "_compile_uncached",
                        lambda self, env, source, name: compiled.append(source))
    lp.render(template, lp.resolve_answers(template, {}))
    assert compiled == []


def test_the_bytecode_cache_is_written_and_used_by_a_fresh_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    envops = EnvOptions()
    sources = ["{{ a }}", "{% for i in range(n) %}{{ i }}{% endfor %}"]
    Engine(bytecode_cache_dir=tmp_path).precompile(envops, sources)
    assert len(list(tmp_path.iterdir())) == 1

    def no_compiling(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("compiled instead of loading the cache")

    monkeypatch.setattr(engine_module, "compile_many", no_compiling)
    monkeypatch.setattr(Engine, "_compile_uncached", no_compiling)
    fresh = Engine(bytecode_cache_dir=tmp_path)
    fresh.precompile(envops, sources)
    assert fresh.render_text(envops, sources[0], {"a": "x"}, "a") == "x"
    assert fresh.render_text(envops, sources[1], {"n": 3}, "b") == "012"


def test_a_launchpad_with_a_bytecode_cache_renders_the_same(tmp_path: Path) -> None:
    plain = render(make_launchpad(), RICH)
    assert render(make_launchpad(bytecode_cache_dir=tmp_path), RICH) == plain
    assert render(make_launchpad(bytecode_cache_dir=tmp_path), RICH) == plain
    assert list(tmp_path.iterdir())


# Context and trust ---------------------------------------------------------------------


class _ContextPlugin:
    def __init__(self, value: Any):
        self.value = value

    @hookimpl
    def launchpad_render_context(self, template: Any, answers: Any) -> dict[str, Any]:
        return {"extra": self.value}


def _with_context(value: Any) -> Launchpad:
    return make_launchpad(plugins=[_ContextPlugin(value)])


def test_plugins_add_plain_data_to_the_context() -> None:
    lp = _with_context({"year": 2024, "tags": ["a", "b"]})
    data = definition({"path": "a", "content": "{{ extra.year }} {{ extra.tags|join(',') }}"})
    assert render_tree(lp, data) == {"a": b"2024 a,b"}


@pytest.mark.parametrize("value", [object(), {"k": Path("/")}, {1: "non-string key"}])
def test_the_context_holds_only_plain_data(value: Any) -> None:
    with pytest.raises(SecurityError):
        render(_with_context(value), definition("a"))


def test_a_template_that_runs_code_needs_trust(lp: Launchpad) -> None:
    template = lp.structure(definition("a", settings={"tasks": [{"command": "echo hi"}]}))
    answers = lp.resolve_answers(template, {})
    with pytest.raises(UntrustedCodeError):
        lp.render(template, answers)
    assert [f.path for f in lp.render(template, answers, trusted=True)] == ["a"]


# Jinja extensions of trusted templates ----------------------------------------------

EXTENDED = {
    "name": "ext",
    "variables": [{"name": "name", "default": "world"}],
    "files": [{"path": "a.txt", "content": "{% set xs = [] %}{% do xs.append(name) %}{{ xs }}"}],
    "settings": {"jinja_extensions": ["jinja2.ext.do"]},
}


def test_a_trusted_template_renders_with_its_jinja_extensions(lp: Launchpad) -> None:
    template = lp.structure(EXTENDED, trusted=True)
    files = lp.render(template, lp.resolve_answers(template, {}), trusted=True)
    assert [(f.path, f.data) for f in files] == [("a.txt", b"['world']")]


def test_an_untrusted_template_never_loads_its_extensions(lp: Launchpad) -> None:
    with pytest.raises(DefinitionError) as caught:  # `do` is no tag without the extension
        lp.structure(EXTENDED)
    assert [p.path for p in caught.value.problems] == ["$.files[0].content"]
    plain = {**EXTENDED, "files": [{"path": "a.txt", "content": "plain"}]}
    template = lp.structure(plain)
    with pytest.raises(UntrustedCodeError, match="jinja_extensions"):
        lp.render(template, lp.resolve_answers(template, {}))


def test_extensions_cannot_be_smuggled_into_the_syntax_options(lp: Launchpad) -> None:
    data = {**EXTENDED, "settings": {"envops": {"extensions": ["jinja2.ext.do"]}}}
    with pytest.raises(DefinitionError) as caught:
        lp.structure(data)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("$.settings.envops.extensions", "unknown or forbidden field 'extensions'")
    ]
