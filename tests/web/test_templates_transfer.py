"""Templates in and out as zips, and diffs between versions, over the API: importing a
zipped Copier template (evaluated in an evaluator child), refusals with their codes
(zip-slip, links, bombs, not a zip, another media type, too large), exporting a
template that imports back the same, and unified diffs per file."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from core.test_template_zips import COPIER, zipped

from launchpad_core.model.serialization import structure_template

from .test_templates import DEFINITION, create_template, person  # noqa: F401 (fixture)

ZIP = {"Content-Type": "application/zip"}


def upload(who, data, *, query="", headers=ZIP):
    return who.client.post(f"/api/templates/import{query}", body=data, headers=headers)


def test_a_zipped_copier_template_is_imported_not_saved_then_saved(person):  # noqa: F811
    ada = person()
    result = upload(ada, zipped(COPIER))
    assert result.status_code == 200, result.text
    imported = result.json
    assert imported["format"] == "copier" and imported["skipped_tasks"] == ["echo hi"]
    paths = {f["path"] for f in imported["definition"]["files"]}
    assert "{{ project_name }}/README.md" in paths
    assert ada.get("/api/templates").json["total"] == 0  # nothing stored
    saved = create_template(ada, "From copier", imported["definition"])
    assert saved["skipped_tasks"] == ["echo hi"]


@pytest.mark.parametrize(("entries", "code"), [
    ({"../evil/copier.yml": "x: 1\n"}, "unsafe_path"),
    ({"notes/readme.txt": "no template here"}, "load_error"),
    ({"copier.yml": "x: [unclosed\n"}, "load_error"),
])
def test_unsafe_or_unknown_archives_are_refused_with_their_code(person, entries, code):  # noqa: F811
    result = upload(person(), zipped(entries))
    assert result.status_code == 422, result.text
    assert result.json["code"] == code and result.json["field"] == "$"


def test_links_bombs_other_types_and_oversized_bodies_are_refused(person, make_app,  # noqa: F811
                                                                   new_client, signup):
    ada = person()
    link = upload(ada, zipped({}, links=[("copier.yml", "/etc/passwd")]))
    assert (link.status_code, link.json["code"]) == (422, "unsafe_path")
    bomb = upload(ada, zipped({"copier.yml": "x: 1\n", "big.txt": "0" * (40 * 1024 * 1024)}))
    assert (bomb.status_code, bomb.json["code"]) == (422, "limit_exceeded")
    not_zip = upload(ada, b"PK\x03\x04 broken")
    assert (not_zip.status_code, not_zip.json["code"]) == (422, "load_error")
    json_body = upload(ada, b"{}", headers={"Content-Type": "application/json"})
    assert (json_body.status_code, json_body.json["code"]) == (415, "unsupported_media_type")
    small = new_client(make_app(max_body_bytes=1000))
    signup(small)
    big = small.post("/api/templates/import", body=zipped({"a.bin": os.urandom(5000)}), headers=ZIP)
    assert (big.status_code, big.json["code"]) == (413, "payload_too_large")


def test_import_needs_a_user_and_the_csrf_token_from_a_browser(person, client):  # noqa: F811
    assert client.post("/api/templates/import", body=zipped(COPIER),
                       headers=ZIP).status_code == 401
    ada = person()
    refused = ada.client.post("/api/templates/import", body=zipped(COPIER),
                              headers={**ZIP, "Sec-Fetch-Site": "cross-site"})
    assert (refused.status_code, refused.json["code"]) == (403, "csrf_failed")


def test_export_is_a_launchpad_directory_that_imports_back_the_same(person):  # noqa: F811
    ada = person()
    template = create_template(ada, "Web <app>")
    ada.put(f"/api/templates/{template['id']}",
            {"name": "Web <app>", "version": 1,
             "definition": {**DEFINITION, "files": [*DEFINITION["files"],
                                                    {"path": "b.bin", "content": "AAE=",
                                                     "encoding": "base64", "render": False}]}})
    exported = ada.get(f"/api/templates/{template['id']}/export")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"] == "application/zip"
    assert 'filename="Web-app-v2.zip"' in exported.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert archive.read("b.bin") == b"\x00\x01"
        assert "launchpad.json" in archive.namelist()
    back = upload(ada, exported.content, query="?format=launchpad")
    assert back.status_code == 200, back.text
    latest = ada.get(f"/api/templates/{template['id']}").json["definition"]
    assert _files(back.json["definition"]) == _files(latest)
    first = ada.get(f"/api/templates/{template['id']}/export?version=1")
    with zipfile.ZipFile(io.BytesIO(first.content)) as archive:
        assert "b.bin" not in archive.namelist()
    assert ada.get(f"/api/templates/{template['id']}/export?version=9").status_code == 404
    assert person().get(f"/api/templates/{template['id']}/export").status_code == 404


def _files(definition):
    return sorted((f.path, f.content, f.encoding, f.when)
                  for f in structure_template(definition).files)


def test_the_diff_between_two_versions_is_a_unified_diff_per_file(person):  # noqa: F811
    ada = person()
    template = create_template(ada)
    changed = {**DEFINITION, "variables": [{"name": "project", "default": "comet"}],
               "files": [{"path": "{{ project }}/README.md", "content": "# {{ project }}!\n"},
                         {"path": "LICENSE", "content": "MIT\n"}]}
    assert ada.put(f"/api/templates/{template['id']}",
                   {"name": "Hello", "version": 1, "definition": changed}).status_code == 200
    result = ada.get(f"/api/templates/{template['id']}/diff?from=1&to=2")
    assert result.status_code == 200, result.text
    files = {f["path"]: f for f in result.json["files"]}
    assert files["LICENSE"]["change"] == "added" and "+MIT\n" in files["LICENSE"]["diff"]
    readme = files["{{ project }}/README.md"]
    assert readme["change"] == "modified"
    assert "-# {{ project }}\n+# {{ project }}!\n" in readme["diff"]
    assert readme["diff"].startswith("--- a/{{ project }}/README.md\n+++ b/{{ project }}/")
    assert '-      "default": "rocket"' in files["launchpad.json"]["diff"]
    back = ada.get(f"/api/templates/{template['id']}/diff?from=2&to=1").json
    assert {f["path"]: f["change"] for f in back["files"]}["LICENSE"] == "removed"
    same = ada.get(f"/api/templates/{template['id']}/diff?from=2&to=2").json
    assert same["files"] == []
    bad = ada.get(f"/api/templates/{template['id']}/diff?from=x&to=2")
    assert (bad.status_code, bad.json["field"]) == (422, "from")
    assert ada.get(f"/api/templates/{template['id']}/diff?from=1&to=7").status_code == 404
    assert person().get(f"/api/templates/{template['id']}/diff?from=1&to=2").status_code == 404
