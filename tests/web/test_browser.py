"""The web app in a real headless Chromium (Debian's ``chromium``, driven by
Playwright for Python; ``.ci/run`` installs it where it is missing).

One journey: sign up, land on the dashboard, generate from a template with a
choice variable (a validation error shown at its field first), watch the job
complete, download the archive and check it; every page passes axe-core with no
serious or critical violation, works at 375 px width, and logs no console error.
Screenshots go to ``tests/.artifacts/screenshots``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from launchpad_web.clock import system_clock
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.migrate import upgrade
from launchpad_worker.compose import service_app
from launchpad_worker.context import WorkerContext
from launchpad_worker.queue import JobQueue, running_consumer

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow  # a browser, or hundreds of requests: the full run only

SCREENSHOTS = Path(__file__).resolve().parents[1] / ".artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery staple"
TEMPLATE = {
    "name": "web <service>",
    "variables": [
        {"name": "project_name", "type": "str", "help": "Shown in the README"},
        {"name": "port", "type": "int", "default": 8000, "help": "Where it listens"},
        {"name": "licence", "type": "choice", "choices": ["MIT", "Apache-2.0"], "default": "MIT"},
        {"name": "docker", "type": "bool", "default": False},
        {"name": "registry", "type": "str", "default": "{{ project_name }}-registry",
         "when": "{{ docker }}"},
        {"name": "api_key", "type": "str", "secret": True, "default": ""},
    ],
    "files": [
        {"path": "{{ project_name }}/README.md",
         "content": "{{ project_name }} on {{ port }} under {{ licence }}"},
        {"path": "{{ project_name }}/Dockerfile", "content": "FROM python", "when": "{{ docker }}"},
    ],
}
SERIOUS = {"serious", "critical"}
expect.set_options(timeout=15_000)  # the machine is shared: leave room for a slow moment


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Any]:
    """A fresh SQLite database where commits are real (the served app's threads share it)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def base_url(database: Any, settings: Any, launchpad: Any, serve: Any) -> str:
    """The app behind waitress; jobs run inside the request."""
    settings = attrs.evolve(settings, jobs=attrs.evolve(settings.jobs, immediate=True,
                                                        cpu_seconds=5))
    return serve(service_app(settings, session_factory=database, launchpad=launchpad))


class Browser:
    """A page with its console errors, failed requests and axe checks recorded."""

    def __init__(self, page: Page, base: str, name: str):
        self.page = page
        self.base = base
        self.name = name
        self.problems: list[str] = []
        self.axe = Axe()
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console: {m.text} ({m.location.get('url')})"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: _navigated_away(r) or self.problems.append(
            f"request failed: {r.url} {r.failure} (page at {page.url})"))

    def check(self, shot: str) -> None:
        """axe-core on the page as it is now, a screenshot, and no horizontal scroll."""
        results = self.axe.run(self.page)
        serious = [f"{v['id']} ({v['impact']}): {v['help']} — "
                   f"{[n['target'] for n in v['nodes']][:10]}"
                   for v in results.response["violations"] if v["impact"] in SERIOUS]
        assert serious == [], f"{shot}: {serious}"
        width = self.page.evaluate("document.documentElement.scrollWidth")
        viewport = self.page.viewport_size["width"]
        assert width <= viewport, f"{shot}: {width} px wide in a {viewport} px viewport"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{self.name}-{shot}.png", full_page=True)


