"""Bad input on the command line: each is one line on stderr and a non-zero exit, never a
traceback (in-process, and through the real console script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from launchpad_core import __version__
from launchpad_core.cli import main as cli

HELLO = {"name": "hello", "variables": [{"name": "who", "default": "world"}],
         "files": [{"path": "hello.txt", "content": "hello {{ who }}\n"}]}
BAD_YAML = "name: x\nfiles:\n  - path: a\n   bad: 1\n"
YAML_PROBLEM = "not valid YAML: expected <block end>, but found '<block mapping start>'"


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.setenv("LAUNCHPAD_NO_CACHE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "hello.json"
    path.write_text(json.dumps(HELLO))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one line a failing command prints (without ``launchpad: error: ``)."""
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, ""), err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("launchpad: error: ")
    return err.removeprefix("launchpad: error: ").rstrip("\n")


# -- files named on the command line -----------------------------------------------------
def test_an_answers_file_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], source: Path
) -> None:
    assert one_error(capsys, "render", str(source), "out", "--answers-file", "nope.yml") == (
        "not found: nope.yml")
    assert not Path("out").exists()


def test_an_answers_file_that_is_a_directory(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    (tmp_path / "answers").mkdir()
    assert one_error(capsys, "render", str(source), "out", "--answers-file", "answers") == (
        "answers is a directory, not a file")


def test_an_answers_file_that_does_not_parse(
    capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path
) -> None:
    (tmp_path / "answers.yml").write_text(BAD_YAML)
    assert one_error(capsys, "render", str(source), "out", "--answers-file", "answers.yml") == (
        f"answers.yml:4:4: {YAML_PROBLEM}")


def test_a_definition_that_does_not_parse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "t.yml").write_text(BAD_YAML)
    for command in (["validate", "t.yml"], ["render", "t.yml", "out"]):
        assert one_error(capsys, *command) == f"t.yml:4:4: {YAML_PROBLEM}"


def test_a_template_directory_whose_launchpad_yml_does_not_parse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "launchpad.yml").write_text(BAD_YAML)
    assert one_error(capsys, "validate", "t") == f"t/launchpad.yml:4:4: {YAML_PROBLEM}"


def test_a_copier_yml_that_does_not_parse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "copier.yml").write_text("a: [1,\n")
    message = one_error(capsys, "import", "copier", "c", "-o", "c.json")
    assert message.startswith("c/copier.yml:2:1: not valid YAML: ")


def test_a_missing_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert one_error(capsys, "render", "missing.yml", "out") == "not found: missing.yml"
    assert one_error(capsys, "validate", "missing") == "not found: missing"
    assert one_error(capsys, "import", "copier", "missing", "-o", "x.json") == "not found: missing"


def test_import_into_a_folder_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "launchpad.yml").write_text("name: t\n")
    assert one_error(capsys, "import", "launchpad", "t", "-o", "nowhere/t.json") == (
        "cannot write nowhere/t.json: the folder nowhere does not exist")
    assert not (tmp_path / "nowhere").exists()


def test_an_unknown_importer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    message = one_error(capsys, "import", "nope", "t", "-o", "t.json")
    assert message == "no importer named 'nope' (known: cookiecutter, copier, launchpad)"


@pytest.mark.parametrize(("extension", "reason"), [
    ("no_such_module.ext", "ModuleNotFoundError: No module named 'no_such_module'"),
    ("jinja2.no_such_extension", "AttributeError: module 'jinja2' has no attribute"),
])
def test_a_jinja_extension_that_cannot_be_imported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extension: str, reason: str
) -> None:
    (tmp_path / "t.json").write_text(json.dumps({
        "name": "t", "settings": {"jinja_extensions": [extension]},
        "files": [{"path": "a.txt", "content": "{{ 1 }}"}]}))
    for command in (["render", "t.json", "out", "--trust"], ["validate", "t.json", "--trust"]):
        message = one_error(capsys, *command)
        assert message.startswith(f"a Jinja extension ({extension}) cannot be loaded: {reason}")
    assert not Path("out").exists()


# -- destinations -------------------------------------------------------------------------
def test_existing_files_name_force(capsys: pytest.CaptureFixture[str], source: Path) -> None:
    assert run(capsys, "render", str(source), "out", "-q")[0] == 0
    assert one_error(capsys, "render", str(source), "out") == (
        f"1 file(s) already exist in {Path('out').resolve()}: hello.txt; add --force to overwrite")
    assert run(capsys, "render", str(source), "out", "-q", "--force")[0] == 0


def test_an_existing_archive_names_force(
    capsys: pytest.CaptureFixture[str], source: Path
) -> None:
    Path("out.zip").write_bytes(b"mine")
    assert one_error(capsys, "render", str(source), "out.zip") == (
        "out.zip already exists; add --force to overwrite")
    assert Path("out.zip").read_bytes() == b"mine"


@pytest.mark.parametrize("name", ["out.zip", "OUT.ZIP", "out.tar.gz", "out.tgz"])
def test_the_archive_format_comes_from_the_extension(
    capsys: pytest.CaptureFixture[str], source: Path, name: str
) -> None:
    code, out, _ = run(capsys, "render", str(source), name)
    assert (code, out) == (0, f"Wrote 1 file to {name}.\n")
    assert Path(name).is_file()
    if name.lower().endswith(".zip"):
        assert zipfile.ZipFile(name).namelist() == ["hello.txt"]
    else:
        with tarfile.open(name) as archive:
            assert archive.getnames() == ["hello.txt"]


def test_an_explicit_format_wins_over_the_extension(
    capsys: pytest.CaptureFixture[str], source: Path
) -> None:
    assert run(capsys, "render", str(source), "out.zip", "--format", "dir", "-q")[0] == 0
    assert (Path("out.zip") / "hello.txt").is_file()


# -- the bare command ---------------------------------------------------------------------
def test_launchpad_alone_prints_the_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert (code, err) == (0, "")
    assert out.startswith("usage: launchpad [-h] [--version] COMMAND ...")
    for command in ("render", "import", "login", "push", "generate", "completion"):
        assert f"\n    {command}" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"launchpad {__version__}\n"


# -- the real console script: no traceback reaches the user --------------------------------
def test_the_console_script_prints_one_line_per_error(source: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text(BAD_YAML)
    env = {**os.environ, "LAUNCHPAD_PLUGINS": "", "LAUNCHPAD_NO_CACHE": "1", "NO_COLOR": "1",
           "LAUNCHPAD_NO_DAEMON": "1"}
    script = Path(sys.executable).with_name("launchpad")
    command = str(script) if script.exists() else "launchpad"
    cases = [
        ["render", str(source), "o", "--answers-file", "nope.yml"],
        ["render", str(source), "o", "--answers-file", str(tmp_path)],
        ["import", "copier", str(tmp_path), "-o", "nowhere/x.json"],
        ["validate", "bad.yml"],
        ["render", "nothing-here", "o"],
    ]
    for argv in cases:
        result = subprocess.run([command, *argv], capture_output=True, text=True, env=env,
                                cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=60,
                                check=False)
        assert result.returncode == 1, argv
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("launchpad: error: "), result.stderr
    bare = subprocess.run([command], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert (bare.returncode, bare.stderr) == (0, "")
    assert bare.stdout.startswith("usage: launchpad")
