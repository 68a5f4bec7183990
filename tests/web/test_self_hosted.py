"""A service without a billing provider is self-hosted: plans are not enforced (teams,
unlimited templates and generations), only the operational limits apply, and the
health document and the landing page say so. ``LAUNCHPAD_ENFORCE_PLANS`` decides
otherwise either way."""

from __future__ import annotations

import attrs
import pytest

from launchpad_web.billing.settings import BillingSettings
from launchpad_web.settings import WebSettings

from .test_templates import DEFINITION, create_template, people


@pytest.fixture
def self_hosted(make_app, new_client, signup, db, settings):
    app = make_app(billing=attrs.evolve(settings.billing, enforce_plans="auto"))
    return app, people(lambda: new_client(app), signup, db)


def test_without_a_provider_every_feature_is_on(self_hosted):
    _app, person = self_hosted
    ann = person()
    for index in range(5):  # the Free plan's limit is three
        create_template(ann, name=f"t{index}", definition=DEFINITION)
    team = ann.post("/api/teams", {"name": "Crew"})
    assert team.status_code == 201, team.text
    overview = ann.get("/api/subscriptions").json
    assert overview["limits"]["private_templates"] is None
    assert overview["limits"]["teams"] is True


def test_health_and_the_landing_page_say_plans_are_not_enforced(self_hosted, new_client):
    app, _person = self_hosted
    client = new_client(app)
    assert client.get("/api/health").json["billing"] == {"provider": "free",
                                                         "plans_enforced": False}
    landing = client.get("/", headers={"Accept": "text/html"})
    assert "self-hosted" in landing.text and "plans are not enforced" in landing.text


def test_yes_enforces_the_plans_without_a_provider(make_app, new_client, signup, db, settings):
    app = make_app(billing=attrs.evolve(settings.billing, enforce_plans="yes"))
    ann = people(lambda: new_client(app), signup, db)()
    assert ann.post("/api/teams", {"name": "Crew"}).status_code == 402


def test_the_setting_is_read_and_checked():
    assert WebSettings.from_env({}).billing.enforce_plans == "auto"
    assert WebSettings.from_env({"LAUNCHPAD_ENFORCE_PLANS": "No"}).billing.enforce_plans == "no"
    with pytest.raises(ValueError):
        BillingSettings(enforce_plans="maybe")
    assert BillingSettings().plans_enforced("stripe") is True
    assert BillingSettings().plans_enforced("free") is False
