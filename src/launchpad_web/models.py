"""Every domain's tables, imported so :data:`metadata` is complete.

Alembic's ``env.py`` and the models-vs-migrations test use :data:`metadata`; a
new domain's ``models`` module is added to the imports below.
"""

from __future__ import annotations

from .accounts import models as accounts
from .billing import models as billing
from .db import Base
from .forges import models as forges
from .jobs import models as jobs
from .projects import models as projects
from .publishing import models as publishing
from .sources import models as sources
from .teams import models as teams
from .templates import models as templates
from .updates import models as updates

DOMAINS = (accounts, teams, templates, jobs, billing, forges, projects, publishing, sources,
           updates)

metadata = Base.metadata
