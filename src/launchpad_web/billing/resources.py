"""HTTP nouns of the billing domain: the subscription, checkout, the portal, webhooks."""

from __future__ import annotations

import falcon

from ..accounts.auth import current_user, require_user
from ..converter import unstructure
from ..errors import PayloadTooLargeError
from ..openapi import Route, operation
from ..request_bodies import read_json
from .schemas import CheckoutRequest, CheckoutView, PortalView, SubscriptionView, WebhookResult
from .services import BillingService
from .webhooks import WebhookProcessor


class SubscriptionResource:
    def __init__(self, billing: BillingService):
        self.billing = billing

    @operation("The signed-in user's plan, its limits and this month's usage",
               responses={200: SubscriptionView}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = unstructure(self.billing.overview(req.context.db, current_user(req)))


class CheckoutResource:
    def __init__(self, billing: BillingService):
        self.billing = billing

    @operation("Start paying for a plan: a Checkout Session to send the user to",
               request=CheckoutRequest, responses={201: CheckoutView}, problems=(409, 503),
               auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, CheckoutRequest)
        session = self.billing.checkout(req.context.db, current_user(req), body.plan)
        resp.status = falcon.HTTP_201
        resp.media = unstructure(session)


class PortalResource:
    def __init__(self, billing: BillingService):
        self.billing = billing

    @operation("The payment provider's customer portal: manage payment, cancel",
               responses={200: PortalView}, problems=(409, 503), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = unstructure(self.billing.portal(req.context.db, current_user(req)))


class StripeWebhookResource:
    """Signed by Stripe, not by a user: no session, no CSRF token."""

    def __init__(self, webhooks: WebhookProcessor):
        self.webhooks = webhooks

    @operation("Stripe's events (signed with the endpoint secret)",
               responses={200: WebhookResult}, problems=(400, 413, 503))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = req.context.max_body_bytes
        payload = req.bounded_stream.read(limit + 1)
        if len(payload) > limit:
            raise PayloadTooLargeError(f"at most {limit} bytes are accepted")
        result = self.webhooks.handle(req.context.db, payload=payload,
                                      signature=req.get_header("Stripe-Signature"))
        resp.media = unstructure(WebhookResult(result))


def routes(*, billing: BillingService, webhooks: WebhookProcessor) -> list[Route]:
    return [
        Route("/api/subscriptions", SubscriptionResource(billing)),
        Route("/api/subscriptions/checkout", CheckoutResource(billing)),
        Route("/api/subscriptions/portal", PortalResource(billing)),
        Route("/api/webhooks/stripe", StripeWebhookResource(webhooks)),
    ]
