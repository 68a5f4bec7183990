"""Billing: subscriptions to plans and processed payment-provider webhook events."""
