"""Accounts: users, sign-up, sign-in, server-side sessions, API tokens, CSRF protection,
login throttling, password change and the GDPR export and deletion."""
