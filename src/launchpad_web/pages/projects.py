"""The projects pages: my projects (with a delete button each), one project (its
answers without secrets, where it went, an Update form and its update jobs with their
patch or pull request), and a template's fleet (its projects by version, as a table
and a bar chart of plain HTML, with "Update all"), over the same services as
``/api/projects``, ``/api/projects/{id}/update`` and ``/api/templates/{id}/fleet``.
Forms carry the page's CSRF token; the pages run no script.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import attrs
import falcon

from launchpad_core.model.serialization import structure_template
from launchpad_core.model.template import Template
from launchpad_core.model.variables import VariableType

from ..errors import ApiError, ValidationFailedError
from ..jobs import leases
from ..jobs.models import REDACTED
from ..jobs.queue import Queue
from ..projects.services import FLEET_DEFAULT, PAGE_DEFAULT, ListQuery, Page, ProjectService
from ..templates.services import TemplateService
from ..updates.resources import start_update, start_update_all
from ..updates.schemas import UpdateAllRequest, UpdateRequest
from ..updates.services import UpdateService
from .forms import Form, typed_answers
from .questions import Question, questions
from .rendering import Pages
from .resources import NO_ERRORS, FormErrors, failed, require_page_user, see_other
from .security import FIELD

#: The second step of an update's form: the chosen version's questions were shown.
ANSWERS_STEP = "answers"
#: A version number longer than this is no version (and no 5,000-digit int() either).
VERSION_DIGITS = 9


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


class ProjectPage:
    """One project: what it was made from and with, where it went, its update jobs.

    Updating takes two steps when the chosen version asks something the project's
    answers do not hold (a new question) or has secret answers (not kept, so given again
    only when they change): the Update button shows those questions, and the second
    button starts the update with what was typed (an empty field keeps its default, or
    the secret as it was)."""

    def __init__(self, pages: Pages, projects: ProjectService, updates: UpdateService,
                 queue: Queue, types: Mapping[str, VariableType]):
        self.pages = pages
        self.projects = projects
        self.updates = updates
        self.queue = queue
        self.types = types

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: uuid.UUID) -> None:
        self.render(req, resp, project_id, queued=req.get_param("done") == "queued")

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response,
                project_id: uuid.UUID) -> None:
        """The Update button: the version's questions, or an update job to it."""
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        text = form.get("version").strip()
        version = int(text) if text.isdigit() and len(text) <= VERSION_DIGITS else None
        asked = self._asked(req, project_id, version)
        shown = asked.variables if asked is not None else ()
        if shown and form.get("step") != ANSWERS_STEP:
            self.render(req, resp, project_id, asking=(version, questions(asked)))
            return
        try:
            if version is None:
                raise ValidationFailedError.one("invalid_version", "choose a version to update "
                                                "to", "$.version")
            answers = typed_answers(asked, form, self.types) if asked is not None else {}
            start_update(req, self.updates, self.queue, project_id,
                         UpdateRequest(version=version, answers=answers))
        except ApiError as ex:
            failed(req)
            known = ["version", *(f"answers.{v.name}" for v in shown)]
            again = (version, questions(asked, form.answers_text())) if shown else None
            self.render(req, resp, project_id, errors=FormErrors.of(ex, known),
                        status=ex.status, asking=again)
            return
        see_other(resp, f"/projects/{project_id}?done=queued#updates")

    def _asked(self, req: falcon.Request, project_id: uuid.UUID,
               version: int | None) -> Template | None:
        """Version ``version`` of the project's template reduced to what an update to it
        asks: its questions the project has no answer to, and its secrets; None when
        there is no such version of the project's own (the update's checks say why)."""
        db, user_id = req.context.db, req.context.user.id
        project = self.projects.get(db, user_id=user_id, project_id=project_id)
        if version is None or project.template_id is None or version <= project.template_version:
            return None
        definition = leases.definition(db, project.template_id, version)
        if definition is None:
            return None
        template = structure_template(dict(definition))
        kept = {k for k, v in project.answers.items() if v != REDACTED}
        return attrs.evolve(template, variables=tuple(
            v for v in template.variables if v.secret or v.name not in kept))

    def render(self, req: falcon.Request, resp: falcon.Response, project_id: uuid.UUID, *,
               status: int = 200, errors: FormErrors = NO_ERRORS, queued: bool = False,
               asking: tuple[int | None, list[Question]] | None = None) -> None:
        db, user_id = req.context.db, req.context.user.id
        project = self.projects.get(db, user_id=user_id, project_id=project_id)
        updates = self.updates.of_project(db, user_id=user_id, project_id=project_id)
        shown = {k: v for k, v in project.answers.items() if v != REDACTED}
        secret = sorted(k for k, v in project.answers.items() if v == REDACTED)
        newer = range(project.template_version + 1, (project.latest_version or 0) + 1)
        self.pages.render(req, resp, "project.html", status=status, project=project, answers=shown,
                          secret=secret, updates=updates, newer=list(newer), errors=errors,
                          queued=queued, asking=asking, answers_step=ANSWERS_STEP)


class FleetPage:
    def __init__(self, pages: Pages, templates: TemplateService, projects: ProjectService,
                 updates: UpdateService, queue: Queue):
        self.pages = pages
        self.templates = templates
        self.projects = projects
        self.updates = updates
        self.queue = queue

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        self.render(req, resp, template_id, queued=req.get_param("queued"))

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response,
                template_id: uuid.UUID) -> None:
        """"Update all": one update job per project of mine behind the latest version."""
        self.pages.form_token.check(req, Form.read(req).get(FIELD))
        try:
            queued = start_update_all(req, self.updates, self.queue, template_id,
                                      UpdateAllRequest())
        except ApiError as ex:
            failed(req)
            self.render(req, resp, template_id, errors=FormErrors.of(ex, ()), status=ex.status)
            return
        see_other(resp, f"/templates/{template_id}/projects?queued={len(queued)}")

    def render(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID, *,
               status: int = 200, errors: FormErrors = NO_ERRORS,
               queued: str | None = None) -> None:
        user_id = req.context.user.id
        template = self.templates.get(req.context.db, user_id=user_id, template_id=template_id)
        cursor = req.get_param("cursor")
        fleet = self.projects.fleet(req.context.db, user_id=user_id, template_id=template_id,
                                    page=Page(FLEET_DEFAULT, cursor))
        self.pages.render(req, resp, "fleet.html", status=status, template=template, fleet=fleet,
                          first_page=cursor is None, errors=errors, queued=queued)


def install(app: falcon.App, pages: Pages, *, templates: TemplateService,
            projects: ProjectService, updates: UpdateService, queue: Queue,
            types: Mapping[str, VariableType]) -> None:
    app.add_route("/projects", ProjectsPage(pages, projects))
    app.add_route("/projects/{project_id:uuid}",
                  ProjectPage(pages, projects, updates, queue, types))
    app.add_route("/projects/{project_id:uuid}/delete", ProjectDeleteForm(pages, projects))
    app.add_route("/templates/{template_id:uuid}/projects",
                  FleetPage(pages, templates, projects, updates, queue))
