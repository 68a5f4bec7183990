"""Requests per client address (``LAUNCHPAD_REQUESTS_PER_ADDRESS``): a token bucket per
address in each API process, answered 429 with Retry-After before any other work."""

from __future__ import annotations

from falcon import testing

from launchpad_web.flood import AddressRate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate():
    clock = Clock()
    rate = AddressRate(5, clock=clock)  # bursts of 10
    assert [rate.wait("203.0.113.7") for _ in range(10)] == [0.0] * 10
    assert rate.wait("203.0.113.7") == 0.2  # one more token in a fifth of a second
    assert rate.wait("198.51.100.1") == 0.0  # another address: its own bucket
    clock.now += 0.2
    assert rate.wait("203.0.113.7") == 0.0
    clock.now += 60
    assert [rate.wait("203.0.113.7") for _ in range(10)] == [0.0] * 10  # full again, no more


def test_an_address_over_its_rate_gets_429_and_others_and_the_probe_do_not(make_app):
    app = testing.TestClient(make_app(requests_per_address=1))  # bursts of 10
    flooding = [app.simulate_get("/api/me", remote_addr="198.51.100.66").status_code
                for _ in range(12)]
    assert flooding[:10] == [401] * 10 and flooding[10:] == [429, 429]
    refused = app.simulate_get("/api/me", remote_addr="198.51.100.66")
    assert refused.json["code"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) >= 1
    assert app.simulate_get("/api/health", remote_addr="198.51.100.66").status_code == 200
    assert app.simulate_get("/api/me", remote_addr="203.0.113.7").status_code == 401


def test_unbounded_by_default(make_app):
    app = testing.TestClient(make_app())
    assert {app.simulate_get("/api/me").status_code for _ in range(40)} == {401}
