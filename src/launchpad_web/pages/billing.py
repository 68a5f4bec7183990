"""The billing page: the plan, this month's usage against its limits, upgrading through
the provider's checkout and managing the subscription in its portal, each a form over
the same :class:`BillingService` as ``/api/subscriptions``.

A successful form answers a page that continues to the provider's page (its URL from
the provider, never from the request) by a link, followed at once by ``continue.js``:
a 303 there would be a form post redirected off this origin, which the pages'
``form-action 'self'`` policy blocks. A refusal (409 a subscription already runs, 503 the provider
failed) is shown on the billing page. Self-hosted (``plans`` None) the page says
plans are not enforced and offers no checkout.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import falcon

from ..billing.models import Plan
from ..billing.plans import PLAN_ORDER, PlanCatalog
from ..billing.schemas import CheckoutRequest
from ..billing.services import BillingService
from ..converter import structure
from ..errors import ApiError, BillingUnavailableError
from .forms import Form
from .rendering import Pages
from .resources import NO_ERRORS, FormErrors, failed, require_page_user
from .security import FIELD

CHECKOUT_NOTICES = {
    "success": "Thank you: your payment went through. The new plan applies as soon as "
               "the payment provider confirms it.",
    "canceled": "Checkout was canceled; nothing changed.",
}


class BillingPage:
    def __init__(self, pages: Pages, billing: BillingService, plans: PlanCatalog | None):
        self.pages = pages
        self.billing = billing
        self.plans = plans

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.render(req, resp, notice=CHECKOUT_NOTICES.get(req.get_param("checkout") or ""))

    def render(self, req: falcon.Request, resp: falcon.Response, *, status: int = 200,
               errors: FormErrors = NO_ERRORS, notice: str | None = None) -> None:
        sub = self.billing.overview(req.context.db, req.context.user)
        offers = [] if self.plans is None else [
            (plan, self.plans[plan]) for plan in PLAN_ORDER
            if plan is not Plan.FREE and plan is not sub.plan]
        self.pages.render(req, resp, "billing.html", status=status, subscription=sub,
                          enforced=self.plans is not None, offers=offers, errors=errors,
                          notice=notice)

    @falcon.before(require_page_user)
    def on_post_checkout(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = self._read(req)
        try:
            body = structure({"plan": form.get("plan")}, CheckoutRequest)
            session = self.billing.checkout(req.context.db, req.context.user, body.plan)
        except ApiError as ex:
            self._refuse(req, resp, ex)
            return
        self._continue(req, resp, session.url, "the payment page")

    @falcon.before(require_page_user)
    def on_post_portal(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._read(req)
        try:
            portal = self.billing.portal(req.context.db, req.context.user)
        except ApiError as ex:
            self._refuse(req, resp, ex)
            return
        self._continue(req, resp, portal.url, "the subscription portal")

    def _continue(self, req: falcon.Request, resp: falcon.Response, url: str,
                  where: str) -> None:
        if urlsplit(url).scheme not in ("https", "http"):
            raise BillingUnavailableError("the payment provider answered no usable address")
        self.pages.render(req, resp, "continue.html", url=url, where=where)

    def _read(self, req: falcon.Request) -> Form:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        return form

    def _refuse(self, req: falcon.Request, resp: falcon.Response, ex: ApiError) -> None:
        failed(req)
        self.render(req, resp, status=ex.status, errors=FormErrors.of(ex, ()))
        resp.set_headers(ex.headers)


def install(app: falcon.App, pages: Pages, billing: BillingService,
            plans: PlanCatalog | None) -> None:
    page = BillingPage(pages, billing, plans)
    app.add_route("/billing", page)
    app.add_route("/billing/checkout", page, suffix="checkout")
    app.add_route("/billing/portal", page, suffix="portal")
