"""Helpers for tests of Stripe billing: a localstripe process, signed payloads, a
stand-in API that records what it is sent. Used by this package's tests and the
web service's; none of it is imported by the provider.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import stripe
from launchpad_core.testing import free_port

TEST_KEY = "sk_test_launchpad"




def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value by Stripe's scheme (HMAC-SHA256 of ``t.payload``)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), b"%d.%s" % (timestamp, payload), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


@attrs.frozen
class LocalStripe:
    """A running localstripe: ``url``, a client on it, and its webhook configuration."""

    url: str

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient(TEST_KEY, base_addresses={"api": self.url},
                                   max_network_retries=0)

    def register_webhook(self, name: str, url: str, secret: str) -> None:
        self._post(f"/_config/webhooks/{name}", {"url": url, "secret": secret})

    def _post(self, path: str, fields: Mapping[str, str]) -> None:
        request = urllib.request.Request(self.url + path, method="POST",
                                         data=urllib.parse.urlencode(fields).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def paid_plan(self, amount: int = 900) -> str:
        """A new product and monthly plan; its id."""
        v1 = self.client().v1
        product = v1.products.create(params={"name": f"LaunchPad {amount}"})
        return v1.plans.create(params={"product": product.id, "amount": amount,
                                       "currency": "usd", "interval": "month"}).id

    def product_plans(self) -> dict[str, str]:
        """The paid plans as the service's settings name them (``pro``, ``team``)."""
        return {"pro": self.paid_plan(900), "team": self.paid_plan(2900)}

    def subscribe(self, plan_id: str, *, user_ref: str, email: str = "payer@example.org",
                  card: str = "4242424242424242") -> dict[str, Any]:
        """A customer with a card, subscribed to ``plan_id`` (what Checkout would make)."""
        v1 = self.client().v1
        customer = v1.customers.create(params={"email": email})
        method = v1.payment_methods.create(params={"type": "card", "card": {
            "number": card, "exp_month": 12, "exp_year": 2040, "cvc": "123"}})
        v1.payment_methods.attach(method.id, params={"customer": customer.id})
        v1.customers.update(customer.id, params={
            "invoice_settings": {"default_payment_method": method.id}})
        return v1.subscriptions.create(params={
            "customer": customer.id, "items": [{"plan": plan_id}],
            "metadata": {"launchpad_user_id": user_ref}}).to_dict()


@contextlib.contextmanager
def run_localstripe() -> Iterator[LocalStripe]:
    """localstripe on a free port (from scratch), stopped afterwards."""
    port = free_port()
    command = shutil.which("localstripe")
    args = [command] if command else [sys.executable, "-m", "localstripe"]
    process = subprocess.Popen([*args, "--from-scratch", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_answering(url, process)
        yield LocalStripe(url)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {process.returncode}")
        try:
            urllib.request.urlopen(url + "/v1/customers", timeout=1).read()
        except urllib.error.HTTPError:
            return  # it answers (401 without a key)
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError("localstripe did not start within 30 s")


@attrs.define
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]


@attrs.define
class StandInStripe:
    """A local HTTP server answering Stripe API calls with canned JSON, recording each."""

    url: str
    answers: dict[str, dict[str, Any]]
    requests: list[RecordedRequest] = attrs.field(factory=list)


@contextlib.contextmanager
def run_stand_in(answers: dict[str, dict[str, Any]]) -> Iterator[StandInStripe]:
    """``answers`` maps a path (``/v1/checkout/sessions``) to the JSON to answer."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInHandler)
    stand_in = StandInStripe(f"http://127.0.0.1:{server.server_address[1]}", answers)
    server.stand_in = stand_in  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


class _StandInHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        stand_in: StandInStripe = self.server.stand_in  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        stand_in.requests.append(RecordedRequest(
            "POST", self.path, dict(self.headers.items()),
            urllib.parse.parse_qs(body, keep_blank_values=True)))
        answer = stand_in.answers.get(self.path)
        status = 200 if answer is not None else 404
        data = json.dumps(answer if answer is not None else {"error": {
            "type": "invalid_request_error", "message": f"no stand-in for {self.path}"}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass
