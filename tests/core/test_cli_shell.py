"""The command line in a shell: completion scripts, colour (on terminals, NO_COLOR,
FORCE_COLOR) and questions asked again at once when an answer is refused, driven
through a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from launchpad_core import Choice, Variable
from launchpad_core.cli import main as cli
from launchpad_core.cli import prompts
from launchpad_core.cli.colour import Palette, palette
from launchpad_core.config import CoreSettings
from launchpad_core.model.variables import BUILTIN_VARIABLE_TYPES

TYPES = {kind.name: kind for kind in BUILTIN_VARIABLE_TYPES}
ESCAPE = "\x1b["
SURVEY = {
    "name": "survey",
    "variables": [
        {"name": "project", "help": "Project name", "pattern": "[a-z]+"},
        {"name": "n", "type": "int", "default": 2, "help": "How many?",
         "validator": "{% if n > 10 %}at most 10{% endif %}"},
        {"name": "parts", "type": "multichoice", "help": "Parts", "default": ["cli"],
         "choices": ["cli", {"value": "web", "label": "Web app"}, "docs"]},
        {"name": "licence", "type": "choice", "default": "mit", "choices": ["mit", "apache"]},
    ],
    "files": [{"path": "out.txt",
               "content": "{{ project }} {{ n }} {{ parts | join(',') }} {{ licence }}\n"}],
}


class Terminal:
    """A command on a new pseudo-terminal (its controlling terminal), read as it writes."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path):
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))  # noqa: PLW1509
        os.close(slave)
        self.output = ""
        self.seen = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # the child closed the terminal
            return False
        self.output += chunk.decode(errors="replace").replace("\r\n", "\n")
        return bool(chunk)

    def expect(self, text: str, timeout: float = 30) -> str:
        """Everything written up to and including ``text``."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self.seen:]:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"no {text!r} in {self.output[self.seen:]!r}")
        end = self.output.index(text, self.seen) + len(text)
        shown, self.seen = self.output[self.seen:end], end
        return shown

    def send(self, line: str) -> None:
        """Type ``line`` and Enter; what the terminal echoes is read past."""
        os.write(self.master, f"{line}\n".encode())
        self.expect(f"{line}\n")

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(deadline - time.monotonic()):
            pass
        code = self.process.wait(timeout)
        os.close(self.master)
        return code, self.output[self.seen:]


def script() -> str:
    path = Path(sys.executable).with_name("launchpad")
    return str(path) if path.exists() else "launchpad"


def terminal(tmp_path: Path, *argv: str, **env: str) -> Terminal:
    environment = {**os.environ, "LAUNCHPAD_PLUGINS": "", "LAUNCHPAD_NO_CACHE": "1",
                   "LAUNCHPAD_NO_DAEMON": "1", "TERM": "xterm", **env}
    for name in ("NO_COLOR", "FORCE_COLOR"):
        if name not in env:
            environment.pop(name, None)
    return Terminal([script(), *argv], env=environment, cwd=tmp_path)


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(SURVEY))
    return path


# -- questions ----------------------------------------------------------------------------
def test_a_refused_answer_is_asked_again_at_once_with_the_reason(
    tmp_path: Path, survey: Path
) -> None:
    term = terminal(tmp_path, "render", str(survey), "out", NO_COLOR="1")
    term.expect("Project name: ")
    term.send("Not Valid")
    assert term.expect("Project name: ") == "  does not match the pattern [a-z]+\nProject name: "
    term.send("rocket")
    term.expect("How many? [2]: ")
    term.send("lots")
    assert term.expect("How many? [2]: ") == "  'lots' is not a whole number\nHow many? [2]: "
    term.send("11")
    assert term.expect("How many? [2]: ") == "  at most 10\nHow many? [2]: "
    term.send("7")
    listed = term.expect("Parts [cli]: ")  # the default as a person reads it
    assert listed == "  1) cli\n  2) Web app\n  3) docs\nParts [cli]: "
    term.send("2,3")
    term.expect("licence [mit]: ")
    term.send("2")
    code, rest = term.finish()
    assert (code, rest) == (0, "Wrote 1 file to out.\n")
    assert (tmp_path / "out" / "out.txt").read_text() == "rocket 7 web,docs apache\n"


@pytest.mark.parametrize(("reply", "picked"), [
    ("1 3", "cli,docs"), ("docs, Web app", "web,docs"), ("", "cli"), ('["web"]', "web"),
])
def test_multichoice_takes_numbers_names_labels_or_the_default(
    tmp_path: Path, survey: Path, reply: str, picked: str
) -> None:
    term = terminal(tmp_path, "render", str(survey), "out", "-d", "project=x", "-d", "n=1",
                    "-d", "licence=mit", NO_COLOR="1")
    term.expect("Parts [cli]: ")
    term.send(reply)
    assert term.finish()[0] == 0
    assert (tmp_path / "out" / "out.txt").read_text() == f"x 1 {picked} mit\n"


def test_a_bad_multichoice_pick_is_asked_again(tmp_path: Path, survey: Path) -> None:
    term = terminal(tmp_path, "render", str(survey), "out", "-d", "project=x", "-d", "n=1",
                    "-d", "licence=mit", NO_COLOR="1")
    term.expect("Parts [cli]: ")
    term.send("4")
    assert term.expect("Parts [cli]: ") == (
        "  '4' is not one of the choices ('cli', 'web', 'docs')\nParts [cli]: ")
    term.send("1")
    assert term.finish()[0] == 0


def test_the_end_of_input_is_one_line(tmp_path: Path, survey: Path) -> None:
    term = terminal(tmp_path, "render", str(survey), "out", NO_COLOR="1")
    term.expect("Project name: ")
    os.write(term.master, b"\x04")  # Ctrl-D
    code, rest = term.finish()
    assert code == 1
    assert rest.strip() == "launchpad: error: no answer for project: the input ended"
    assert not (tmp_path / "out").exists()


def test_ask_shows_the_reason_instead_of_the_choices_again(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("builtins.input", lambda prompt: "9")
    var = Variable(name="c", type="choice", choices=(Choice("a"), Choice("b")))
    assert prompts.ask(var, TYPES["choice"], "a", problem="'9' is not one of the choices") == "9"
    assert capsys.readouterr().err == "  '9' is not one of the choices\n"


# -- colour -------------------------------------------------------------------------------
def test_errors_and_success_are_coloured_on_a_terminal(tmp_path: Path, survey: Path) -> None:
    code, shown = terminal(tmp_path, "render", "missing.json", "out").finish()
    assert code == 1
    assert shown == f"launchpad: {ESCAPE}31merror:{ESCAPE}0m not found: missing.json\n"
    term = terminal(tmp_path, "render", str(survey), "out", "--defaults", "-d", "project=x")
    code, shown = term.finish()
    assert (code, shown) == (0, f"{ESCAPE}32mWrote 1 file to out.{ESCAPE}0m\n")


def test_no_color_turns_colour_off_on_a_terminal(tmp_path: Path, survey: Path) -> None:
    code, shown = terminal(tmp_path, "render", "missing.json", "out", NO_COLOR="1").finish()
    assert (code, shown) == (1, "launchpad: error: not found: missing.json\n")
    term = terminal(tmp_path, "render", str(survey), "out", NO_COLOR="1")
    assert ESCAPE not in term.expect("Project name: ")
    term.send("x")
    term.expect("How many? [2]: ")
    os.write(term.master, b"\x04")
    assert ESCAPE not in term.finish()[1]


def test_no_colour_off_a_terminal_unless_forced(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAUNCHPAD_PLUGINS", "")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert cli.main(["validate", "missing.json"]) == 1
    assert capsys.readouterr().err == "launchpad: error: not found: missing.json\n"
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert cli.main(["validate", "missing.json"]) == 1
    assert capsys.readouterr().err == (
        f"launchpad: {ESCAPE}31merror:{ESCAPE}0m not found: missing.json\n")


@pytest.mark.parametrize(("env", "colour"), [
    ({}, None), ({"NO_COLOR": "1"}, False), ({"NO_COLOR": ""}, None),
    ({"FORCE_COLOR": "1"}, True), ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
    ({"TERM": "dumb"}, False), ({"TERM": "dumb", "FORCE_COLOR": "1"}, True),
])
def test_the_colour_setting(env: dict[str, str], colour: bool | None) -> None:
    assert CoreSettings.from_env(env).colour is colour


def test_a_palette_follows_the_stream_unless_told() -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    assert palette(Tty(), setting=None) == Palette(True)  # type: ignore[arg-type]
    assert palette(Tty(), setting=False) == Palette(False)  # type: ignore[arg-type]
    assert palette(object(), setting=None) == Palette(False)  # type: ignore[arg-type]
    assert Palette(False).error("x") == "x"
    assert Palette(True).error("") == ""


# -- completion ---------------------------------------------------------------------------
def test_bash_completion(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["completion", "bash"]) == 0
    out = capsys.readouterr().out
    for command in ("render", "import", "validate", "login", "push", "generate", "completion"):
        assert command in out
    assert "--answers-file" in out
    path = tmp_path / "launchpad.bash"
    path.write_text(out)
    checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stderr
    complete = ("COMP_WORDS=(launchpad ren); COMP_CWORD=1; "
                "_shtab_launchpad launchpad ren launchpad; printf '%s\\n' \"${COMPREPLY[@]}\"")
    probe = subprocess.run(["bash", "-c", f"source {path}; {complete}"],
                           capture_output=True, text=True, check=False)
    assert "render" in probe.stdout.split(), probe.stderr


def test_zsh_completion(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["completion", "zsh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#compdef launchpad")
    assert "generate" in out and "--answers-file" in out
    if shutil.which("zsh"):
        path = tmp_path / "_launchpad"
        path.write_text(out)
        assert subprocess.run(["zsh", "-n", str(path)], check=False).returncode == 0


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["completion", "fish"])
    assert info.value.code == 2
    assert "invalid choice: 'fish'" in capsys.readouterr().err
