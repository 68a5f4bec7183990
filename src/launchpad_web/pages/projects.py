"""The projects pages: my projects (with a delete button each), and a template's
fleet (its projects by version, as a table and a bar chart of plain HTML), over the
same :class:`ProjectService` as ``/api/projects`` and ``/api/templates/{id}/fleet``.
"""

from __future__ import annotations

import uuid

import falcon

from ..projects.services import FLEET_DEFAULT, PAGE_DEFAULT, ListQuery, Page, ProjectService
from ..templates.services import TemplateService
from .forms import Form
from .rendering import Pages
from .resources import require_page_user, see_other
from .security import FIELD


class ProjectsPage:
    def __init__(self, pages: Pages, projects: ProjectService):
        self.pages = pages
        self.projects = projects

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = ListQuery(limit=PAGE_DEFAULT, cursor=req.get_param("cursor"))
        page = self.projects.list(req.context.db, user_id=req.context.user.id, query=query)
        self.pages.render(req, resp, "projects.html", page=page,
                          first_page=query.cursor is None,
                          deleted=req.get_param("done") == "deleted")


class ProjectDeleteForm:
    def __init__(self, pages: Pages, projects: ProjectService):
        self.pages = pages
        self.projects = projects

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, project_id: uuid.UUID) -> None:
        self.pages.form_token.check(req, Form.read(req).get(FIELD))
        self.projects.delete(req.context.db, user_id=req.context.user.id, project_id=project_id)
        see_other(resp, "/projects?done=deleted")


class FleetPage:
    def __init__(self, pages: Pages, templates: TemplateService, projects: ProjectService):
        self.pages = pages
        self.templates = templates
        self.projects = projects

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        user_id = req.context.user.id
        template = self.templates.get(req.context.db, user_id=user_id, template_id=template_id)
        cursor = req.get_param("cursor")
        fleet = self.projects.fleet(req.context.db, user_id=user_id, template_id=template_id,
                                    page=Page(FLEET_DEFAULT, cursor))
        self.pages.render(req, resp, "fleet.html", template=template, fleet=fleet,
                          first_page=cursor is None)


def install(app: falcon.App, pages: Pages, templates: TemplateService,
            projects: ProjectService) -> None:
    app.add_route("/projects", ProjectsPage(pages, projects))
    app.add_route("/projects/{project_id:uuid}/delete", ProjectDeleteForm(pages, projects))
    app.add_route("/templates/{template_id:uuid}/projects", FleetPage(pages, templates, projects))
