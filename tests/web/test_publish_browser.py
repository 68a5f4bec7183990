"""Chromium publishes a generated project from the job page: signed in with the stand-in
GitHub, generate, fill "Publish to a repository", follow its progress to the link; the
page passes axe-core (no serious or critical violation) at 1280 and 375 px, before and
after, with no console error (a script or form the Content-Security-Policy refused)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from launchpad_core import Launchpad
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.migrate import upgrade
from launchpad_web.testing import insert_template
from launchpad_worker.compose import service_app

from .forge_standin import StandinForge, forge_settings, launchpad_with_forges, running
from .test_forges import KEY
from .test_jobs import HELLO, T0

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing", allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow  # a browser, or hundreds of requests: the full run only

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERIOUS = {"serious", "critical"}
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def launchpad() -> Launchpad:
    return launchpad_with_forges()


@pytest.fixture
def forge() -> Iterator[StandinForge]:
    standin = StandinForge()
    with running(standin):
        yield standin


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Any]:
    engine = make_engine(f"sqlite:///{tmp_path / 'publish-browser.sqlite3'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def base_url(database: Any, settings: Any, launchpad: Launchpad, serve: Any,
             forge: StandinForge) -> str:
    holder: dict[str, Any] = {}

    def app(environ: Any, start_response: Any) -> Any:  # made once the URL is known
        return holder["app"](environ, start_response)

    url = serve(app)
    holder["app"] = service_app(attrs.evolve(
        settings, public_url=url, forges=forge_settings(forge.url, KEY),
        jobs=attrs.evolve(settings.jobs, immediate=True, cpu_seconds=5)),
        session_factory=database, launchpad=launchpad)
    forge.register_clients(url)
    return url


def add_template(database: Any, owner: str) -> str:
    with database() as session:
        row = insert_template(session, owner_id=owner, definition=HELLO, at=T0)
        session.commit()
        return str(row.id)


def no_serious_violation(page: Any, where: str) -> None:
    results = Axe().run(page)
    serious = [f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']][:5]}"
               for v in results.response["violations"] if v["impact"] in SERIOUS]
    assert serious == [], f"{where}: {serious}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{where}: {width} px wide"


@pytest.mark.parametrize("width", [1280, 375])
def test_chromium_publishes_from_the_job_page(base_url, forge, database, width):
    login = f"pub-{width}"
    forge.add_person(login, (f"{login}@example.org", True))
    forge.signed_in = login
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=base_url,
                                       viewport={"width": width, "height": 900}).new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto("/login")
            page.get_by_role("button", name="Sign in with GitHub").click()
            page.wait_for_url(f"{base_url}/dashboard")
            me = page.request.get("/api/me").json()
            page.goto(f"/templates/{add_template(database, me['id'])}/generate")
            page.get_by_label("project_name").fill("rocket")
            page.get_by_role("button", name="Generate").click()
            expect(page).to_have_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
            expect(page.locator("#job-status")).to_have_text("completed")
            no_serious_violation(page, "job page")
            expect(page.get_by_label("Repository name")).to_have_count(0)  # not allowed yet
            page.get_by_role("button", name="Allow GitHub repositories").click()
            expect(page).to_have_url(re.compile(r".*/jobs/[0-9a-f-]{36}#publish$"))
            page.get_by_label("Repository name").fill("from-chromium")
            page.get_by_label("Description").fill("made in a browser")
            page.get_by_role("button", name="Publish").click()
            status = page.locator("[data-publish-status]")
            expect(status).to_have_text("completed")
            link = page.get_by_role("link", name=f"{forge.url}/{login}/from-chromium")
            expect(link).to_be_visible()
            no_serious_violation(page, "job page, published")
        finally:
            browser.close()
    assert len(forge.commits(f"{login}/from-chromium")) == 1
    assert problems == []
