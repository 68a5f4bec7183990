"""Page templates: a plain ``jinja2.Environment`` with autoescape, separate from the
sandboxed engine that renders users' templates (``launchpad_core.render.rendering``).

Everything a user typed (template names, help text, answers, logs) reaches the
HTML through ``{{ ... }}`` and so is escaped; the page templates never use ``|safe``.
"""

from __future__ import annotations

from typing import Any

import falcon
import jinja2

from .assets import Assets
from .security import FormToken


class Pages:
    def __init__(self, *, assets: Assets, form_token: FormToken, globals: dict[str, Any]):
        self.form_token = form_token
        self.assets = assets
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("launchpad_web.pages", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(globals, asset=assets.url)

    def render(self, req: falcon.Request, resp: falcon.Response, page_name: str, /, *,
               status: int = 200, **context: Any) -> None:
        resp.status = status
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.env.get_template(page_name).render(
            user=req.context.get("user"),
            csrf_token=self.form_token.issue(req, resp),
            path=req.path,
            **context,
        )
