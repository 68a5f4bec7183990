"""The projects pages in a real headless Chromium: a template's fleet (a table and a
bar chart of plain HTML, no script or inline style, with "Update all"), one project
(answers without secrets, the Update button, its update jobs with the patch) and my
projects, with deletion; by keyboard where it matters.

Every page passes axe-core with no serious or critical violation at 1280 and 375 px;
screenshots go to ``tests/.artifacts/screenshots`` (see test_browser.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .test_account_pages import sign_up
from .test_browser import Browser, base_url, chromium, database  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # a browser, or hundreds of requests: the full run only

TEMPLATE = {
    "name": "fleet <service>",
    "variables": [{"name": "project_name", "type": "str", "default": "rocket"},
                  {"name": "token", "type": "str", "secret": True, "default": ""}],
    "files": [{"path": "{{ project_name }}/README.md", "content": "# {{ project_name }}"}],
}

#: A new question, asked on the project's page when it updates.
VERSION_2 = {
    **TEMPLATE,
    "variables": [*TEMPLATE["variables"], {"name": "license", "type": "choice",
                                           "choices": ["MIT", "Apache-2.0"], "default": "MIT"}],
    "files": [*TEMPLATE["files"], {"path": "LICENSE", "content": "{{ license }}"}],
}


def api(b: Browser, method: str, path: str, body: Any = None) -> Any:
    answer = b.page.request.fetch(path, method=method, data=body, headers={"Origin": b.base})
    assert answer.ok, answer.text()
    return answer.json()


def make_a_fleet(b: Browser) -> dict[str, Any]:
    """A template, two projects of version 1, a second version and one project of it."""
    template = api(b, "POST", "/api/templates", {"name": TEMPLATE["name"],
                                                 "definition": TEMPLATE})
    for name in ("apollo", "gemini"):
        api(b, "POST", "/api/generate", {"template_id": template["id"],
                                         "answers": {"project_name": name, "token": "s3cret"}})
    api(b, "PUT", f"/api/templates/{template['id']}", {
        "name": TEMPLATE["name"], "definition": VERSION_2, "version": 1})
    api(b, "POST", "/api/generate", {"template_id": template["id"], "answers": {}})
    return template


def see_the_fleet(b: Browser) -> None:
    page = b.page
    page.goto("/dashboard")
    page.get_by_role("link", name="Projects of fleet <service>").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects of fleet <service>")
    expect(page.locator("meter")).to_have_count(2)
    expect(page.get_by_label("Version 2: 1 of 3 projects")).to_have_attribute("value", "1")
    expect(page.get_by_label("Version 1: 2 of 3 projects")).to_have_attribute("value", "2")
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("up to date")
    expect(rows.nth(2).locator("td").nth(2)).to_have_text("1 version")
    b.check("fleet")


def update_one_project(b: Browser) -> None:
    """From the fleet to a project behind, its page, Update by keyboard, the patch link."""
    page = b.page
    rows = page.locator("table.data tbody tr")
    expect(rows.nth(2).locator("td").nth(3)).to_have_text("not known yet")
    rows.nth(2).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Project")
    expect(page.get_by_text("s3cret")).to_have_count(0)
    expect(page.get_by_text("Secret answers are not kept (token)")).to_be_visible()
    expect(page.get_by_text('"gemini"').or_(page.get_by_text('"apollo"'))).to_be_visible()
    b.check("project")
    page.get_by_label("Update to version").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Update", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Version 2 asks the questions below")).to_be_visible()
    expect(page.get_by_label("MIT")).to_be_checked()  # the new question, at its default
    expect(page.get_by_label("token")).to_have_value("")  # a secret: left as it was
    b.check("project-questions")
    page.get_by_label("Apache-2.0").check()
    page.get_by_role("button", name="Update to version 2").click()
    expect(page.get_by_role("status")).to_contain_text("The update is queued")
    updates = page.locator("#updates table.data tbody tr")
    expect(updates).to_have_count(1)
    expect(updates.nth(0).locator("td").nth(0)).to_have_text("1 → 2")
    expect(updates.nth(0).get_by_role("link", name="Patch")).to_have_attribute(
        "href", re.compile(r"/api/projects/.+/patch$"))
    b.check("project-updated")
    page.get_by_role("link", name="fleet <service>").first.click()  # "Made from"
    page.get_by_role("button", name="Update all").click()
    expect(page.get_by_role("status")).to_contain_text("2 updates queued")
    b.check("fleet-update-all")


def see_and_delete_my_projects(b: Browser) -> None:
    page = b.page
    page.get_by_role("link", name="Projects", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_text("s3cret")).to_have_count(0)
    b.check("projects")
    rows.nth(0).get_by_role("button", name=re.compile("^Delete project")).click()
    expect(page.get_by_role("status")).to_contain_text("forgotten")
    expect(rows).to_have_count(2)
    b.check("projects-deleted")
    page.get_by_role("link", name="fleet <service>").first.click()
    expect(page.locator("table.data tbody tr")).to_have_count(2)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_fleet_and_my_projects(chromium: Any, base_url: str, width: int) -> None:  # noqa: F811
    context = chromium.new_context(base_url=base_url, viewport={"width": width, "height": 900})
    b = Browser(context.new_page(), base_url, f"w{width}-projects")
    sign_up(b, f"fleet-{width}@example.com")
    template = make_a_fleet(b)
    see_the_fleet(b)
    update_one_project(b)
    see_and_delete_my_projects(b)
    other = api(b, "POST", "/api/templates", {"name": "unused", "definition": TEMPLATE})
    b.page.goto(f"/templates/{other['id']}/projects")
    expect(b.page.get_by_text("No project has been made from this template yet")).to_be_visible()
    b.check("fleet-empty")
    assert template["id"] != other["id"]
    assert b.problems == []
    context.close()
