"""Git forges on the hosted service: signing in with one, linking and unlinking it,
and its access tokens, kept encrypted (see ``README.md`` of ``launchpad_web``)."""
