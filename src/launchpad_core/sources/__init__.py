"""Where templates come from: directories (``loading``), zip archives (``zips``) and Git
repositories (``repositories``, through the one Git runner in ``git``)."""