@pytest.fixture
def chromium() -> Iterator[Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_sign_up_generate_and_download(chromium: Any, base_url: str, width: int) -> None:
    context = chromium.new_context(base_url=base_url, accept_downloads=True,
                                   viewport={"width": width, "height": 900})
    b = Browser(context.new_page(), base_url, f"w{width}")
    sign_up(b, f"ada-{width}@example.com")
    add_template_by_page(b)
    generate_after_an_error(b)
    download_and_check(b)
    visit_the_other_pages(b)
    assert [p for p in b.problems if not _expected_status(p)] == []
    assert len(b.problems) == 2, b.problems  # the 422 and the 404, nothing else
    context.close()


def sign_up(b: Browser, email: str) -> None:
    page = b.page
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("template")
    expect(page.locator(".plan")).to_have_count(3)
    b.check("landing")
    page.get_by_role("link", name="Sign up", exact=True).first.click()
    b.check("signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{b.base}/dashboard")
    expect(page.get_by_text("You have no templates yet")).to_be_visible()
    b.check("dashboard-empty")


def add_template(b: Browser) -> None:
    """Through the API, with the browser's session (the builder is not there yet)."""
    created = b.page.request.post("/api/templates", data={"name": TEMPLATE["name"],
                                                          "definition": TEMPLATE},
                                  headers={"Origin": b.base})
    assert created.status == 201, created.text()
    b.page.reload()
    expect(b.page.locator(".item .name")).to_have_text("web <service>")  # escaped: shown as text
    b.check("dashboard")


def add_template_by_page(b: Browser) -> None:
    page = b.page
    page.get_by_role("link", name="New template").first.click()
    b.check("new-template")
    page.get_by_label("Name").fill(TEMPLATE["name"])
    page.get_by_label("Definition (JSON)").fill(json.dumps(TEMPLATE, indent=2))
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit web <service>")  # builder
    expect(page.locator("#b-output")).to_have_text("project_name on 8000 under MIT")  # preview
    page.wait_for_load_state("networkidle")  # leave no request (the favicon) to abort
    page.goto("/dashboard")
    expect(page.locator(".item .name")).to_have_text("web <service>")  # escaped: shown as text
    b.check("dashboard")


def generate_after_an_error(b: Browser) -> None:
    page = b.page
    page.get_by_role("link", name="Generate from web <service>").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Generate from web <service>")
    b.check("generate")
    expect(page.get_by_label("registry")).to_be_hidden()  # asked only with docker
    page.get_by_label("project_name").fill("rocket")
    page.get_by_label("port").fill("80.5")
    page.get_by_role("button", name="Generate").click()
    port = page.get_by_label("port")
    expect(port).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#answer-2-error")).to_contain_text("80.5")
    expect(page.get_by_label("project_name")).to_have_value("rocket")  # kept
    b.check("generate-error")

    port.fill("9000")
    page.get_by_label("Apache-2.0").check()
    page.get_by_label("docker").check()
    registry = page.get_by_label("registry")  # now asked, its default from project_name
    expect(registry).to_be_visible()
    expect(registry).to_have_attribute("placeholder", "rocket-registry")
    page.get_by_label("api_key").fill("s3cret")
    page.get_by_role("button", name="Generate").click()
    expect(page).to_have_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
    expect(page.get_by_role("status")).to_have_text("completed")
    b.check("job")


def download_and_check(b: Browser) -> None:
    with b.page.expect_download() as download:
        b.page.get_by_role("link", name="Download .zip").click()
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = sorted(n for n in archive.namelist() if not n.endswith("/"))
        assert files == ["rocket/Dockerfile", "rocket/README.md"]
        assert archive.read("rocket/README.md") == b"rocket on 9000 under Apache-2.0"
    b.page.get_by_role("link", name="Back to the dashboard").click()
    expect(b.page.locator(".status-completed")).to_have_count(1)


def visit_the_other_pages(b: Browser) -> None:
    page = b.page
    page.get_by_role("link", name="Billing", exact=True).click()
    expect(page.get_by_role("heading", level=2, name="Free plan")).to_be_visible()
    expect(page.get_by_role("heading", name="Change plan")).to_be_visible()
    b.check("billing")
    page.goto("/docs/api")
    page.get_by_role("link", name="templates", exact=True).click()
    expect(page.get_by_role("heading", name="GET /api/templates", exact=True)).to_be_visible()
    b.check("api-reference")
    page.get_by_role("link", name="Try requests in the browser").click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("LaunchPad")
    b.check("api-try")
    page.goto("/no/such/page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not Found")
    b.check("not-found")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{b.base}/")
    page.goto("/login")
    b.check("login")


def test_the_job_page_follows_a_queued_job_live(chromium: Any, database: Any, settings: Any,
                                                launchpad: Any, serve: Any) -> None:
    """A real queue: the page shows the job pending, a consumer starts, and the page
    follows the events stream to the finished job without anyone reloading it."""
    settings = attrs.evolve(settings, jobs=attrs.evolve(settings.jobs, cpu_seconds=5))
    queue = JobQueue.from_settings(settings, WorkerContext.from_settings(
        settings, session_factory=database, launchpad=launchpad, clock=system_clock))
    base = serve(service_app(settings, session_factory=database, launchpad=launchpad,
                            job_queue=queue))
    context = chromium.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    b = Browser(context.new_page(), base, "live")
    sign_up(b, "live@example.com")
    add_template(b)
    b.page.get_by_role("link", name="Generate from web <service>").click()
    b.page.get_by_label("project_name").fill("rocket")
    b.page.get_by_role("button", name="Generate").click()
    status = b.page.get_by_role("status")
    expect(status).to_have_text("pending")
    expect(b.page.locator("#downloads")).to_be_hidden()
    with running_consumer(queue, enabled=True):
        expect(status).to_have_text("completed", timeout=30_000)
    expect(b.page.locator("#job-log li strong")).to_have_text(["queued", "started", "completed"])
    expect(b.page.get_by_role("link", name="Download .zip")).to_be_visible()
    assert b.problems == []
    context.close()


def test_the_generate_journey_by_keyboard_alone(chromium: Any, base_url: str) -> None:
    context = chromium.new_context(base_url=base_url, accept_downloads=True)
    b = Browser(context.new_page(), base_url, "keyboard")
    page = b.page
    page.goto("/signup")
    tab_to(page, "#email")
    page.keyboard.type("keys@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base_url}/dashboard")
    add_template(b)

    tab_to(page, "a.button[href$='/generate']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Generate from web <service>")
    tab_to(page, "[name='answers.project_name']")
    page.keyboard.type("rocket")
    tab_to(page, "[name='answers.licence']:checked")
    page.keyboard.press("ArrowDown")  # the next radio button of the group
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # docker
    page.keyboard.press("Tab")
    page.keyboard.type("s3cret")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("completed")

    tab_to(page, "a[href$='format=zip']")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    with zipfile.ZipFile(download.value.path()) as archive:
        assert archive.read("rocket/README.md") == b"rocket on 8000 under Apache-2.0"
        assert "rocket/Dockerfile" in archive.namelist()
    assert b.problems == []
    context.close()


def tab_to(page: Page, selector: str, most: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (it must be reachable by keyboard)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with {most} presses of Tab")


def _navigated_away(request: Any) -> bool:
    """Requests the browser itself cancels when the page is left: the generate form's
    background refresh and the favicon (Chromium fetches it after the page loaded; a
    test that moves on at once aborts it). Neither is a failure of the app."""
    cancellable = request.url.endswith("/form") or "/static/favicon." in request.url
    return cancellable and request.failure == "net::ERR_ABORTED"


def _expected_status(problem: str) -> bool:
    """Chromium logs the answers the journey asks for on purpose: the 422 of the
    invalid form and the 404 page."""
    return problem.startswith("console: Failed to load resource") and (
        "422" in problem or "404" in problem)


# Forty files of some 20 ms each: most of a second of rendering, reported every 50 ms.
MANY_FILES = {"name": "many files", "files": [
    {"path": f"src/file{i:02}.txt",
     "content": ("{% for i in range(100) %}{% for j in range(2000) %}{% set k = j %}"
                 "{% endfor %}{% endfor %}") + str(i)}
    for i in range(40)]}
PROGRESS_BAR = "document.getElementById('job-progress')"


def test_the_job_page_shows_the_render_progress_to_the_end(chromium: Any, database: Any,
                                                           settings: Any, launchpad: Any,
                                                           serve: Any) -> None:
    """A real queue and a slow 40-file template: the progress bar (an accessible
    ``progress`` with its text in a live region) moves while the worker renders and is
    full once the job completes."""
    settings = attrs.evolve(settings, jobs=attrs.evolve(
        settings.jobs, cpu_seconds=20, progress_interval=timedelta(milliseconds=50)))
    queue = JobQueue.from_settings(settings, WorkerContext.from_settings(
        settings, session_factory=database, launchpad=launchpad, clock=system_clock))
    base = serve(service_app(settings, session_factory=database, launchpad=launchpad,
                            job_queue=queue))
    context = chromium.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    b = Browser(context.new_page(), base, "progress")
    sign_up(b, "progress@example.com")
    created = b.page.request.post("/api/templates", headers={"Origin": base}, data={
        "name": MANY_FILES["name"], "definition": MANY_FILES})
    assert created.status == 201, created.text()
    b.page.goto(f"/templates/{created.json()['id']}/generate")
    b.page.get_by_role("button", name="Generate").click()
    bar = b.page.get_by_role("progressbar", name="Files rendered")
    expect(bar).to_be_visible()
    expect(b.page.locator("#job-progress-text")).to_have_attribute("aria-live", "polite")
    with running_consumer(queue, enabled=True):
        b.page.wait_for_function(f"() => {PROGRESS_BAR}.value > 0 && "
                                 f"{PROGRESS_BAR}.value < {PROGRESS_BAR}.max", timeout=30_000)
        expect(b.page.locator("#job-progress-text")).to_contain_text(
            re.compile(r"^\d+ of 40 files · src/file\d\d\.txt · \d+ bytes$"))
        b.check("job-rendering")
        expect(b.page.get_by_role("status")).to_have_text("completed", timeout=30_000)
    b.page.wait_for_function(f"() => {PROGRESS_BAR}.max === 40 && "
                             f"{PROGRESS_BAR}.value === 40")
    expect(b.page.locator("#job-progress-text")).to_contain_text("40 of 40 files")
    b.check("job-rendered")
    assert b.problems == []
    context.close()
