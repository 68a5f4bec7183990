"""Chromium imports a template from a private repository on the stand-in GitHub: the
dashboard's "Import from a repository", the form filled and sent from the keyboard,
the import job's page, then the builder's Repository section (Follow, the webhook
address). Every page passes axe-core (no serious or critical violation) at 1280 and
375 px, with no console error (a script or form the Content-Security-Policy refused)."""

from __future__ import annotations

import re
from typing import Any

import attrs
import pytest

from launchpad_worker.compose import service_app
from launchpad_worker.context import WorkerContext
from launchpad_worker.importing import ImportRunner

from .forge_standin import forge_settings
from .test_forges import KEY
from .test_publish_browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    CHROMIUM_ARGS,
    base_url,
    database,
    expect,
    forge,
    launchpad,
    no_serious_violation,
    sync_playwright,
)
from .test_template_sources import copier_files

pytestmark = pytest.mark.slow  # a browser: the full run only


@pytest.mark.parametrize("width", [1280, 375])
def test_chromium_imports_a_template_from_a_repository(base_url, forge, width):  # noqa: F811
    login = f"imp-{width}"
    forge.add_person(login, (f"{login}@example.org", True))
    forge.add_repository(login, "starter", copier_files("1.0.0"), private=True, tag="1.0.0")
    forge.signed_in = login
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(
                base_url=base_url, viewport={"width": width, "height": 900}
            ).new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto("/login")
            page.get_by_role("button", name="Sign in with GitHub").click()
            page.wait_for_url(f"{base_url}/dashboard")
            page.get_by_role("link", name="Import from a repository").click()
            expect(page).to_have_url(f"{base_url}/templates/import")
            no_serious_violation(page, "import page")
            page.get_by_role("button", name="Allow GitHub repositories").click()  # private
            expect(page).to_have_url(f"{base_url}/templates/import")
            page.get_by_label("Repository").fill(f"gh:{login}/starter")
            page.get_by_label("Name", exact=True).fill("Starter")
            page.get_by_label("Name", exact=True).press("Enter")  # sent from the keyboard
            expect(page).to_have_url(re.compile(r".*/templates/imports/[0-9a-f-]{36}$"))
            expect(page.locator("[data-import-status]")).to_have_text("completed")
            no_serious_violation(page, "import job page")
            page.get_by_role("link", name="Open the template").click()
            expect(page.locator("#source-title")).to_have_text("Repository")
            no_serious_violation(page, "builder with its repository")
            page.get_by_role("button", name="Follow the repository").click()
            expect(page.get_by_role("button", name="Stop following")).to_be_visible()
            expect(page.locator("#source")).to_contain_text("/api/webhooks/github/templates/")
            no_serious_violation(page, "builder, following")
        finally:
            browser.close()
    assert problems == []


@pytest.fixture
def queued_app(database, settings, launchpad, serve, forge):  # noqa: F811
    """The service with a queue nobody consumes (the test runs the job itself), and the
    worker context to run it with."""
    holder: dict[str, Any] = {}

    def app(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    url = serve(app)
    service = attrs.evolve(settings, public_url=url, forges=forge_settings(forge.url, KEY))
    context = WorkerContext.from_settings(service, session_factory=database, launchpad=launchpad)
    holder["app"] = service_app(service, session_factory=database, launchpad=launchpad)
    forge.register_clients(url)
    return url, context


def test_the_import_job_page_follows_a_queued_job_until_it_ends(queued_app, forge):  # noqa: F811
    base, context = queued_app
    login = "imp-live"
    forge.add_person(login, (f"{login}@example.org", True))
    forge.add_repository(login, "live", copier_files("1.0.0"), private=True, tag="1.0.0")
    forge.signed_in = login
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=base).new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto("/login")
            page.get_by_role("button", name="Sign in with GitHub").click()
            page.wait_for_url(f"{base}/dashboard")
            page.goto("/templates/import")
            page.get_by_role("button", name="Allow GitHub repositories").click()
            expect(page).to_have_url(f"{base}/templates/import")
            page.get_by_label("Repository").fill(f"gh:{login}/live")
            page.get_by_role("button", name="Import").click()
            expect(page.locator("[data-import-status]")).to_have_text("pending")
            import_id = page.url.rsplit("/", 1)[1]
            ImportRunner(context, lambda *_: None).run(import_id)  # a worker takes it
            expect(page.locator("[data-import-status]")).to_have_text("completed")
            expect(page.get_by_role("link", name="Open the template")).to_be_visible()
        finally:
            browser.close()
    assert problems == []
