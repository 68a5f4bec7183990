"""Loading definitions and template directories from disk, and writing them back."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from launchpad_core import DefinitionError, FileSpec, Launchpad, Limits, Template
from launchpad_core.errors import LoadError
from launchpad_core.sources.loading import write_definition, write_directory
from launchpad_core.testing import render_tree

from .conftest import make_launchpad
from .test_definition import FULL

PNG = b"\x89PNG\r\n\x1a\n\x00\x01{{ x }}"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode()
        path.write_bytes(data)
    return root


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    root = write(tmp_path / "tpl", {
        "launchpad.yml": yaml.safe_dump({
            "name": "dirtpl",
            "variables": [{"name": "project", "default": "demo"}],
            "files": [
                {"path": "src/{{ project }}.py", "when": "project != 'skip'"},
                {"path": "extra.txt", "content": "inline {{ project }}"},
                {"path": "raw.txt", "render": False},
            ],
        }),
        "src/{{ project }}.py": 'print("{{ project }}")\n',
        "run.sh": "#!/bin/sh\necho hi\n",
        "raw.txt": "{{ raw }}",
        "logo.png": PNG,
        ".git/HEAD": "ref: refs/heads/main\n",
    })
    (root / "run.sh").chmod(0o755)
    return root


# Definition files --------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".yml", ".yaml"])
def test_definition_files(lp: Launchpad, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    text = json.dumps(FULL) if suffix == ".json" else yaml.safe_dump(FULL)
    path.write_text(text)
    assert lp.unstructure(lp.load(path)) == FULL


def test_a_json_parse_error_names_the_line(lp: Launchpad, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{\n  "name": "t",\n  "files": [\n}\n')
    with pytest.raises(LoadError) as info:
        lp.load(path)
    assert str(info.value) == f"{path}: not valid JSON: Expecting value (line 4)"


def test_a_yaml_parse_error_names_the_line(lp: Launchpad, tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text("name: t\nfiles:\n  - path: a\n   bad: 1\n")
    with pytest.raises(LoadError) as info:
        lp.load(path)
    assert str(info.value) == (f"{path}:4:4: not valid YAML: "
                               "expected <block end>, but found '<block mapping start>'")


def test_a_definition_file_is_checked(lp: Launchpad, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"name": "t", "files": [{"path": "/etc/x"}]}))
    with pytest.raises(DefinitionError) as info:
        lp.load(path)
    assert [p.path for p in info.value.problems] == ["$.files[0].path"]


def test_a_missing_source(lp: Launchpad, tmp_path: Path) -> None:
    with pytest.raises(LoadError) as info:
        lp.load(tmp_path / "nothing")
    assert str(info.value) == f"not found: {tmp_path / 'nothing'}"


def test_a_directory_no_one_recognises(lp: Launchpad, tmp_path: Path) -> None:
    write(tmp_path / "d", {"README.md": "hi"})
    with pytest.raises(LoadError, match=r"has no launchpad\.yml and no importer recognises it"):
        lp.load(tmp_path / "d")


def test_a_definition_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"name": "t", "description": "x" * 200}))
    with pytest.raises(LoadError, match="over the limit of 100"):
        make_launchpad(Limits(max_definition_bytes=100)).load(path)


# Template directories -----------------------------------------------------------------


def test_a_template_directory(lp: Launchpad, template_dir: Path) -> None:
    template = lp.load(template_dir)
    files = {spec.path: spec for spec in template.files}
    assert set(files) == {"extra.txt", "logo.png", "raw.txt", "run.sh", "src/{{ project }}.py"}
    assert files["src/{{ project }}.py"].when == "project != 'skip'"  # settings from the yml
    assert files["raw.txt"].render is False
    assert files["extra.txt"].content == "inline {{ project }}"
    assert files["run.sh"].mode == 0o755  # the executable bit is kept
    assert files["raw.txt"].mode is None
    assert files["logo.png"].encoding == "base64"
    assert files["logo.png"].data == PNG
    assert files["logo.png"].render is False


def test_a_template_directory_renders(lp: Launchpad, template_dir: Path) -> None:
    data = lp.unstructure(lp.load(template_dir))
    assert render_tree(lp, data, {"project": "rocket"}) == {
        "extra.txt": b"inline rocket",
        "logo.png": PNG,
        "raw.txt": b"{{ raw }}",
        "run.sh": b"#!/bin/sh\necho hi\n",
        "src/rocket.py": b'print("rocket")\n',
    }


def test_files_listed_but_missing_from_the_tree(lp: Launchpad, template_dir: Path) -> None:
    (template_dir / "raw.txt").unlink()
    with pytest.raises(LoadError, match=r"lists files that are not in the tree: \['raw.txt'\]"):
        lp.load(template_dir)


def test_files_entries_that_are_not_mappings_are_reported(
    lp: Launchpad, tmp_path: Path
) -> None:
    root = write(tmp_path / "d", {"launchpad.yml": "name: t\nfiles:\n  - README.md\n",
                                  "README.md": "hi"})
    with pytest.raises(DefinitionError) as info:
        lp.load(root)
    assert [p.path for p in info.value.problems] == ["$.files[0]"]


def test_files_that_is_not_a_list(lp: Launchpad, tmp_path: Path) -> None:
    root = write(tmp_path / "d", {"launchpad.yml": "name: t\nfiles: README.md\n"})
    with pytest.raises(LoadError, match="'files' must be a list"):
        lp.load(root)


def test_a_symlink_pointing_outside_is_refused(
    lp: Launchpad, template_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    os.symlink(secret, template_dir / "leak.txt")
    with pytest.raises(LoadError, match=r"leak\.txt links outside the template directory"):
        lp.load(template_dir)


def test_a_symlink_inside_is_read_as_its_target(lp: Launchpad, template_dir: Path) -> None:
    os.symlink("run.sh", template_dir / "alias.sh")
    files = {spec.path: spec for spec in lp.load(template_dir).files}
    assert files["alias.sh"].content == files["run.sh"].content


# Writing back ---------------------------------------------------------------------------


def test_write_directory_round_trip(lp: Launchpad, template_dir: Path, tmp_path: Path) -> None:
    template = lp.load(template_dir)
    copy = tmp_path / "copy"
    write_directory(template, copy)
    assert lp.load(copy) == template
    assert stat.S_IMODE((copy / "run.sh").stat().st_mode) == 0o755
    assert (copy / "logo.png").read_bytes() == PNG
    listed = yaml.safe_load((copy / "launchpad.yml").read_text())["files"]
    assert {"path": "src/{{ project }}.py", "when": "project != 'skip'"} in listed


def test_write_directory_refuses_paths_outside(tmp_path: Path) -> None:
    template = Template(name="t", files=(FileSpec(path="../escape.txt"),))
    with pytest.raises(LoadError, match="would be written outside"):
        write_directory(template, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("suffix", [".json", ".yml"])
def test_write_definition_round_trip(lp: Launchpad, tmp_path: Path, suffix: str) -> None:
    template = lp.structure(FULL)
    path = tmp_path / f"t{suffix}"
    write_definition(template, path)
    assert lp.load(path) == template
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_binary_bytes_become_base64_and_text_stays_text() -> None:
    assert FileSpec.from_bytes("a", b"hi\n").encoding == "utf-8"
    assert FileSpec.from_bytes("a", b"nul\x00inside").encoding == "base64"
    spec = FileSpec.from_bytes("a", b"\xff\xfe")
    assert spec.content == base64.b64encode(b"\xff\xfe").decode()
    assert spec.data == b"\xff\xfe"
