"""A stand-in git forge on loopback: GitHub's and GitLab's OAuth endpoints and the
REST calls LaunchPad's forge plugins make, for tests.

The OAuth 2.0 side is Authlib's own authorization server
(:class:`authlib.oauth2.AuthorizationServer`: the authorization-code grant with
PKCE required, refresh tokens, client_secret_post/basic), wired to a small WSGI
app. Routes are a table of patterns (:meth:`StandinForge.route`), so a later step
adds ``git http-backend`` or webhooks with one call each. Repositories are records
(created with GitHub's ``POST /user/repos`` or GitLab's ``POST /api/v4/projects``,
read with ``GET /repos/{owner}/{name}`` or ``GET /api/v4/projects/{path}``) with a
real bare git repository each, served at their ``clone_url`` by ``git http-backend``
(CGI, run per request) with HTTP Basic authentication against the stand-in's tokens.
Switches make it fail as a forge does: :attr:`StandinForge.down`, ``fail_creates``
and ``fail_pushes`` (the work is done, the answer is a 502).

For templates from repositories, :meth:`StandinForge.add_repository` makes one with
files, and :meth:`StandinForge.commit` adds a commit (and a tag) to it, as a push
would; :func:`github_delivery` and :func:`gitlab_delivery` are a tag push's webhook
delivery, signed (or carrying the secret token) exactly as each forge does.

The person "signed in at the forge" is :attr:`StandinForge.signed_in` (a login the
test sets, as a browser's forge session would be): the authorization endpoint
grants at once for them, as a forge does for an app already authorized.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import attrs
import launchpad_github.plugin
import launchpad_gitlab.plugin
import waitress
from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge

from launchpad_core import Launchpad
from launchpad_web.forges.settings import ForgeSettings

from .conftest import OUTBOX

GITHUB_CLIENT = ("github-client-id", "github-client-secret")
GITLAB_CLIENT = ("gitlab-client-id", "gitlab-client-secret")
REPOSITORY_SCOPES = {GITHUB_CLIENT[0]: "repo", GITLAB_CLIENT[0]: "api"}

GIT_PATH = (r"/(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/"  # with .git or not, as GitHub
            r"(?P<rest>info/refs|git-upload-pack|git-receive-pack)")

Response = tuple[int, Any, list[tuple[str, str]]]
Handler = Callable[["Request"], Response]


@attrs.define
class Person:
    id: int
    login: str
    name: str
    emails: list[dict[str, Any]]  # GitHub's shape: email, verified, primary


@attrs.frozen
class Repository:
    path: str  # owner/name
    owner: str
    private: bool
    description: str


@attrs.frozen
class Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@attrs.define
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    login: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@attrs.define
class Token:
    client_id: str
    login: str
    scope: str
    access_token: str
    refresh_token: str | None
    expires_at: float
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked

    def may_use_repositories(self) -> bool:
        """Whether the token was granted its forge's repository scope (GitHub's ``repo``,
        GitLab's ``api``): without it the forges create nothing, hide private
        repositories and refuse pushes."""
        return REPOSITORY_SCOPES.get(self.client_id, "") in self.scope.replace(",", " ").split()

    def get_user(self) -> str:
        return self.login


class Request(OAuth2Request):
    """A WSGI request as Authlib's server reads it (query and form merged in ``payload``)."""

    def __init__(self, environ: dict[str, Any]):
        query = environ.get("QUERY_STRING", "")
        url = f"http://{environ['HTTP_HOST']}{environ['PATH_INFO']}"
        url += f"?{query}" if query else ""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        super().__init__(environ["REQUEST_METHOD"], url, headers=headers)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.raw_data = environ["wsgi.input"].read(length) if length else b""
        body = self.raw_data.decode("utf-8", "replace")
        self.path = environ["PATH_INFO"]
        self.environ = environ
        self.raw_body = body
        self.match: re.Match[str] | None = None
        self._args = dict(parse_qsl(query))
        self._form = {} if "json" in headers.get("Content-Type", "") else dict(parse_qsl(body))
        self.payload = BasicOAuth2Payload({**self._args, **self._form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def json(self) -> Any:
        return json.loads(self.raw_body or "null")

    @property
    def bearer(self) -> str | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        return value if scheme.lower() == "bearer" else None

    @property
    def basic_password(self) -> str | None:
        """The password of HTTP Basic authentication (git sends the token so)."""
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            return base64.b64decode(value).decode().partition(":")[2]
        except ValueError:
            return None


class StandinForge:
    def __init__(self, *, token_seconds: int = 3600):
        self.token_seconds = token_seconds
        self.people: dict[str, Person] = {}
        self.signed_in: str | None = None
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Token] = {}
        self.repositories: dict[str, Repository] = {}
        self.git_root = Path(tempfile.mkdtemp(prefix="standin-git-"))
        self.down = False  # every request answers 503
        self.fail_creates = 0  # so many repository creations succeed but answer 502
        self.fail_pushes = 0  # so many pushes land but answer 502 (a push "mid-way")
        self.url = ""  # set by :func:`running`
        self.requests: list[tuple[str, str]] = []  # (method, path) as served
        self.lock = threading.Lock()
        self.clients: dict[str, Client] = {}
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.server = Server(self)
        for path in ("/login/oauth/authorize", "/oauth/authorize"):
            self.route("GET", path, self.authorize)
        for path in ("/login/oauth/access_token", "/oauth/token"):
            self.route("POST", path, self.token)
        self.route("GET", "/user", self.github_user)
        self.route("GET", "/user/emails", self.github_emails)
        self.route("GET", "/api/v4/user", self.gitlab_user)
        self.route("POST", "/user/repos", self.github_create_repository)
        self.route("GET", "/repos/(?P<path>[^/]+/[^/]+)", self.github_repository)
        self.route("POST", "/api/v4/projects", self.gitlab_create_project)
        # waitress decodes %2F in PATH_INFO: the encoded "group%2Fname" arrives with a slash
        self.route("GET", "/api/v4/projects/(?P<path>.+)", self.gitlab_project)
        for method in ("GET", "POST"):
            self.route(method, GIT_PATH, self.git)
        self._route_change_requests()

    # -- set-up -------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer ``method`` on paths matching ``pattern`` (a regular expression, whole
        path; its groups in ``request.match``) with ``handler(request)``."""
        self.routes.append((method, re.compile(pattern), handler))

    def register_clients(self, redirect_base: str) -> None:
        """The OAuth apps of both forges, calling back to LaunchPad at ``redirect_base``."""
        for name, (client_id, secret) in (("github", GITHUB_CLIENT), ("gitlab", GITLAB_CLIENT)):
            self.clients[client_id] = Client(client_id, secret,
                                             (f"{redirect_base}/auth/{name}/callback",))

    def add_person(self, login: str, *emails: tuple[str, bool]) -> Person:
        """A forge account with ``(address, verified)`` emails, the first primary."""
        person = Person(id=1000 + len(self.people), login=login, name=login.title(),
                        emails=[{"email": address, "verified": verified, "primary": i == 0}
                                for i, (address, verified) in enumerate(emails)])
        self.people[login] = person
        return person

    def revoke(self, login: str) -> None:
        """The person revokes LaunchPad's access at the forge: every token stops working."""
        with self.lock:
            for token in self.tokens.values():
                if token.login == login:
                    token.revoked = True

    def repository_token(self, login: str) -> str:
        """A live token of ``login``'s that may use their repositories (as LaunchPad
        holds one after "Allow repositories")."""
        return next(t.access_token for t in self.tokens.values()
                    if t.login == login and not t.revoked and not t.is_expired()
                    and t.may_use_repositories())

    def live_access_tokens(self, login: str) -> set[str]:
        return {t.access_token for t in self.tokens.values()
                if t.login == login and not t.revoked and not t.is_expired()}

    def bearer_token(self, grant_type: str, client: Client, user: Any = None, *,
                     scope: str | None = None, expires_in: int | None = None,
                     include_refresh_token: bool = True) -> dict[str, Any]:
        """Authlib's token generator: random tokens that expire after ``token_seconds``."""
        granted = (scope or "").split()  # GitHub answers them comma-separated
        token = {"token_type": "bearer", "access_token": f"at_{generate_token(40)}",
                 "expires_in": self.token_seconds,
                 "scope": (",".join if client.client_id == GITHUB_CLIENT[0] else " ".join)(
                     granted)}
        if include_refresh_token:
            token["refresh_token"] = f"rt_{generate_token(40)}"
        return token

    # -- OAuth (Authlib) ---------------------------------------------------------------
    def authorize(self, request: Request) -> Response:
        if self.signed_in is None:
            return 401, {"message": "nobody is signed in at the stand-in forge"}, []
        try:
            grant = self.server.get_consent_grant(request, end_user=self.signed_in)
        except OAuth2Error as error:
            return 400, dict(error.get_body()), []
        return self.server.create_authorization_response(request, grant_user=self.signed_in,
                                                         grant=grant)

    def token(self, request: Request) -> Response:
        return self.server.create_token_response(request)

    # -- REST ----------------------------------------------------------------------------
    def _person(self, request: Request) -> Person | None:
        token = self._live(request)
        return None if token is None else self.people[token.login]

    def _live(self, request: Request) -> Token | None:
        token = self.tokens.get(request.bearer or "")
        return None if token is None or token.revoked or token.is_expired() else token

    def _repositories_allowed(self, request: Request) -> bool:
        token = self._live(request)
        return token is not None and token.may_use_repositories()

    def github_user(self, request: Request) -> Response:
        person = self._person(request)
        if person is None:
            return 401, {"message": "Bad credentials"}, []
        return 200, {"id": person.id, "login": person.login, "name": person.name,
                     "email": person.emails[0]["email"] if person.emails else None}, []

    def github_emails(self, request: Request) -> Response:
        person = self._person(request)
        if person is None:
            return 401, {"message": "Bad credentials"}, []
        return 200, person.emails, []

    def gitlab_user(self, request: Request) -> Response:
        person = self._person(request)
        if person is None:
            return 401, {"message": "401 Unauthorized"}, []
        primary = person.emails[0] if person.emails else None
        return 200, {"id": person.id, "username": person.login, "name": person.name,
                     "email": primary["email"] if primary else None,
                     "confirmed_at": "2030-01-01T00:00:00Z"
                     if primary and primary["verified"] else None}, []

    def _repository(self, request: Request, path: str) -> Repository | None:
        """The repository if it exists and the caller may see it."""
        found = self.repositories.get(path)
        person = self._person(request)
        if found is None or (found.private and (person is None or person.login != found.owner
                                                or not self._repositories_allowed(request))):
            return None
        return found

    def _create(self, request: Request, name: str, private: bool) -> Repository | None:
        person = self._person(request)
        assert person is not None
        path = f"{person.login}/{name}"
        with self.lock:
            if path in self.repositories:
                return None
            self.repositories[path] = Repository(path, person.login, private,
                                                 request.json.get("description") or "")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main",
                        str(self.git_root / f"{path}.git")], check=True)
        return self.repositories[path]

    def _created(self, answer: Response) -> Response:
        """``answer``, or a 502 when creations are set to fail after the fact."""
        with self.lock:
            if self.fail_creates:
                self.fail_creates -= 1
                return 502, {"message": "Server Error"}, []
        return answer

    # -- git over smart HTTP (git http-backend) --------------------------------------------
    def git(self, request: Request) -> Response:
        """Clone, fetch and push through ``git http-backend``: reading a private repository
        or pushing takes HTTP Basic authentication with a live token of its owner."""
        path = f"{request.match['owner']}/{request.match['name']}"
        found = self.repositories.get(path)
        if found is None:
            return 404, "Repository not found", []
        pushing = "git-receive-pack" in (request.match["rest"], request.args.get("service"))
        token = self.tokens.get(request.basic_password or "")
        person = None if token is None or token.revoked or token.is_expired() else token.login
        if (pushing or found.private) and person is None:
            return 401, "Authentication required", [("WWW-Authenticate", 'Basic realm="git"')]
        if (pushing or found.private) and (person != found.owner or token is None
                                           or not token.may_use_repositories()):
            return 403, "Forbidden", []
        answer = self._http_backend(request, f"/{path}.git/{request.match['rest']}", person)
        with self.lock:
            if pushing and request.method == "POST" and self.fail_pushes:
                self.fail_pushes -= 1
                return 502, "Bad Gateway", []
        return answer

    def _http_backend(self, request: Request, path_info: str, user: str | None) -> Response:
        environ = request.environ
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_HTTP_EXPORT_ALL": "1",
               "GIT_PROJECT_ROOT": str(self.git_root), "PATH_INFO": path_info,
               "REQUEST_METHOD": request.method, "QUERY_STRING": environ.get("QUERY_STRING", ""),
               "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
               "CONTENT_LENGTH": str(len(request.raw_data)), "REMOTE_ADDR": "127.0.0.1",
               "REMOTE_USER": user or "", "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": str(self.git_root)}
        for name in ("HTTP_CONTENT_ENCODING", "HTTP_GIT_PROTOCOL"):
            if name in environ:
                env[name] = environ[name]
        if "HTTP_GIT_PROTOCOL" in env:
            env["GIT_PROTOCOL"] = env["HTTP_GIT_PROTOCOL"]
        done = subprocess.run(["git", "http-backend"], input=request.raw_data, env=env,
                              capture_output=True, check=False)
        head, _, body = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        return status, body, headers

    def add_repository(self, owner: str, name: str, files: dict[str, str], *,
                       private: bool = True, tag: str | None = None) -> Repository:
        """A repository of ``owner`` whose ``main`` holds ``files`` (path -> text), its
        first commit tagged ``tag``."""
        path = f"{owner}/{name}"
        self.repositories[path] = Repository(path, owner, private, "")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main",
                        str(self.git_root / f"{path}.git")], check=True)
        self.commit(path, files, tag=tag)
        return self.repositories[path]

    def commit(self, path: str, files: dict[str, str], *, tag: str | None = None,
               annotated: bool = False) -> str:
        """A commit on ``main`` of the repository at ``owner/name`` with exactly ``files``
        (and the tag ``tag``, annotated or not): its id."""
        bare = self.git_root / f"{path}.git"
        with tempfile.TemporaryDirectory(prefix="standin-tree-") as tree:
            for name, text in files.items():
                target = Path(tree) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
            env = {**os.environ, "GIT_DIR": str(bare), "GIT_WORK_TREE": tree,
                   "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.org",
                   "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.org",
                   "GIT_INDEX_FILE": str(Path(tree) / ".." / f"{Path(tree).name}.index")}
            for args in (["add", "-A"], ["commit", "-q", "-m", f"change {len(files)} files"]):
                subprocess.run(["git", *args], env=env, check=True, capture_output=True)
            Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
            if tag is not None:
                subprocess.run(["git", "tag", *(["-a", "-m", tag] if annotated else []), tag],
                               env=env, check=True, capture_output=True)
        done = subprocess.run(["git", "--git-dir", str(bare), "rev-parse", "main"],
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commits(self, path: str) -> list[str]:
        """The commit ids on ``main`` of the repository at ``owner/name``, newest first."""
        done = subprocess.run(["git", "--git-dir", str(self.git_root / f"{path}.git"),
                               "rev-list", "--all"], capture_output=True, text=True, check=False)
        return done.stdout.split()

    def github_create_repository(self, request: Request) -> Response:
        if self._person(request) is None:
            return 401, {"message": "Bad credentials"}, []
        if not self._repositories_allowed(request):
            return 403, {"message": "Resource not accessible by integration"}, []
        body = request.json
        created = self._create(request, body["name"], body.get("private") is True)
        if created is None:
            return 422, {"message": "Repository creation failed.", "errors": [
                {"resource": "Repository", "code": "custom", "field": "name",
                 "message": "name already exists on this account"}]}, []
        return self._created((201, self._github_shape(created), []))

    def _bad_token(self, request: Request) -> bool:
        """A token was sent and is not live (revoked, expired, unknown): the forges answer
        401 to it on every route, public repositories' too."""
        return request.bearer is not None and self._person(request) is None

    def github_repository(self, request: Request) -> Response:
        if self._bad_token(request):
            return 401, {"message": "Bad credentials"}, []
        found = self._repository(request, request.match["path"])
        if found is None:
            return 404, {"message": "Not Found"}, []
        return 200, self._github_shape(found), []

    def gitlab_create_project(self, request: Request) -> Response:
        if self._person(request) is None:
            return 401, {"message": "401 Unauthorized"}, []
        if not self._repositories_allowed(request):
            return 403, {"error": "insufficient_scope"}, []
        body = request.json
        created = self._create(request, body["path"], body.get("visibility") != "public")
        if created is None:
            return 400, {"message": {"name": ["has already been taken"],
                                     "path": ["has already been taken"]}}, []
        return self._created((201, self._gitlab_shape(created), []))

    def gitlab_project(self, request: Request) -> Response:
        if self._bad_token(request):
            return 401, {"message": "401 Unauthorized"}, []
        found = self._repository(request, unquote(request.match["path"]))
        if found is None:
            return 404, {"message": "404 Project Not Found"}, []
        return 200, self._gitlab_shape(found), []

    # -- pull / merge requests (project updates) -------------------------------------------
    def _route_change_requests(self) -> None:
        """GitHub's ``GET|POST /repos/{owner}/{name}/pulls`` and GitLab's
        ``GET|POST /api/v4/projects/{id}/merge_requests``, ahead of the repository routes
        (whose patterns would take these paths too)."""
        self.change_requests: dict[str, list[dict[str, Any]]] = {}
        self.fail_change_requests = 0  # so many are opened but answer 502
        mine = [("GET", "/repos/(?P<path>[^/]+/[^/]+)/pulls", self.github_pulls),
                ("POST", "/repos/(?P<path>[^/]+/[^/]+)/pulls", self.github_open_pull),
                ("GET", "/api/v4/projects/(?P<path>.+)/merge_requests",
                 self.gitlab_merge_requests),
                ("POST", "/api/v4/projects/(?P<path>.+)/merge_requests",
                 self.gitlab_open_merge_request)]
        self.routes[:0] = [(method, re.compile(pattern), handler)
                           for method, pattern, handler in mine]

    def _writable(self, request: Request) -> Repository | None:
        found = self._repository(request, unquote(request.match["path"]))
        person = self._person(request)
        return found if found is not None and person is not None \
            and person.login == found.owner and self._repositories_allowed(request) else None

    def _branch_exists(self, path: str, branch: str) -> bool:
        done = subprocess.run(["git", "--git-dir", str(self.git_root / f"{path}.git"),
                               "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
                              capture_output=True, check=False)
        return done.returncode == 0

    def _open(self, path: str, head: str, base: str) -> list[dict[str, Any]]:
        return [c for c in self.change_requests.get(path, [])
                if c["head"] == head and c["base"] == base and c["state"] == "open"]

    def _new_change_request(self, path: str, head: str, base: str, title: str,
                            body: str) -> dict[str, Any]:
        with self.lock:
            made = self.change_requests.setdefault(path, [])
            change = {"number": len(made) + 1, "head": head, "base": base, "title": title,
                      "body": body, "state": "open"}
            made.append(change)
        return change

    def _opened(self, answer: Response) -> Response:
        """``answer``, or a 502 when opening requests is set to fail after the fact."""
        with self.lock:
            if self.fail_change_requests:
                self.fail_change_requests -= 1
                return 502, {"message": "Server Error"}, []
        return answer

    def _github_pull(self, path: str, change: dict[str, Any]) -> dict[str, Any]:
        return {"number": change["number"], "state": change["state"], "title": change["title"],
                "body": change["body"], "head": {"ref": change["head"]},
                "base": {"ref": change["base"]},
                "html_url": f"{self.url}/{path}/pull/{change['number']}"}

    def _gitlab_merge_request(self, path: str, change: dict[str, Any]) -> dict[str, Any]:
        return {"iid": change["number"], "state": "opened", "title": change["title"],
                "description": change["body"], "source_branch": change["head"],
                "target_branch": change["base"],
                "web_url": f"{self.url}/{path}/-/merge_requests/{change['number']}"}

    def github_pulls(self, request: Request) -> Response:
        found = self._repository(request, request.match["path"])
        if found is None:
            return 404, {"message": "Not Found"}, []
        head = request.args.get("head", "").partition(":")[2]
        listed = [c for c in self.change_requests.get(found.path, [])
                  if (not head or c["head"] == head) and c["state"] == "open"
                  and c["base"] == request.args.get("base", c["base"])]
        return 200, [self._github_pull(found.path, c) for c in listed], []

    def github_open_pull(self, request: Request) -> Response:
        found = self._writable(request)
        if found is None:
            return 404, {"message": "Not Found"}, []
        body = request.json
        if not self._branch_exists(found.path, body["head"]) \
                or not self._branch_exists(found.path, body["base"]):
            return 422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "field": "head", "code": "invalid"}]}, []
        if self._open(found.path, body["head"], body["base"]):
            return 422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "code": "custom",
                 "message": "A pull request already exists"}]}, []
        change = self._new_change_request(found.path, body["head"], body["base"],
                                          body["title"], body.get("body") or "")
        return self._opened((201, self._github_pull(found.path, change), []))

    def gitlab_merge_requests(self, request: Request) -> Response:
        found = self._repository(request, unquote(request.match["path"]))
        if found is None:
            return 404, {"message": "404 Project Not Found"}, []
        args = request.args
        listed = [c for c in self.change_requests.get(found.path, [])
                  if c["head"] == args.get("source_branch", c["head"])
                  and c["base"] == args.get("target_branch", c["base"]) and c["state"] == "open"]
        return 200, [self._gitlab_merge_request(found.path, c) for c in listed], []

    def gitlab_open_merge_request(self, request: Request) -> Response:
        found = self._writable(request)
        if found is None:
            return 404, {"message": "404 Project Not Found"}, []
        body = request.json
        head, base = body["source_branch"], body["target_branch"]
        if not self._branch_exists(found.path, head) or not self._branch_exists(found.path, base):
            return 422, {"message": ["Source branch does not exist"]}, []
        if self._open(found.path, head, base):
            return 409, {"message": ["Another open merge request already exists for this "
                                     "source branch"]}, []
        change = self._new_change_request(found.path, head, base, body["title"],
                                          body.get("description") or "")
        return self._opened((201, self._gitlab_merge_request(found.path, change), []))

    # -- shapes --------------------------------------------------------------------------
    def _github_shape(self, repository: Repository) -> dict[str, Any]:
        return {"full_name": repository.path, "name": repository.path.split("/")[1],
                "owner": {"login": repository.owner}, "private": repository.private,
                "description": repository.description, "default_branch": "main",
                "clone_url": f"{self.url}/{repository.path}.git",
                "html_url": f"{self.url}/{repository.path}"}

    def _gitlab_shape(self, repository: Repository) -> dict[str, Any]:
        return {"path_with_namespace": repository.path,
                "visibility": "private" if repository.private else "public",
                "description": repository.description, "default_branch": None,
                "http_url_to_repo": f"{self.url}/{repository.path}.git",
                "web_url": f"{self.url}/{repository.path}"}

    # -- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request = Request(environ)
        self.requests.append((request.method, request.path))
        status, body, headers = 404, {"message": "Not Found"}, []
        if self.down:
            status, body = 503, {"message": "Service Unavailable"}
        for method, pattern, handler in () if self.down else self.routes:
            request.match = pattern.fullmatch(request.path)
            if method == request.method and request.match:
                status, body, headers = handler(request)
                break
        if not isinstance(body, str | bytes):
            body = json.dumps(body)
            headers = [*headers, ("Content-Type", "application/json")]
        data = body.encode() if isinstance(body, str) else body
        start_response(f"{status} X", [*headers, ("Content-Length", str(len(data)))])
        return [data]


