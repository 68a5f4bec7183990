"""The account and teams pages in a real headless Chromium: change the password,
create and revoke an API token, create a team (plans not enforced, as on a
self-hosted service), invite a second user who accepts on the invitation page.

Every page passes axe-core with no serious or critical violation at 1280 and 375 px;
screenshots go to ``tests/.artifacts/screenshots`` (see test_browser.py).
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import pytest
from jobs.test_sweeper import smtp_server  # noqa: F401 (the mail sink fixture)
from playwright.sync_api import expect

from launchpad_web.jobs.settings import SmtpSettings
from launchpad_worker.compose import service_app

from .test_browser import PASSWORD, Browser, chromium, database  # noqa: F401 (fixtures)
from .test_password_reset import link_in, mails_to

pytestmark = pytest.mark.slow  # a browser, or hundreds of requests: the full run only

NEW_PASSWORD = "another horse battery staple"


@pytest.fixture
def self_hosted_url(database: Any, settings: Any, launchpad: Any, serve: Any) -> str:  # noqa: F811
    settings = attrs.evolve(settings, billing=attrs.evolve(settings.billing, enforce_plans="no"))
    return serve(service_app(settings, session_factory=database, launchpad=launchpad))


def sign_up(b: Browser, email: str) -> None:
    b.page.goto("/signup")
    b.page.get_by_label("Email").fill(email)
    b.page.get_by_label("Password").fill(PASSWORD)
    b.page.get_by_role("button", name="Sign up").click()
    expect(b.page).to_have_url(f"{b.base}/dashboard")


def change_password(b: Browser) -> None:
    page = b.page
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    b.check("account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_label("New password")).to_have_attribute("aria-invalid", "true")
    b.check("account-error")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("password is changed")


def create_and_revoke_a_token(b: Browser) -> None:
    page = b.page
    page.get_by_label("Token name").fill("ci <deploy>")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_have_text(re.compile(r"\S{20,}"))
    expect(page.locator(".item .name")).to_have_text("ci <deploy>")  # escaped: shown as text
    b.check("account-token")
    page.get_by_role("button", name="Revoke ci <deploy>").click()
    expect(page.get_by_text("You have no API tokens")).to_be_visible()


def create_a_team_and_invite(b: Browser, email: str) -> None:
    page = b.page
    page.get_by_role("link", name="Teams").click()
    b.check("teams")
    page.get_by_label("Team name").fill("Rocket <crew>")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rocket <crew>")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("[aria-label='Pending invitations'] .name")).to_have_text(email)
    b.check("team")


def see_billing(b: Browser) -> None:
    b.page.get_by_role("link", name="Billing", exact=True).click()
    expect(b.page.get_by_text("plans are not enforced")).to_be_visible()
    b.check("billing-self-hosted")


def rename_and_delete_the_team(b: Browser) -> None:
    page = b.page
    page.get_by_label("Team name").fill("Rocket & <co>")
    page.get_by_role("button", name="Rename team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rocket & <co>")
    page.get_by_role("button", name="Delete team").click()
    expect(page.get_by_label("Delete Rocket & <co> and its templates")).to_have_attribute(
        "aria-invalid", "true")
    b.check("team-delete-error")
    page.get_by_label("Delete Rocket & <co> and its templates").check()
    page.get_by_role("button", name="Delete team").click()
    expect(page).to_have_url(f"{b.base}/teams")
    expect(page.get_by_text("Rocket & <co>")).to_have_count(0)


@pytest.mark.parametrize("width", [1280, 375])
def test_account_and_team_journey(chromium: Any, self_hosted_url: str, outbox: Any,  # noqa: F811
                                  width: int) -> None:
    viewport = {"width": width, "height": 900}
    owner_context = chromium.new_context(base_url=self_hosted_url, viewport=viewport)
    guest_context = chromium.new_context(base_url=self_hosted_url, viewport=viewport)
    owner = Browser(owner_context.new_page(), self_hosted_url, f"w{width}-owner")
    guest = Browser(guest_context.new_page(), self_hosted_url, f"w{width}-guest")
    sign_up(owner, "ada@example.com")
    change_password(owner)
    create_and_revoke_a_token(owner)
    see_billing(owner)
    sign_up(guest, "ann@example.com")
    create_a_team_and_invite(owner, "ann@example.com")

    guest.page.goto(f"/invitations/{outbox.invitation_token('ann@example.com')}")
    expect(guest.page.get_by_role("heading", level=1)).to_have_text("Join Rocket <crew>")
    guest.check("invitation")
    guest.page.get_by_role("button", name="Accept").click()
    expect(guest.page.get_by_role("heading", level=1)).to_have_text("Rocket <crew>")
    expect(guest.page.locator(".item .name")).to_have_text(["ada@example.com",
                                                            "ann@example.com"])
    guest.check("team-member")
    owner.page.reload()
    expect(owner.page.get_by_text("No pending invitations")).to_be_visible()
    rename_and_delete_the_team(owner)
    assert [p for p in owner.problems if "422" not in p] == [] and guest.problems == []
    owner_context.close()
    guest_context.close()


@pytest.fixture
def mail_url(database: Any, settings: Any, launchpad: Any, serve: Any,  # noqa: F811
             smtp_server: Any) -> str:  # noqa: F811
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_server.server_address[1],
                        starttls=False)
    return serve(service_app(attrs.evolve(settings, jobs=attrs.evolve(settings.jobs, smtp=smtp)),
                             session_factory=database, launchpad=launchpad))


def test_forgotten_password_in_the_browser(chromium: Any, mail_url: str,  # noqa: F811
                                           smtp_server: Any) -> None:  # noqa: F811
    url = mail_url
    context = chromium.new_context(base_url=url, viewport={"width": 375, "height": 900})
    b = Browser(context.new_page(), url, "w375-reset")
    sign_up(b, "ada@example.com")
    b.page.get_by_role("button", name="Log out").click()
    # the landing page the log-out leads to must have loaded: going on at once aborts it
    b.page.wait_for_url(f"{url}/")
    b.page.wait_for_load_state()
    b.page.goto("/login")
    b.page.get_by_role("link", name="Forgotten your password?").click()
    b.check("forgot-password")
    b.page.get_by_label("Email").fill("ada@example.com")
    b.page.get_by_role("button", name="Send me a link").click()
    expect(b.page.get_by_role("status")).to_contain_text("on its way")
    [mail] = mails_to(smtp_server, "ada@example.com")
    b.page.goto(link_in(mail))
    b.check("reset-password")
    b.page.get_by_label("New password").fill(NEW_PASSWORD)
    b.page.get_by_role("button", name="Set the new password").click()
    expect(b.page.get_by_role("status")).to_contain_text("Your password is changed")
    b.page.get_by_label("Email").fill("ada@example.com")
    b.page.get_by_label("Password").fill(NEW_PASSWORD)
    b.page.get_by_role("button", name="Log in").click()
    expect(b.page).to_have_url(f"{url}/dashboard")
    assert b.problems == []
    context.close()
