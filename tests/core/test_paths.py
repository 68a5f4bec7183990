"""Output path safety: hostile paths, normalisation, collisions, safe_join."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launchpad_core.errors import PathCollisionError, UnsafePathError
from launchpad_core.model.output import RenderedFile
from launchpad_core.render.paths import (
    check_collisions,
    check_output_path,
    collision_key,
    parent_directories,
    safe_join,
)
from launchpad_core.render.sinks import DirectorySink

SOURCE = "template/{{ name }}.jinja"

HOSTILE_PATHS = {
    "empty": ("", "empty"),
    "only dot slash": ("./", "empty"),
    "double slash": ("//server/share", "absolute"),
    "only dot": ("./.", "empty"),
    "root": ("/", "absolute"),
    "absolute": ("/etc/passwd", "absolute"),
    "parent": ("../x", "'..'"),
    "parent deeper": ("a/../../b", "'..'"),
    "git hooks": (".git/hooks/pre-commit", "Git hooks"),
    "git config upper case": ("sub/.GIT/config", "Git hooks"),
    "parent at end": ("a/..", "'..'"),
    "parent alone": ("..", "'..'"),
    "drive with slash": ("C:/x", "colon"),
    "drive relative": ("c:x", "colon"),
    "colon inside": ("a/b:stream", "colon"),
    "backslash": ("a\\b", "backslash"),
    "backslash parent": ("..\\x", "backslash"),
    "nul": ("a\x00b", "control"),
    "newline": ("a\nb", "control"),
    "tab": ("a\tb", "control"),
    "escape": ("a\x1b[31mb", "control"),
    "delete": ("a\x7fb", "control"),
    "c1 next line": ("a\x85b", "control"),
    "bidi override": ("invoice\u202etxt.exe", "control"),
    "bidi isolate": ("a\u2066b", "control"),
    "zero width space": ("a\u200bb", "control"),
    "line separator": ("a\u2028b", "control"),
    "lone surrogate": ("a\ud800b", "control"),
    "con": ("CON", "reserved"),
    "con with extension": ("con.txt", "reserved"),
    "nul inside": ("a/NUL/b", "reserved"),
    "com1": ("COM1", "reserved"),
    "lpt9 with extension": ("LPT9.log", "reserved"),
    "superscript com": ("com\u00b9.txt", "reserved"),
    "aux mixed case": ("docs/Aux", "reserved"),
    "prn double extension": ("prn.tar.gz", "reserved"),
    "nul with space before dot": ("nul .txt", "reserved"),
    "conin$": ("CONIN$", "reserved"),
    "dot space": ("a. ", "dot or a space"),
    "trailing dot": ("trailing.", "dot or a space"),
    "trailing space": ("x ", "dot or a space"),
    "trailing dot on directory": ("dir./x", "dot or a space"),
    "three dots": ("...", "dot or a space"),
    "less than": ("a<b", "Windows"),
    "greater than": ("a>b", "Windows"),
    "double quote": ('a"b', "Windows"),
    "pipe": ("a|b", "Windows"),
    "question mark": ("a?b", "Windows"),
    "star": ("*.py", "Windows"),
    "long segment": ("x" * 256, "255 bytes"),
    "long multibyte segment": ("\u00e9" * 128, "255 bytes"),
    "long path": ("/".join(["d" * 200] * 21), "4096 bytes"),
}

UNICODE_PATH = "\u00fcn\u00efcode/\u0444\u0430\u0439\u043b.txt"
FINE_PATHS = {
    "a/b.txt": "a/b.txt",
    "dir/.hidden": "dir/.hidden",
    ".gitignore": ".gitignore",
    ".github/workflows/ci.yml": ".github/workflows/ci.yml",
    "a/.git-blame-ignore-revs": "a/.git-blame-ignore-revs",
    UNICODE_PATH: UNICODE_PATH,
    "cafe\u0301/x": "cafe\u0301/x",  # decomposed form is kept; collisions compare NFC
    "a//b": "a/b",
    "./a": "a",
    "a/./b": "a/b",
    "a/": "a",
    ".hidden": ".hidden",
    "a b/c d.txt": "a b/c d.txt",
    "CONSOLE.txt": "CONSOLE.txt",
    "com10": "com10",
    "lpt": "lpt",
    "nul_device.md": "nul_device.md",
    "\U0001f680.md": "\U0001f680.md",
    "x" * 255: "x" * 255,
    "\u00e9" * 127: "\u00e9" * 127,
}


@pytest.mark.parametrize(("path", "reason"), HOSTILE_PATHS.values(), ids=list(HOSTILE_PATHS))
def test_hostile_paths_are_refused_naming_the_source_and_rule(path: str, reason: str) -> None:
    with pytest.raises(UnsafePathError) as caught:
        check_output_path(path, source=SOURCE)
    assert caught.value.source == SOURCE
    assert SOURCE in str(caught.value)
    assert reason in caught.value.message
    assert caught.value.code == "unsafe_path"


def test_the_hostile_table_is_large() -> None:
    assert len(HOSTILE_PATHS) >= 30


@pytest.mark.parametrize(("path", "expected"), FINE_PATHS.items())
def test_fine_paths_are_normalised(path: str, expected: str) -> None:
    assert check_output_path(path, source=SOURCE) == expected


def test_a_long_hostile_path_is_shortened_in_the_message() -> None:
    with pytest.raises(UnsafePathError) as caught:
        check_output_path("a/" * 3000 + "..", source=SOURCE)
    assert len(caught.value.message) < 300


def test_parent_directories() -> None:
    assert list(parent_directories("a/b/c.txt")) == ["a", "a/b"]
    assert list(parent_directories("c.txt")) == []


# Collisions ------------------------------------------------------------------


def test_collision_key_ignores_case_and_unicode_normal_form() -> None:
    assert collision_key("README.md") == collision_key("readme.MD")
    assert collision_key("caf\u00e9") == collision_key("cafe\u0301")
    assert collision_key("a/b") != collision_key("a/c")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("README.md", "readme.MD"),
        ("caf\u00e9.txt", "cafe\u0301.txt"),
        ("Docs/a.txt", "docs/A.TXT"),
        ("a", "a/b"),
        ("a/b", "a"),
        ("Src", "src/main.py"),
        ("src/main.py", "SRC"),
        ("caf\u00e9/x", "cafe\u0301"),
    ],
)
def test_collisions_name_both_sources(first: str, second: str) -> None:
    with pytest.raises(PathCollisionError) as caught:
        check_collisions([(first, "one.jinja"), ("other.txt", "x"), (second, "two.jinja")])
    assert "one.jinja" in caught.value.message
    assert "two.jinja" in caught.value.message
    assert caught.value.source == "two.jinja"


def test_distinct_paths_do_not_collide() -> None:
    check_collisions([("a/b", "1"), ("a/c", "2"), ("ab", "3"), ("a.b/c", "4"), ("b", "5")])


# safe_join -----------------------------------------------------------------------


def test_safe_join_stays_below_root(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "a//b.txt") == tmp_path.resolve() / "a" / "b.txt"


def test_safe_join_refuses_an_escaping_path(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        safe_join(tmp_path, "a/../../etc/passwd", source="evil.jinja")


def test_safe_join_refuses_a_symlink_inside_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(UnsafePathError) as caught:
        safe_join(root, "link/x.txt", source="evil.jinja")
    assert caught.value.source == "evil.jinja"
    assert "symbolic link" in caught.value.message


def test_safe_join_refuses_a_symlinked_file(tmp_path: Path) -> None:
    (tmp_path / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(UnsafePathError):
        safe_join(tmp_path, "passwd")


# Property: whatever passes the check stays inside the destination -----------------

_TRICKY_CHARACTERS = '/.\\: \x00\n\t\x7f\x85\u202e\u200b<>|?*"CONUL1\u00b9e\u0301\u00e9'
_SEGMENTS = st.sampled_from(["..", ".", "", "CON", "nul.txt", "a", "b.", "x ", "\u00e9", "C:"])
_NAMES = st.text(st.characters(categories=["L", "N"], include_characters="._- "), min_size=1)
_PATHS = st.one_of(
    st.text(
        alphabet=st.one_of(st.sampled_from(_TRICKY_CHARACTERS), st.characters()),
        max_size=60,
    ),
    st.lists(st.one_of(_SEGMENTS, st.text(max_size=8)), max_size=6).map("/".join),
    st.lists(st.one_of(_NAMES, st.sampled_from(["", ".", ".hidden"])), max_size=6).map("/".join),
)


@settings(
    max_examples=200,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(path=_PATHS)
def test_checked_paths_stay_inside_the_destination(tmp_path: Path, path: str) -> None:
    try:
        checked = check_output_path(path, source="fuzz")
    except UnsafePathError:
        return
    root = Path(tempfile.mkdtemp(dir=tmp_path)).resolve()
    assert ".." not in checked.split("/")
    assert (root / checked).resolve().is_relative_to(root)
    assert check_output_path(checked, source="fuzz") == checked

    DirectorySink(root / "out").write([RenderedFile(checked, b"data")])
    written = [p for p in root.rglob("*") if p.is_file()]
    assert written == [root / "out" / checked]
