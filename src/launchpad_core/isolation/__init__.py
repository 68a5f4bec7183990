"""The one isolation boundary: running template code in resource-limited child processes
(``children``) and the plain calls a hosted service makes there (``hosted``)."""
