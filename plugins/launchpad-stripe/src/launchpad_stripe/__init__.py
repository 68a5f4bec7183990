"""Stripe billing for LaunchPad's hosted service.

Installed, the package registers :mod:`launchpad_stripe.plugin` in the
``launchpad`` entry-point group under the name ``stripe``; it answers the
``launchpad_billing_provider`` hook when the service's billing settings name
``stripe`` (``LAUNCHPAD_STRIPE_SECRET_KEY`` is set).
"""

__version__ = "0.1.0"
