"""The visual template builder (``/templates/{id}/edit``) in real headless Chromium,
with the fixtures of test_browser.py: a template built from scratch (two files, a
templated path, a variable with a ``when``), its live preview, saving, a validation
error shown at its file, a restored version, a conflict between two tabs, the JSON
export as JSON and as a zip, the diff between two versions, a Copier zip imported;
axe-core finds no serious or critical violation, at 1280 and 375 px.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from core.test_template_zips import COPIER, zipped
from playwright.sync_api import Page, expect

from .test_browser import Browser, base_url, chromium, database, sign_up, tab_to  # noqa: F401

pytestmark = pytest.mark.slow  # a browser, or hundreds of requests: the full run only

BUILT = {
    "name": "scratch",
    "variables": [
        {"name": "project_name", "type": "str", "help": "Shown in the README",
         "validator": "{% if project_name | length > 40 %}too long{% endif %}"},
        {"name": "docker", "type": "bool", "default": False},
        {"name": "base_image", "type": "choice", "choices": ["python", "debian"],
         "default": "python", "when": "{{ docker }}"},
    ],
    "files": [
        {"path": "{{ project_name }}/README.md", "content": "# {{ project_name }}"},
        {"path": "Dockerfile", "content": "FROM {{ base_image }}", "when": "{{ docker }}"},
    ],
}


@pytest.mark.parametrize("width", [1280, 375])
def test_build_preview_save_restore_and_conflict(chromium: Any, base_url: str,  # noqa: F811
                                                 width: int) -> None:
    context = chromium.new_context(base_url=base_url, accept_downloads=True,
                                   viewport={"width": width, "height": 900})
    b = Browser(context.new_page(), base_url, f"builder-w{width}")
    sign_up(b, f"builder-{width}@example.com")
    start_from_scratch(b)
    add_variables(b)
    add_files(b)
    preview_follows_answers(b)
    json_view_holds_the_definition(b)
    save(b.page, "Saved as version 2.")
    validation_error_at_its_file(b)
    restore_an_old_version(b)
    conflict_between_two_tabs(b, context)
    export_json(b)
    diff_two_versions(b)
    export_zip(b)
    import_a_copier_zip(b)
    assert [p for p in b.problems if not _expected_status(p)] == []
    assert any("412" in p for p in b.problems), b.problems  # the stale tab's save, refused
    context.close()


def start_from_scratch(b: Browser) -> None:
    page = b.page
    page.get_by_role("link", name="New template").first.click()
    page.get_by_label("Name").fill("scratch")
    page.get_by_label("Definition (JSON)").fill('{"name": "scratch", "files": []}')
    page.get_by_role("button", name="Create template").click()
    expect(page).to_have_url(re.compile(r".*/templates/[0-9a-f-]{36}/edit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit scratch")
    expect(page.locator("#b-files")).to_contain_text("No files yet.")
    expect(page.locator("#builder[data-editor-ready]")).to_have_count(1)  # CodeMirror loaded
    b.check("empty")


def add_variables(b: Browser) -> None:
    page = b.page
    page.get_by_role("button", name="Variables", exact=True).click()
    page.get_by_role("button", name="Add variable").click()
    page.locator("#var-0-name").fill("project_name")
    page.locator("#var-0-help").fill("Shown in the README")
    page.locator("#var-0-validator").fill("{% if project_name | length > 40 %}too long{% endif %}")
    page.get_by_role("button", name="Add variable").click()
    page.locator("#var-1-name").fill("base_image")
    page.locator("#var-1-type").select_option("choice")
    page.locator("#var-1-choices").fill("python\ndebian")
    page.locator("#var-1-default").fill("python")
    page.locator("#var-1-when").fill("{{ docker }}")
    page.get_by_role("button", name="Add variable").click()
    page.locator("#var-2-name").fill("docker")
    page.locator("#var-2-type").select_option("bool")
    page.locator("#var-2-default").fill("false")
    page.get_by_role("button", name="Move up docker").click()  # before the question it decides
    expect(page.locator("#var-1-name")).to_have_value("docker")
    expect(page.locator("#var-2-name")).to_have_value("base_image")
    expect(page.locator("#var-1-name")).to_be_focused()  # the moved one keeps the focus
    b.check("variables")


def add_files(b: Browser) -> None:
    page = b.page
    page.get_by_role("button", name="Files", exact=True).click()
    page.get_by_label("New file path").fill("{{ project_name }}/README.md")
    page.get_by_role("button", name="Add file").click()
    page.get_by_label("Content").fill("# {{ project_name }}")
    page.get_by_label("New file path").fill("Docker")
    page.get_by_role("button", name="Add file").click()
    page.get_by_label("Path of the selected file").fill("Dockerfile")
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Content").fill("FROM {{ base_image }}")
    page.get_by_label("Only when").fill("{{ docker }}")
    tree = page.locator("#b-files li")
    expect(tree).to_have_count(3)  # the folder {{ project_name }}/ with its README, the Dockerfile
    expect(tree.nth(0)).to_contain_text("folder")
    expect(tree.nth(1)).to_contain_text("templated path")
    expect(tree.nth(2)).to_contain_text("when {{ docker }}")


def preview_follows_answers(b: Browser) -> None:
    page = b.page
    rendered = page.locator("#b-rendered li")
    page.get_by_label("project_name", exact=True).fill("rocket")
    expect(rendered).to_have_text(["rocket/README.md"])
    expect(page.locator("#b-output")).to_have_text("# rocket")
    skipped = page.locator("#b-skipped li")
    expect(skipped).to_have_text(["Left out: Dockerfile: its condition (when) is false"])
    page.get_by_label("docker", exact=True).check()
    expect(rendered).to_have_text(["Dockerfile", "rocket/README.md"])
    expect(skipped).to_have_count(0)
    page.get_by_role("button", name="Dockerfile").last.click()
    expect(page.locator("#b-output")).to_have_text("FROM python")
    page.get_by_label("base_image", exact=True).fill("debian")
    expect(page.locator("#b-output")).to_have_text("FROM debian")
    b.check("files")


def json_view_holds_the_definition(b: Browser) -> None:
    page = b.page
    page.get_by_role("button", name="JSON", exact=True).click()
    written = json.loads(page.get_by_label("Definition (JSON)").input_value())
    assert written == BUILT
    page.get_by_label("Definition (JSON)").fill('{"files": [{"content": "no path"}]}')
    expect(page.locator("#b-json-error")).to_have_text("files[0] needs a path (a string).")
    page.get_by_label("Definition (JSON)").fill('{"files": [')
    expect(page.locator("#b-json-error")).to_contain_text("Not JSON yet")
    text = json.dumps({**BUILT, "files": [*BUILT["files"], {"path": "LICENSE", "content": "MIT"}]})
    page.get_by_label("Definition (JSON)").fill(text)
    page.get_by_role("button", name="Files", exact=True).click()
    expect(page.locator("#b-files li")).to_have_count(4)
    page.get_by_role("button", name="LICENSE").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#b-files li")).to_have_count(3)
    b.check("json")


def save(page: Page, message: str) -> None:
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#b-status")).to_have_text(message)


def validation_error_at_its_file(b: Browser) -> None:
    page = b.page
    page.locator("#b-files").get_by_role("button", name="{{ project_name }}/README.md").click()
    page.get_by_label("Content").fill("# {{ project_name }}\n{% if %}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#b-content-error")).to_contain_text("line 2")
    expect(page.get_by_label("Content")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#b-files li").nth(1)).to_contain_text("1 problem")
    expect(page.locator("#b-version")).to_have_text("version 2")
    b.check("error")
    page.get_by_role("button", name="Go to line 2").click()
    expect(page.get_by_label("Content")).to_be_focused()
    assert page.evaluate("String(getSelection())") == "{% if %}"
    page.get_by_label("Content").fill("# {{ project_name }}!")
    page.locator("#b-rendered").get_by_role("button", name="rocket/README.md").click()
    expect(page.locator("#b-output")).to_have_text("# rocket!")
    page.get_by_role("button", name="Versions", exact=True).click()
    page.get_by_role("button", name="Restore version 1").click()  # would drop the edit
    expect(page.locator("#b-status")).to_contain_text("Save your changes first")
    page.get_by_role("button", name="Files", exact=True).click()
    save(page, "Saved as version 3.")
    expect(page.locator("#b-content-error")).to_have_text("")


def restore_an_old_version(b: Browser) -> None:
    page = b.page
    page.get_by_role("button", name="Versions", exact=True).click()
    expect(page.locator("#b-versions li")).to_have_count(3)
    b.check("versions")
    page.get_by_role("button", name="Restore version 2").click()
    expect(page.locator("#b-status")).to_have_text("Restored version 2 as version 4.")
    expect(page.locator("#b-versions li")).to_have_count(4)
    saved = page.request.get(page.url.replace("/templates/", "/api/templates/")
                             .removesuffix("/edit")).json()
    assert saved["version"] == 4
    assert saved["definition"] == BUILT


def conflict_between_two_tabs(b: Browser, context: Any) -> None:
    page = b.page
    other = Browser(context.new_page(), b.base, f"{b.name}-other")
    other.page.goto(page.url)
    expect(other.page.locator("#b-version")).to_have_text("version 4")
    other.page.get_by_label("Content").fill("# {{ project_name }} from the other tab")
    save(other.page, "Saved as version 5.")

    page.get_by_role("button", name="Files", exact=True).click()
    page.get_by_label("Content").fill("# {{ project_name }} from the first tab")
    page.get_by_role("button", name="Save", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("changed elsewhere")
    api = page.url.replace("/templates/", "/api/templates/").removesuffix("/edit")
    saved = page.request.get(api).json()
    assert saved["version"] == 5
    assert saved["definition"]["files"][0]["content"] == "# {{ project_name }} from the other tab"
    page.get_by_role("button", name="Load the latest version (drops your edits)").click()
    expect(page.locator("#b-version")).to_have_text("version 5")
    expect(page.get_by_label("Content")).to_have_text("# {{ project_name }} from the other tab")
    expect(alert).to_be_hidden()
    # its first preview rendered with sample answers
    assert [p for p in other.problems if not _expected_status(p)] == []
    other.page.close()


def export_json(b: Browser) -> None:
    page = b.page
    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSON").click()
    assert download.value.suggested_filename == "scratch.json"
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["files"][0]["content"] == "# {{ project_name }} from the other tab"
    assert exported["variables"] == BUILT["variables"]


def diff_two_versions(b: Browser) -> None:
    page = b.page
    page.get_by_role("button", name="Versions", exact=True).click()
    expect(page.get_by_label("From version")).to_have_value("4")
    expect(page.get_by_label("To version")).to_have_value("5")
    page.get_by_role("button", name="Show the changes").click()
    result = page.locator("#b-diff-result")
    expect(result).to_contain_text("From version 4 to version 5: 1 changed")
    expect(result.locator(".diff-add")).to_have_text(["+# {{ project_name }} from the other tab"])
    expect(result.locator(".diff-del")).to_have_text(["-# {{ project_name }}"])
    b.check("diff")
    page.get_by_label("From version").select_option("1")
    page.get_by_role("button", name="Show the changes").click()
    expect(result).to_contain_text("launchpad.json")


def export_zip(b: Browser) -> None:
    with b.page.expect_download() as download:
        b.page.get_by_role("link", name="Export zip (saved version)").click()
    assert download.value.suggested_filename == "scratch-v5.zip"
    with zipfile.ZipFile(download.value.path()) as archive:
        assert archive.read("{{ project_name }}/README.md") == (
            b"# {{ project_name }} from the other tab")
        assert "launchpad.json" in archive.namelist()


def import_a_copier_zip(b: Browser) -> None:
    page = b.page
    page.get_by_role("button", name="Files", exact=True).click()
    page.get_by_label("Import a template zip (Copier, Cookiecutter or LaunchPad directory)") \
        .set_input_files({"name": "copier-template.zip", "mimeType": "application/zip",
                          "buffer": zipped(COPIER)})
    status = page.locator("#b-status")
    expect(status).to_contain_text("Imported a copier directory: 3 files, 2 variables.")
    expect(status).to_contain_text("echo hi")
    expect(page.locator("#b-files")).to_contain_text("{{ project_name }}/README.md")
    page.locator("#b-rendered").get_by_role("button", name="demo/README.md").click()
    expect(page.locator("#b-output")).to_have_text("# demo")
    b.check("imported")
    save(page, "Saved as version 6.")
    api = page.url.replace("/templates/", "/api/templates/").removesuffix("/edit")
    saved = page.request.get(api).json()
    assert saved["definition"]["settings"]["origin"]["format"] == "copier"
    assert saved["skipped_tasks"] == ["echo hi"]


def _expected_status(problem: str) -> bool:
    """Chromium logs the answers the journey provokes: the 422 of the invalid file
    (save and preview), the 412 of the stale tab, and a 429 when both tabs of the
    account evaluate at once over its two evaluations (the builder waits the
    Retry-After and sends it again: save_waits_out_a_busy_evaluator)."""
    return problem.startswith("console: Failed to load resource") and (
        "422" in problem or "412" in problem or "status of 429" in problem)


def test_by_keyboard_with_a_busy_preview(chromium: Any, base_url: str) -> None:  # noqa: F811
    """Adding a file and its content with the keyboard alone; a 429 or 503 of the
    preview shown with its message (the service's answer, replayed by the browser)."""
    context = chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    b = Browser(context.new_page(), base_url, "builder-keys")
    page = b.page
    sign_up(b, "builder-keys@example.com")
    logo = {"path": "logo.png", "content": "iVBORw0KGgo=", "encoding": "base64"}
    definition = {**BUILT, "files": [*BUILT["files"], logo, {"path": "logs/"}]}
    created = page.request.post("/api/templates", data={"name": "keys", "definition": definition},
                                headers={"Origin": base_url})
    assert created.status == 201, created.text()
    page.goto(f"/templates/{created.json()['id']}/edit")
    expect(page.locator("#b-rendered")).to_contain_text("project_name/README.md")  # a sample answer
    page.wait_for_load_state("networkidle")
    expect(page.locator("#builder[data-editor-ready]")).to_have_count(1)
    page.locator("#b-files").get_by_role("button", name="logo.png").click()
    expect(page.locator("#b-files li").filter(has_text="logo.png")).to_contain_text("binary")
    expect(page.locator("#b-files li").filter(has_text="logs/")).to_contain_text("folder")
    expect(page.locator("#b-binary")).to_contain_text("Binary file, 8 bytes")  # kept, not editable
    expect(page.locator("#b-content-field")).to_be_hidden()

    tab_to(page, "#b-new-path")
    page.keyboard.type("docs/{{ project_name }}.md")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Content")).to_be_focused()
    page.keyboard.type("about {{ project_name }}")
    expect(page.locator("#b-rendered li")).to_contain_text(["docs/project_name.md"])

    busy = {"type": "urn:launchpad:problem:busy", "title": "Too many previews", "status": 429,
            "code": "rate_limited", "detail": "Too many previews: try again in 2 seconds."}
    page.route("**/preview", lambda route: route.fulfill(
        status=429, content_type="application/problem+json", body=json.dumps(busy)))
    page.keyboard.type("!")
    expect(page.locator("#b-preview-status")).to_have_text(
        "Preview paused: Too many previews: try again in 2 seconds. (below: the last render)")
    page.unroute("**/preview")
    tab_to(page, "#b-save")
    page.keyboard.press("Enter")
    expect(page.locator("#b-status")).to_have_text("Saved as version 2.")

    save_waits_out_a_busy_evaluator(page, f"**/api/templates/{created.json()['id']}", busy)
    assert [p for p in b.problems if "429" not in p and "503" not in p] == []
    context.close()


def save_waits_out_a_busy_evaluator(page: Page, template_api: str, busy: dict[str, Any]) -> None:
    """The account already has its evaluations running (another tab previewing): the
    save is refused for a moment with Retry-After, waits that long and goes through.
    A refusal without a pause to wait for is shown, and the status says so."""
    refused: list[str] = []
    evaluating = {**busy, "code": "too_many_evaluations", "detail": "Two evaluations running."}

    def refuse_first_save(route: Any) -> None:
        if route.request.method == "PUT" and not refused:
            refused.append(route.request.headers["if-match"])
            route.fulfill(status=429, headers={"Retry-After": "1"},
                          content_type="application/problem+json", body=json.dumps(evaluating))
        else:
            route.continue_()

    page.route(template_api, refuse_first_save)
    page.get_by_label("Content").fill("about {{ project_name }}?")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#b-status")).to_have_text("Saved as version 3.")
    assert refused == ['"v2"']
    page.unroute(template_api)
    down = {**busy, "status": 503, "code": "evaluators_busy", "detail": "Every evaluator is busy."}
    page.route(template_api, lambda route: route.fulfill(
        status=503, content_type="application/problem+json", body=json.dumps(down))
        if route.request.method == "PUT" else route.continue_())
    page.get_by_label("Content").fill("about {{ project_name }}!")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#b-status")).to_have_text("Not saved.")
    expect(page.locator("#b-alert")).to_contain_text("Every evaluator is busy.")
    page.unroute(template_api)
