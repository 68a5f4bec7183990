"""Accounts: users, sign-up, sign-in, server-side sessions and (next) API tokens."""