class Server(AuthorizationServer):
    """Authlib's authorization server over the stand-in's in-memory records."""

    def __init__(self, forge: StandinForge):
        super().__init__()
        self.forge = forge
        self.register_token_generator("default", forge.bearer_token)
        self.register_grant(AuthorizationCode, [CodeChallenge(required=True)])
        self.register_grant(RefreshToken)

    def query_client(self, client_id: str) -> Client | None:
        return self.forge.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Request) -> None:
        with self.forge.lock:
            self.forge.tokens[token["access_token"]] = Token(
                client_id=request.client.client_id, login=request.user,
                scope=token.get("scope", ""), access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                expires_at=time.time() + token["expires_in"])

    def create_oauth2_request(self, request: Any) -> Request:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class AuthorizationCode(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"]

    def save_authorization_code(self, code: str, request: Request) -> None:
        data = request.payload.data
        self.server.forge.codes[code] = Code(
            code=code, client_id=request.client.client_id,
            redirect_uri=data.get("redirect_uri", ""), scope=data.get("scope", ""),
            login=request.user, code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"))

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.server.forge.codes.get(code)
        return found if found and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.forge.codes.pop(authorization_code.code, None)  # a code works once

    def authenticate_user(self, authorization_code: Code) -> str:
        return authorization_code.login


class RefreshToken(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        return next((t for t in self.server.forge.tokens.values()
                     if t.refresh_token == refresh_token and not t.revoked), None)

    def authenticate_user(self, refresh_token: Token) -> str:
        return refresh_token.login

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.revoked = True


@contextlib.contextmanager
def running(forge: StandinForge) -> Iterator[str]:
    """``forge`` served by waitress on a free loopback port; yields its base URL."""
    server = waitress.create_server(forge, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    forge.url = f"http://127.0.0.1:{server.effective_port}"
    try:
        yield forge.url
    finally:
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(functools.partial(_close_channels, server))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        shutil.rmtree(forge.git_root, ignore_errors=True)


def _close_channels(server: Any) -> None:
    for channel in list(server._map.values()):
        channel.close()


# -- webhooks, as each forge sends them --------------------------------------------------
def github_delivery(secret: str, tag: str, commit: str, *,
                    delivery: str | None = None) -> tuple[dict[str, str], bytes]:
    """GitHub's ``push`` event for a tag: headers (``X-Hub-Signature-256``: HMAC-SHA256 of
    the body under the secret) and body."""
    body = json.dumps({"ref": f"refs/tags/{tag}", "before": "0" * 40, "after": commit,
                       "created": True, "deleted": False}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": signature, "Content-Type": "application/json"}, body


def gitlab_delivery(secret: str, tag: str, commit: str, *,
                    delivery: str | None = None) -> tuple[dict[str, str], bytes]:
    """GitLab's ``Tag Push Hook``: the secret itself in ``X-Gitlab-Token``, and the body."""
    body = json.dumps({"object_kind": "tag_push", "ref": f"refs/tags/{tag}",
                       "before": "0" * 40, "after": commit}).encode()
    return {"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": secret,
            "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()),
            "Content-Type": "application/json"}, body


DELIVERIES = {"github": github_delivery, "gitlab": gitlab_delivery}


# -- LaunchPad pointed at the stand-in ------------------------------------------------------
def forge_settings(url: str, key: str) -> ForgeSettings:
    """Both forges at the stand-in ``url``, tokens encrypted with ``key``."""
    return ForgeSettings(encryption_keys=(key,), forges={
        "github": {"client_id": GITHUB_CLIENT[0], "client_secret": GITHUB_CLIENT[1],
                   "url": url, "api_url": url},
        "gitlab": {"client_id": GITLAB_CLIENT[0], "client_secret": GITLAB_CLIENT[1],
                   "url": url}})


def launchpad_with_forges() -> Launchpad:
    """The installed plugins and OUTBOX (as the web tests' ``launchpad``), with the two
    forge plugins registered here when they are not installed."""
    launchpad = Launchpad()
    launchpad.hooks.pm.register(OUTBOX)
    for name, module in (("github", launchpad_github.plugin),
                         ("gitlab", launchpad_gitlab.plugin)):
        if launchpad.hooks.pm.get_plugin(name) is None:
            launchpad.hooks.pm.register(module, name=name)
    return launchpad
