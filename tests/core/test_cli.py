"""The ``launchpad`` command line, run in-process (and once as the real script)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from launchpad_core import Choice, Variable
from launchpad_core.cli import main as cli
from launchpad_core.cli import prompts as cli_prompts
from launchpad_core.model.variables import BUILTIN_VARIABLE_TYPES

TYPES = {kind.name: kind for kind in BUILTIN_VARIABLE_TYPES}

DEMO = {
    "name": "demo",
    "variables": [
        {"name": "project", "pattern": "[a-z]+", "help": "Project name"},
        {"name": "n", "type": "int", "default": 1},
        {"name": "token", "secret": True, "default": "s3cret"},
    ],
    "files": [
        {"path": "{{ project }}/README.md", "content": "# {{ project }} {{ n }}\n"},
        {"path": "run.sh", "content": "#!/bin/sh\n", "mode": "0755"},
    ],
    "settings": {"answers_file": ".answers.yml"},
}


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the built-in plugins, and a cache inside the test's directory."""
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAUNCHPAD_NO_CACHE", raising=False)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(DEMO))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_render_to_a_directory(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "out"
    code, out, err = run(capsys, "render", str(source), str(dest), "-d", "project=abc")
    assert (code, err) == (0, "")
    assert out == f"Wrote 3 files to {dest}.\n"
    assert (dest / "abc" / "README.md").read_text() == "# abc 1\n"
    assert stat.S_IMODE((dest / "run.sh").stat().st_mode) == 0o755
    answers = yaml.safe_load((dest / ".answers.yml").read_text())
    assert answers == {"_template": "demo", "_version": "0.1.0", "project": "abc", "n": 1}


def test_the_on_disk_cache_goes_where_the_settings_say(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    run(capsys, "render", str(source), str(tmp_path / "out"), "-d", "project=abc")
    assert list((tmp_path / "cache" / "jinja").iterdir())


@pytest.mark.parametrize(("fmt", "name"), [("zip", "out.zip"), ("tar.gz", "out.tar.gz")])
def test_render_to_an_archive(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path, fmt: str, name: str
) -> None:
    dest = tmp_path / name
    code, _, _ = run(capsys, "render", str(source), str(dest), "--format", fmt, "-d",
                     "project=abc", "-q")
    assert code == 0
    if fmt == "zip":
        names = [n for n in zipfile.ZipFile(dest).namelist() if not n.endswith("/")]
    else:
        with tarfile.open(dest) as archive:
            names = [m.name for m in archive.getmembers() if m.isfile()]
    assert sorted(names) == [".answers.yml", "abc/README.md", "run.sh"]


def test_existing_files_are_not_overwritten_without_force(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "out"
    run(capsys, "render", str(source), str(dest), "-d", "project=abc")
    (dest / "run.sh").write_text("mine")
    code, out, err = run(capsys, "render", str(source), str(dest), "-d", "project=abc")
    assert code == 1
    assert out == ""
    assert err.startswith("launchpad: error: 3 file(s) already exist in ")
    assert (dest / "run.sh").read_text() == "mine"
    code, _, _ = run(capsys, "render", str(source), str(dest), "-d", "project=abc", "--force")
    assert code == 0
    assert (dest / "run.sh").read_text() == "#!/bin/sh\n"


@pytest.mark.parametrize("item", ["project", "=x", ""])
def test_data_must_be_key_equals_value(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path, item: str
) -> None:
    code, _, err = run(capsys, "render", str(source), str(tmp_path / "o"), "-d", item)
    assert code == 1
    assert err == f"launchpad: error: -d takes KEY=VALUE, got {item!r}\n"
    assert not (tmp_path / "o").exists()


def test_a_value_may_hold_equals_signs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"name": "t", "variables": [{"name": "v"}],
                                "files": [{"path": "a", "content": "{{ v }}"}]}))
    code, _, _ = run(capsys, "render", str(path), str(tmp_path / "o"), "-d", "v=a=b")
    assert code == 0
    assert (tmp_path / "o" / "a").read_text() == "a=b"


def test_every_bad_answer_is_one_line(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    code, out, err = run(capsys, "render", str(source), str(tmp_path / "o"),
                         "-d", "project=ABC", "-d", "n=x", "-d", "bogus=1")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "launchpad: The answers are not valid.",
        "  $.bogus: no such variable",
        "  $.project: does not match the pattern [a-z]+",
        "  $.n: 'x' is not a whole number",
    ]
    assert not (tmp_path / "o").exists()


def test_a_missing_answer_without_a_terminal_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    assert not sys.stdin.isatty()
    code, _, err = run(capsys, "render", str(source), str(tmp_path / "o"))
    assert code == 1
    assert err.splitlines() == [
        "launchpad: The answers are not valid.",
        "  $.project: an answer is required (no default)",
    ]


def test_answers_from_a_file(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("project: xyz\nn: 5\n")
    code, _, _ = run(capsys, "render", str(source), str(tmp_path / "o"),
                     "--answers-file", str(answers), "-d", "n=6")
    assert code == 0
    assert (tmp_path / "o" / "xyz" / "README.md").read_text() == "# xyz 6\n"  # -d wins


def test_an_answers_file_must_hold_a_mapping(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text("[1, 2]")
    code, _, err = run(capsys, "render", str(source), str(tmp_path / "o"),
                       "--answers-file", str(answers))
    assert code == 1
    assert err == f"launchpad: error: {answers} must hold a mapping of answers\n"


def test_a_template_that_runs_code_needs_trust(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"name": "t", "files": [{"path": "a"}],
                                "settings": {"tasks": [{"command": "true"}]}}))
    code, _, err = run(capsys, "render", str(path), str(tmp_path / "o"))
    assert code == 1
    assert "refused unless it is trusted (--trust on the command line)" in err


