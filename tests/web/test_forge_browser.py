"""Signing in with a forge through a served app: an HTTP client that follows redirects
on its own (SQLite and PostgreSQL), and Debian's Chromium clicking the button.

The app and the stand-in forge each run behind waitress on loopback; nothing is
followed by hand, so the redirects, cookies (``SameSite=Lax`` flow cookie) and the
Content-Security-Policy's ``form-action`` are the browser's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests
from cryptography.fernet import Fernet

from launchpad_core import Launchpad
from launchpad_web.db import make_session_factory
from launchpad_worker.compose import service_app

from .forge_standin import StandinForge, forge_settings, launchpad_with_forges, running

pytestmark = pytest.mark.slow  # a browser, or hundreds of requests: the full run only

KEY = Fernet.generate_key().decode()
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def launchpad() -> Launchpad:
    return launchpad_with_forges()


@pytest.fixture
def forge() -> Iterator[StandinForge]:
    standin = StandinForge()
    with running(standin):
        yield standin


@pytest.fixture
def served(settings: Any, launchpad: Launchpad, serve: Callable[[Any], str],
           forge: StandinForge) -> Callable[..., str]:
    """``served(session_factory, **settings_changes) -> base URL``: the app behind
    waitress, its public URL its own, the stand-in's OAuth apps calling back there."""

    def start(session_factory: Any, **changes: Any) -> str:
        holder: dict[str, Any] = {}

        def app(environ: Any, start_response: Any) -> Any:  # made once the URL is known
            return holder["app"](environ, start_response)

        url = serve(app)
        app_settings = attrs.evolve(settings, public_url=url,
                                    forges=forge_settings(forge.url, KEY), **changes)
        holder["app"] = service_app(app_settings, session_factory=session_factory,
                                    launchpad=launchpad)
        forge.register_clients(url)
        return url

    return start


def test_an_http_client_following_redirects_signs_in(served, forge, committing_engine):
    base = served(make_session_factory(committing_engine), env="development")
    forge.add_person("octo", ("octo@example.org", True))
    forge.signed_in = "octo"
    with requests.Session() as browser:
        login = browser.get(f"{base}/login", timeout=10).text
        token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        landed = browser.post(f"{base}/auth/github/start", timeout=10,
                              data={"csrf_token": token, "next": "/account"})
        assert landed.status_code == 200, landed.text
        assert [r.status_code for r in landed.history] == [303, 302, 303]
        assert landed.history[1].url.startswith(forge.url)
        assert landed.url == f"{base}/account" and "linked as octo" in landed.text
        me = browser.get(f"{base}/api/me", timeout=10).json()
        assert me["email"] == "octo@example.org"
        assert "lp_oauth" not in browser.cookies  # the flow's cookie is spent


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing")
def test_chromium_signs_in_with_gitlab(served, forge, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from launchpad_web.db import make_engine
    from launchpad_web.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'forge-browser.sqlite3'}")
    upgrade(engine)
    base = served(make_session_factory(engine))
    forge.add_person("ann", ("ann@example.org", True))
    forge.signed_in = "ann"
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.goto(f"{base}/login")
            page.get_by_role("button", name="Sign in with GitLab").click()
            page.wait_for_url(f"{base}/dashboard")
            page.goto(f"{base}/account")
            expect(page.get_by_text("linked as ann")).to_be_visible()
            expect(page.get_by_role("button", name="Unlink GitLab")).to_be_visible()
        finally:
            browser.close()
    engine.dispose()
    assert problems == []  # e.g. a form-action the Content-Security-Policy refused
