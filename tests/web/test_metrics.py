"""Prometheus metrics: never public without the token, counted by route template, and
every series the Grafana dashboard charts exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs
import pytest
from falcon import testing
from prometheus_client.parser import text_string_to_metric_families

from launchpad_web.db import make_session_factory
from launchpad_web.errors import ConfigurationError
from launchpad_web.settings import WebSettings
from launchpad_worker.compose import service_app

from .test_quotas import call, signed_in

TOKEN = "metrics-token-0123456789"
ROOT = Path(__file__).resolve().parents[2]


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    status, body, _ = call_raw(base, "/metrics", TOKEN)
    assert status == 200, body
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def call_raw(base: str, path: str, token: str | None) -> tuple[int, str, dict]:
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers),
                                    timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@pytest.fixture
def served(committing_engine, serve, settings):
    def start(token: str | None = TOKEN) -> str:
        changed = attrs.evolve(settings, metrics_token=token,
                               jobs=attrs.evolve(settings.jobs, immediate=True))
        return serve(service_app(changed, session_factory=make_session_factory(committing_engine)))

    return start


def test_without_a_token_setting_there_is_no_metrics_route(app):
    assert testing.TestClient(app).simulate_get("/metrics").status_code == 404


def test_metrics_need_the_bearer_token(served):
    base = served()
    for token in (None, "wrong-token-0123456789", TOKEN[:-1]):
        status, body, _headers = call_raw(base, "/metrics", token)
        assert (status, json.loads(body)["code"]) == (401, "unauthenticated")
    assert call_raw(base, "/metrics", TOKEN)[0] == 200


def test_requests_are_counted_by_route_template_and_evaluations_by_outcome(served):
    base = served()
    _user, cookie = signed_in(base)
    definition = {"name": "m", "variables": [{"name": "v", "default": "x"}],
                  "files": [{"path": "a.txt", "content": "{{ v }}"}]}
    status, template, _ = call(base, "POST", "/api/templates",
                               {"name": "m", "definition": definition}, cookie)
    assert status == 201
    before = scrape(base)
    route = "/api/templates/{template_id:uuid}"
    for _ in range(3):
        assert call(base, "GET", f"/api/templates/{template['id']}", cookie=cookie)[0] == 200
    assert call(base, "POST", f"/api/templates/{template['id']}/preview",
                {"answers": {"v": "y"}}, cookie)[0] == 200
    after = scrape(base)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("launchpad_http_requests_total", method="GET", route=route, status="200") == 3
    assert delta("launchpad_http_request_seconds_count", method="GET", route=route) == 3
    assert not any(template["id"] in dict(labels).get("route", "") for _, labels in after)
    assert delta("launchpad_evaluations_total", kind="preview", outcome="ok") == 1
    assert ("launchpad_queue_depth", ()) in after
    assert after[("launchpad_oldest_pending_job_seconds", ())] >= 0
    assert any(name == "launchpad_db_pool_connections" for name, _ in after)


def test_every_series_of_the_grafana_dashboard_is_exposed(served):
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"launchpad_[a-z_]+", expr)}
    base = served()
    _user, cookie = signed_in(base)
    definition = {"name": "g", "files": [{"path": "a.txt", "content": "x"}]}
    template = call(base, "POST", "/api/templates", {"name": "g", "definition": definition},
                    cookie)[1]
    assert call(base, "POST", "/api/generate", {"template_id": template["id"], "answers": {}},
                cookie)[0] == 202  # immediate: the job runs and is counted in the request
    from launchpad_web.metrics import SWEEPS

    SWEEPS.labels("retried")  # the sweeper found nothing here: a family shows with a child
    exposed = {name for name, _labels in scrape(base)}
    exposed |= {re.sub(r"_(bucket|count|sum|total|created)$", "", n) for n in exposed}
    missing = {name for name in used
               if name not in exposed and re.sub(r"_(bucket|total)$", "", name) not in exposed}
    assert not missing, missing


def test_a_short_metrics_token_is_refused():
    with pytest.raises(ConfigurationError, match="LAUNCHPAD_METRICS_TOKEN"):
        WebSettings.from_env({"LAUNCHPAD_METRICS_TOKEN": "short"})