# validate, schema, plugins -------------------------------------------------------------


def test_validate_lists_every_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "x", "files": [{"path": "../a"}],
                                "variables": [{"name": "a", "type": "zz"}]}))
    code, out, err = run(capsys, "validate", str(path))
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == "launchpad: The definition is not valid."
    assert lines[1].startswith("  $.variables[0].type: unknown type 'zz' (known: ")
    assert lines[2] == ("  $.files[0].path: unsafe output path '../a' (in '..'): "
                        "'..' segments would leave the destination")
    assert len(lines) == 3


def test_validate_a_good_template(
    capsys: pytest.CaptureFixture[str], source: Path
) -> None:
    assert run(capsys, "validate", str(source)) == (
        0, f"{source}: valid (3 variables, 2 files)\n", ""
    )


def test_validate_loads_jinja_extensions_only_with_trust(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ext.json"
    path.write_text(json.dumps({
        "name": "ext", "settings": {"jinja_extensions": ["jinja2.ext.do"]},
        "files": [{"path": "a.txt", "content": "{% set xs = [] %}{% do xs.append(1) %}"}]}))
    code, out, err = run(capsys, "validate", str(path))
    assert (code, out) == (1, "")  # `do` is no tag until the extension is loaded: needs trust
    assert err == ("launchpad: error: the template's files use its Jinja extensions "
                   "(jinja2.ext.do), which load only when it is trusted (--trust on the "
                   "command line)\n")
    assert run(capsys, "validate", "--trust", str(path)) == (
        0, f"{path}: valid (0 variables, 1 file)\n", "")


@pytest.mark.parametrize(("name", "text", "message"), [
    ("broken.json", '{"name": ', ": not valid JSON: Expecting value (line 1)"),
    ("broken.yml", "name: x\nfiles:\n  - path: a\n   bad: 1\n", ":4:4: not valid YAML: "),
])
def test_validate_a_file_that_does_not_parse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1
    assert err.startswith(f"launchpad: error: {path}{message}")
    assert len(err.splitlines()) == 1


def test_schema_prints_a_valid_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(DEMO, schema)


def test_plugins_lists_the_built_in_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    assert "launchpad_core.plugins.default_types: launchpad_variable_types" in out.splitlines()


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["nope"])
    assert info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


# Interactive questions -------------------------------------------------------------------


def _ask(
    monkeypatch: pytest.MonkeyPatch, var: Variable, default: Any, reply: str
) -> tuple[str, list[str]]:
    """What ``cli_prompts.ask`` returns for ``reply``, and the prompts it showed."""
    prompts: list[str] = []

    def fake_input(prompt: str) -> str:
        prompts.append(f"input:{prompt}")
        return reply

    def fake_getpass(prompt: str) -> str:
        prompts.append(f"getpass:{prompt}")
        return reply

    monkeypatch.setattr("builtins.input", fake_input)
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    return cli_prompts.ask(var, TYPES[var.type], default), prompts


def test_ask_shows_the_default_and_takes_it_for_an_empty_reply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    var = Variable(name="n", type="int", help="How many?")
    assert _ask(monkeypatch, var, 3, "") == ("3", ["input:How many? [3]: "])
    assert _ask(monkeypatch, var, 3, "7") == ("7", ["input:How many? [3]: "])


def test_ask_shows_booleans_as_yes_or_no(monkeypatch: pytest.MonkeyPatch) -> None:
    var = Variable(name="docker", type="bool")
    assert _ask(monkeypatch, var, False, "") == ("no", ["input:docker [no]: "])


def test_ask_without_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _ask(monkeypatch, Variable(name="x"), None, "") == ("", ["input:x: "])


def test_choices_are_numbered_and_picked_by_number(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    var = Variable(name="c", type="choice",
                   choices=(Choice("mit"), Choice("apache", label="Apache 2.0")))
    assert _ask(monkeypatch, var, "mit", "2")[0] == "apache"
    assert capsys.readouterr().err == "  1) mit\n  2) Apache 2.0\n"
    assert _ask(monkeypatch, var, "mit", "")[0] == "mit"
    assert _ask(monkeypatch, var, "mit", "9")[0] == "9"  # out of range: coercion reports it
    assert _ask(monkeypatch, var, "mit", "Apache 2.0")[0] == "Apache 2.0"  # labels match later


def test_secrets_are_asked_without_echo_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    var = Variable(name="token", secret=True, help="API token")
    assert _ask(monkeypatch, var, "default-secret", "typed") == (
        "typed", ["getpass:API token: "]
    )


def test_interactive_render_asks_for_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], source: Path,
    tmp_path: Path,
) -> None:
    replies = iter(["rocket"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: next(replies))
    monkeypatch.setattr("getpass.getpass", lambda prompt: "typed-secret")
    code, _, _ = run(capsys, "render", str(source), str(tmp_path / "o"), "-d", "n=2")
    assert code == 0
    assert (tmp_path / "o" / "rocket" / "README.md").read_text() == "# rocket 2\n"
    assert "typed-secret" not in (tmp_path / "o" / ".answers.yml").read_text()


# The real console script --------------------------------------------------------------


def test_the_console_script(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    env = {**os.environ, "LAUNCHPAD_PLUGINS": "", "LAUNCHPAD_NO_CACHE": "1"}
    script = Path(sys.executable).with_name("launchpad")  # the interpreter's own script
    command = str(script) if script.exists() else "launchpad"
    result = subprocess.run(
        [command, "render", str(source), str(dest), "-d", "project=abc"],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"Wrote 3 files to {dest}.\n"
    assert (dest / "abc" / "README.md").read_text() == "# abc 1\n"
