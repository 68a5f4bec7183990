"""compile_many: sources sharing a skeleton compile once and render exactly as compiled alone;
PackCache: bounded on disk, least recently used out first, in the service's folder."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import CodeType

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launchpad_core.model.template import EnvOptions
from launchpad_core.render.compile_cache import (
    _PLACEHOLDER,
    PackCache,
    _compile,
    _group_by_skeleton,
    _skeleton,
    compile_many,
)
from launchpad_core.render.limits import Limits
from launchpad_core.render.sandbox import LaunchpadSandbox

PATTERN = (
    "# {{{{ name }}}} - {text}\n"
    "{{% if flag -%}}\n  {text} {{{{ name | upper }}}}\n{{%- endif %}}\n"
    "{{% for n in range(3) %}}def h_{{{{ n }}}}_{text}(): return {{{{ n }}}}\n{{% endfor %}}"
    "{{% set block %}}{text}{{% endset %}}{{{{ block | length }}}} {text}"
)
CONTEXT = {"name": "rocket", "flag": True}


def environment(**options: object) -> LaunchpadSandbox:
    return LaunchpadSandbox(Limits(), EnvOptions(**options))


def render(env: LaunchpadSandbox, code: CodeType) -> str:
    template = env.template_class.from_code(env, code, env.make_globals(None))
    return template.render(CONTEXT)


def test_sources_of_one_pattern_share_a_compilation() -> None:
    env = environment()
    sources = [PATTERN.format(text=f"module {n}") for n in range(5)]
    groups = _group_by_skeleton(env, sources)
    assert len(groups) == 1
    assert [index for index, _ in next(iter(groups.values()))] == [0, 1, 2, 3, 4]


TEXTS = [
    "module 7",
    "quotes ' \" and \\ backslashes \\n",
    "percent %s %(x)s {} {0}",
    "unicode: café ☃ \u2028",
    "",
    "  spaces kept  ",
]


@pytest.mark.parametrize("options", [{}, {"trim_blocks": True, "lstrip_blocks": True},
                                     {"keep_trailing_newline": False}])
def test_each_source_renders_as_if_compiled_alone(options: dict) -> None:
    env = environment(**options)
    sources = [PATTERN.format(text=text) + "\n" for text in TEXTS]
    codes = compile_many(env, sources, workers=1)
    for source, code in zip(sources, codes, strict=True):
        assert code is not None
        assert render(env, code) == env.from_string(source).render(CONTEXT)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="{}%#\r\n"), max_size=30),
                min_size=2, max_size=5))
def test_any_plain_text_renders_as_if_compiled_alone(texts: list[str]) -> None:
    env = environment()
    sources = [PATTERN.format(text=text) for text in texts]
    for source, code in zip(sources, compile_many(env, sources, workers=1), strict=True):
        assert code is not None
        assert render(env, code) == env.from_string(source).render(CONTEXT)


def test_string_literals_inside_tags_share_a_compilation() -> None:
    env = environment()
    pattern = "{text}\n{{% if flag == 'y' %}}{{{{ name ~ \"'s\" }}}}{{% endif %}}\n"
    sources = [pattern.format(text=f"module {n}") for n in range(3)]
    assert len(_group_by_skeleton(env, sources)) == 1
    context = {**CONTEXT, "flag": "y"}
    for source, code in zip(sources, compile_many(env, sources, workers=1), strict=True):
        template = env.template_class.from_code(env, code, env.make_globals(None))
        assert template.render(context) == env.from_string(source).render(context)


def test_different_line_numbers_make_different_skeletons() -> None:
    env = environment()
    sources = ["a\n{{ x }}", "a\nb\n{{ x }}"]
    assert len(_group_by_skeleton(env, sources)) == 2


def test_a_source_that_does_not_compile_is_none_and_the_others_compile() -> None:
    env = environment()
    sources = ["{{ name }} ok", "{{ name }} ok too", "{% if %}", "{% if %}"]
    codes = compile_many(env, sources, workers=1)
    assert [code is None for code in codes] == [False, False, True, True]
    assert render(env, codes[1]) == "rocket ok too"


def test_text_that_looks_like_a_placeholder_is_compiled_alone() -> None:
    env = environment()
    sources = ["\ue000 {{ name }}", "\ue000 {{ name }}!"]
    codes = compile_many(env, sources, workers=1)
    assert [render(env, c) for c in codes] == ["\ue000 rocket", "\ue000 rocket!"]


# The skeleton is found by a regular expression, not by Jinja's lexer: it must
# never put together sources the lexer would tell apart. For every source that
# gets a skeleton, lexing the skeleton and putting the texts back must give
# exactly the source's own tokens (or the same error).

FRAGMENTS = ["{{", "}}", "{%", "%}", "{#", "#}", "{", "}", "%", "#", "-", "+", " ", "\n", "\t",
             "\u2028", "\x0c", "a", "x", "if x", "endif", "for x in y", "endfor", "raw", "endraw",
             "'", '"', "'y'", '"y"', "== 'x'", "'%}'", "\\", "(", ")", "[", "]", "|upper", "1e-",
             "\ue001"]
OPTIONS = [{}, {"trim_blocks": True}, {"lstrip_blocks": True},
           {"trim_blocks": True, "lstrip_blocks": True}, {"keep_trailing_newline": False}]


def tokens_or_error(env: LaunchpadSandbox, source: str) -> list[tuple[int, str, str]] | str:
    try:
        return [(t.lineno, t.type, t.value) for t in env._tokenize(source, "template")]
    except jinja2.TemplateSyntaxError as exc:  # a skeleton that fails compiles its members alone
        return f"error on line {exc.lineno}"


def put_back(tokens: list[tuple[int, str, str]] | str, texts: tuple[str, ...]) -> object:
    if isinstance(tokens, str):
        return tokens
    return [(line, kind, _PLACEHOLDER.sub(lambda m: texts[int(m.group(1))], value)
             if kind == "data" else value) for line, kind, value in tokens]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join),
       st.sampled_from(OPTIONS))
def test_a_skeleton_lexes_as_its_source(source: str, options: dict) -> None:
    env = environment(**options)
    skeleton, texts = _skeleton(source)
    if skeleton is not None:
        assert put_back(tokens_or_error(env, skeleton), texts) == tokens_or_error(env, source)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from([*FRAGMENTS[:17], "a", "x"]), max_size=12).map("".join),
                min_size=2, max_size=4),
       st.sampled_from(OPTIONS))
def test_sources_sharing_a_skeleton_render_as_if_compiled_alone(
    texts: list[str], options: dict
) -> None:
    env = environment(**options)
    pattern = "{{{{ name }}}}{text}{{% if flag -%}} {{{{ name }}}}{{% endif %}}"
    sources = [pattern.format(text=text) for text in texts]
    for source, code in zip(sources, compile_many(env, sources, workers=1), strict=True):
        alone = _compile(env, source)
        assert (code is None) == (alone is None)
        if code is not None:
            assert outcome(env, code) == outcome(env, alone)


def outcome(env: LaunchpadSandbox, code: CodeType) -> str:
    try:
        return render(env, code)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("source", [
    "{{ '}}' }}", "{{ {'a': 1} }}", "{% raw %}{{ x }}{% endraw %}", "a{{{ x }}", "{{ x",
    "a\r\n{{ x }}", "\ue000{{ x }}",
])
def test_tags_the_split_cannot_see_through_have_no_skeleton(source: str) -> None:
    assert _skeleton(source) == (None, ())


@pytest.mark.parametrize("options", [{"variable_start_string": "[["},
                                     {"line_statement_prefix": "%"}])
def test_other_syntax_compiles_alone(options: dict) -> None:
    env = environment(**options)
    assert list(_group_by_skeleton(env, ["a {{ x }}", "b {{ x }}"])) == [None]


# The pack cache on disk: bounded, least recently used out first, and where it lives ------


def packed(cache: PackCache, n: int) -> list[str]:
    """Store a pack of one source, ``n`` telling it apart; its sources."""
    sources = [f"{{{{ name }}}} pack {n:04d}"]
    env = environment()
    cache.store(EnvOptions(), sources, compile_many(env, sources, workers=1))
    return sources


def aged(cache: PackCache, sources: list[str], seconds: float) -> None:
    path = cache._path(EnvOptions(), sources)
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_nothing_is_written_until_a_pack_is_stored(tmp_path: Path) -> None:
    cache = PackCache(tmp_path / "packs")
    assert cache.load(EnvOptions(), ["{{ x }}"]) is None
    assert cache.size() == 0
    assert not (tmp_path / "packs").exists()
    with pytest.raises(ValueError, match="at least 1 byte"):
        PackCache(tmp_path / "packs", max_bytes=0)


def test_packs_past_the_bound_go_least_recently_used_first(tmp_path: Path) -> None:
    probe = PackCache(tmp_path / "probe")
    packed(probe, 0)
    one = probe.size()
    cache = PackCache(tmp_path / "packs", max_bytes=3 * one + one // 2)  # room for three
    a, b, c = (packed(cache, n) for n in (1, 2, 3))
    for sources, seconds in ((a, 30), (b, 20), (c, 10)):
        aged(cache, sources, seconds)
    assert cache.load(EnvOptions(), a) is not None  # used now: the most recent
    d = packed(cache, 4)
    assert cache.load(EnvOptions(), b) is None  # the least recently used went
    assert all(cache.load(EnvOptions(), s) is not None for s in (a, c, d))
    assert cache.size() <= cache.max_bytes
    for n in range(5, 12):
        packed(cache, n)
        assert cache.size() <= cache.max_bytes
    assert len(list((tmp_path / "packs").glob("*.pack"))) == 3


def test_a_pack_larger_than_the_bound_is_not_kept_and_evicts_nothing(tmp_path: Path) -> None:
    cache = PackCache(tmp_path / "packs", max_bytes=4096)
    small = packed(cache, 1)
    env = environment()
    big = [f"{{{{ name }}}} {'x' * 100} {n}" for n in range(100)]
    cache.store(EnvOptions(), big, compile_many(env, big, workers=1))
    assert cache.load(EnvOptions(), big) is None
    assert cache.load(EnvOptions(), small) is not None


def test_temporary_files_left_by_a_killed_writer_count_and_go(tmp_path: Path) -> None:
    cache = PackCache(tmp_path / "packs", max_bytes=2048)
    (tmp_path / "packs").mkdir()
    stray = tmp_path / "packs" / ".abc.pack.123.tmp"
    stray.write_bytes(b"x" * 2000)
    os.utime(stray, (time.time() - 60, time.time() - 60))
    kept = packed(cache, 1)
    assert not stray.exists()
    assert cache.load(EnvOptions(), kept) is not None


TEMPLATE = {"name": "t", "variables": [{"name": "name", "type": "str", "default": "x"}],
            "files": [{"path": f"f{n}.txt", "content": f"{{{{ name }}}} file {n}"}
                      for n in range(3)]}


def test_a_service_launchpad_keeps_compiled_code_in_its_folder_not_the_cli_cache(
        tmp_path: Path) -> None:
    from launchpad_core.cli.main import _launchpad
    from launchpad_core.config import CoreSettings
    from launchpad_core.plugins.manager import make_plugin_manager

    settings = CoreSettings(cache_dir=tmp_path / "cli-cache")
    service = _launchpad(make_plugin_manager(), settings, service_cache=tmp_path / "compiled",
                         cache_bytes=10 * 1024 * 1024)
    service.structure(TEMPLATE)  # checking compiles every source: one pack
    assert len(list((tmp_path / "compiled").glob("*.pack"))) == 1
    assert not (tmp_path / "cli-cache").exists()

    cli = _launchpad(make_plugin_manager(), settings)
    cli.structure(TEMPLATE)
    assert len(list((tmp_path / "cli-cache" / "jinja").glob("*.pack"))) == 1


def test_a_small_bound_holds_across_many_templates_rendered(tmp_path: Path) -> None:
    from launchpad_core import Launchpad

    launchpad = Launchpad(bytecode_cache_dir=tmp_path / "compiled", bytecode_cache_bytes=8192)
    for n in range(12):
        definition = {**TEMPLATE, "files": [
            {"path": f"f{i}.txt", "content": f"{{{{ name }}}} template {n} file {i}"}
            for i in range(3)]}
        template = launchpad.structure(definition)
        launchpad.render(template, launchpad.resolve_answers(template, {}))
        total = sum(p.stat().st_size for p in (tmp_path / "compiled").iterdir())
        assert total <= 8192
    assert 1 <= len(list((tmp_path / "compiled").glob("*.pack"))) < 12
