"""Template directories as zips: unpacking uploads safely (zip-slip, links, sizes,
counts) and exporting a definition as a LaunchPad directory that imports back the same."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest

from launchpad_core.errors import LimitExceededError, LoadError, UnsafePathError
from launchpad_core.isolation.hosted import imported_definition
from launchpad_core.model.serialization import structure_template
from launchpad_core.sources.zips import definition_zip, unpack

MIB = 1024 * 1024
COPIER = {
    "tpl/copier.yml": "project_name:\n  type: str\n  default: demo\n"
                      "use_docker:\n  type: bool\n  default: false\n"
                      "_tasks: ['echo hi']\n",
    "tpl/{{ project_name }}/README.md.jinja": "# {{ project_name }}\n",
    "tpl/{% if use_docker %}Dockerfile{% endif %}.jinja": "FROM python\n",
}


def zipped(entries, *, links=()):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return stream.getvalue()


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/etc/evil", "a\\..\\x",
                                  "C:/evil", "a/\x01b"])
def test_an_entry_leaving_the_folder_is_refused_before_anything_is_written(tmp_path, name):
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UnsafePathError):
        unpack(zipped({"ok.txt": "fine", name: "x"}), dest, max_bytes=MIB, max_files=10)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_links_bombs_many_entries_and_non_zips_are_refused(tmp_path):
    with pytest.raises(UnsafePathError, match="symbolic link"):
        unpack(zipped({}, links=[("link", "/etc/passwd")]), tmp_path, max_bytes=MIB,
               max_files=10)
    bomb = zipped({"big.txt": "0" * (4 * MIB)})
    assert len(bomb) < 100_000
    with pytest.raises(LimitExceededError, match="more than 1,048,576 bytes"):
        unpack(bomb, tmp_path / "b", max_bytes=MIB, max_files=10)
    with pytest.raises(LimitExceededError, match="more than 3 entries"):
        unpack(zipped({f"f{i}": "" for i in range(4)}), tmp_path, max_bytes=MIB, max_files=3)
    with pytest.raises(LoadError, match="not a zip"):
        unpack(b"PK not really", tmp_path, max_bytes=MIB, max_files=3)


def test_a_copier_zip_imports_untrusted_with_its_tasks_left_out():
    definition = imported_definition(zipped(COPIER), None, 100, MIB)
    assert [v["name"] for v in definition["variables"]] == ["project_name", "use_docker"]
    paths = {f["path"] for f in definition["files"]}
    assert "{{ project_name }}/README.md" in paths
    assert definition["settings"]["origin"]["format"] == "copier"
    assert definition["settings"]["origin"]["skipped_tasks"] == ["echo hi"]
    assert "tasks" not in definition["settings"] or not definition["settings"]["tasks"]


def test_an_unknown_directory_is_a_load_error():
    with pytest.raises(LoadError, match="not a template any importer recognises"):
        imported_definition(zipped({"x/notes.txt": "hi"}), None, 100, MIB)


def test_an_exported_definition_imports_back_the_same():
    definition = {
        "name": "svc",
        "variables": [{"name": "project_name", "type": "str", "default": "demo"},
                      {"name": "docker", "type": "bool", "default": False}],
        "files": [
            {"path": "{{ project_name }}/README.md", "content": "# {{ project_name }}\n"},
            {"path": "Dockerfile", "content": "FROM python\n", "when": "{{ docker }}"},
            {"path": "run.sh", "content": "#!/bin/sh\n", "mode": 493},
            {"path": "logo.png", "content": "iVBORw0KGgo=", "encoding": "base64",
             "render": False},
            {"path": "raw.txt", "content": "{{ kept }}", "render": False},
            {"path": "empty/"},
        ],
    }
    data = definition_zip(definition)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("launchpad.json"))
        assert archive.read("logo.png") == b"\x89PNG\r\n\x1a\n"
    assert {"path": "Dockerfile", "when": "{{ docker }}"} in manifest["files"]
    back = imported_definition(data, "launchpad", 100, MIB)
    assert _files(structure_template(back)) == _files(structure_template(definition))
    assert structure_template(back).variables == structure_template(definition).variables


def _files(template):
    return sorted((f.path, f.content, f.encoding, f.render, f.when, f.mode)
                  for f in template.files)
