"""The pages, through Falcon's test client: every page, escaping, headers, CSRF.

Jobs run inside the request (Huey's immediate mode), as in test_jobs.py; the
browser itself is in test_browser.py.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import attrs
import pytest

from launchpad_web.testing import insert_template

T0 = datetime(2030, 1, 1, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DEFINITION = {
    "name": "service",
    "variables": [
        {"name": "project_name", "type": "str", "help": "The project's <name>"},
        {"name": "port", "type": "int", "default": 8000},
        {"name": "licence", "type": "choice", "choices": ["MIT", "Apache-2.0"], "default": "MIT"},
        {"name": "extras", "type": "multichoice", "choices": ["docker", "ci"], "default": []},
        {"name": "typed", "type": "bool", "default": True},
        {"name": "slug", "type": "str", "default": "{{ project_name | lower }}"},
        {"name": "token", "type": "str", "secret": True, "default": ""},
    ],
    "files": [
        {"path": "{{ slug }}/README.md",
         "content": "{{ project_name }} {{ port }} {{ licence }} {{ extras | join(',') }} "
                    "{{ typed }}"},
    ],
}


def add_template(db, owner_id, name="service", definition=DEFINITION):
    with db.session() as session:
        row = insert_template(session, owner_id=owner_id, definition={**definition, "name": name},
                              at=T0)
        session.commit()
        return str(row.id)


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def post_form(client, path, fields, *, token=None, headers=None):
    body = [*([("csrf_token", token)] if token else []), *fields.items()] if isinstance(
        fields, dict) else [*([("csrf_token", token)] if token else []), *fields]
    return client.post(path, body=urlencode(body), headers={**FORM, **(headers or {})})


def sign_up_by_form(client, email="ada@example.com", password="correct horse battery staple"):
    token = token_of(client.get("/signup").text)
    return post_form(client, "/signup", {"email": email, "password": password}, token=token)


@pytest.fixture
def pages_app(make_app, settings):
    return make_app(jobs=attrs.evolve(settings.jobs, immediate=True, cpu_seconds=2))


@pytest.fixture
def browser(pages_app, new_client):
    return new_client(pages_app)


@pytest.fixture
def me(browser, db):
    result = sign_up_by_form(browser)
    assert result.status_code == 303, result.text
    return browser.get("/api/me").json


def test_landing_shows_the_plans_and_their_limits_under_a_strict_policy(browser):
    page = browser.get("/")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in page.text  # no inline script anywhere
    assert 'href="/signup"' in page.text
    plans = re.findall(r"<h3>(\w+)</h3>\s*<dl>\s*<dt>Private templates</dt><dd>(\w+)</dd>\s*"
                       r"<dt>Generations a month</dt><dd>([\w,]+)</dd>", page.text)
    assert plans == [("Free", "3", "20"), ("Pro", "Unlimited", "1,000"),
                     ("Team", "Unlimited", "5,000")]


def test_plans_follow_the_configured_limits(make_app, new_client, settings):
    from launchpad_web.billing.plans import PlanCatalog
    billing = attrs.evolve(settings.billing, plans=PlanCatalog.parse("free.templates=7"))
    page = new_client(make_app(billing=billing)).get("/")
    assert "<dt>Private templates</dt><dd>7</dd>" in page.text


def test_static_assets_have_hashed_names_long_cache_and_gzip(browser):
    css = re.search(r'href="(/static/app\.[0-9a-f]{12}\.css)"', browser.get("/").text).group(1)
    plain = browser.get(css)
    assert plain.status_code == 200
    assert plain.headers["Content-Type"] == "text/css"
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "--accent" in plain.text
    zipped = browser.get(css, headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.content) < len(plain.content)
    stale = browser.get("/static/app.000000000000.css")
    assert stale.status_code == 404
    assert stale.headers["Content-Type"].startswith("text/html")


def test_sign_up_by_form_lands_on_the_dashboard_signed_in(browser, me):
    assert me["email"] == "ada@example.com"
    page = browser.get("/dashboard")
    assert page.status_code == 200
    assert "ada@example.com" in page.text and "You have no templates yet" in page.text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(browser):
    browser.get("/signup")
    refused = post_form(browser, "/signup", {"email": "eve@example.com",
                                             "password": "correct horse battery staple"})
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "csrf_failed" in refused.text
    assert browser.get("/api/me").status_code == 401
    wrong = post_form(browser, "/signup", {"email": "eve@example.com", "password": "x" * 12},
                      token="forged")
    assert wrong.status_code == 403


def test_a_cross_site_form_post_is_refused_even_with_a_token(browser):
    token = token_of(browser.get("/signup").text)
    refused = post_form(browser, "/signup", {"email": "eve@example.com", "password": "x" * 12},
                        token=token, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert "cross-site" in refused.text


def test_sign_up_errors_are_shown_at_their_field(browser):
    page = sign_up_by_form(browser, email="not an email", password="short")
    assert page.status_code == 422
    email = re.search(r'<input id="email"[^>]*>', page.text).group(0)
    assert 'aria-invalid="true"' in email and 'aria-describedby="email-error"' in email
    assert re.search(r'<p class="field-error" id="email-error">[^<]+</p>', page.text)
    assert 'value="not an email"' in email  # kept for correction; the password is not


def test_sign_ups_by_form_count_against_the_client_address(make_app, new_client):
    """The page and the API share one sign-up limit per client address."""
    app = make_app(signups_per_address=1)

    def by_form(address, email):
        client = new_client(app)
        token = token_of(client.get("/signup").text)
        body = urlencode({"csrf_token": token, "email": email,
                          "password": "correct horse battery staple"})
        return client.post("/signup", body=body, headers=FORM, remote_addr=address)

    assert by_form("198.51.100.7", "one@example.com").status_code == 303
    refused = by_form("198.51.100.7", "two@example.com")
    assert refused.status_code == 429
    assert "accounts were created from your address" in refused.text
    by_api = new_client(app).post("/api/auth/signup", remote_addr="198.51.100.7", json={
        "email": "three@example.com", "password": "correct horse battery staple"})
    assert (by_api.status_code, by_api.json["code"]) == (429, "too_many_signups")
    assert by_form("203.0.113.9", "four@example.com").status_code == 303


def test_a_taken_email_is_a_message_on_the_form(browser, new_client, pages_app, me):
    other = new_client(pages_app)
    page = sign_up_by_form(other)
    assert page.status_code == 409
    assert re.search(r'id="email-error">[^<]+</p>', page.text)


def test_log_in_and_out(browser, me, new_client, pages_app):
    page = browser.get("/dashboard")
    assert post_form(browser, "/logout", {}).status_code == 403  # no token
    out = post_form(browser, "/logout", {}, token=token_of(page.text))
    assert out.status_code == 303 and out.headers["Location"] == "/"
    assert browser.get("/api/me").status_code == 401

    login = browser.get("/login?next=/dashboard?q=x")
    token = token_of(login.text)
    wrong = post_form(browser, "/login", {"email": "ada@example.com", "password": "nope nope"},
                      token=token)
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text
    right = post_form(browser, "/login", {"email": "ada@example.com", "next": "/dashboard?q=x",
                                          "password": "correct horse battery staple"},
                      token=token)
    assert right.status_code == 303 and right.headers["Location"] == "/dashboard?q=x"


def test_log_in_never_redirects_off_site(browser, me):
    post_form(browser, "/logout", {}, token=token_of(browser.get("/dashboard").text))
    token = token_of(browser.get("/login").text)
    result = post_form(browser, "/login", {"email": "ada@example.com", "next": "//evil.example",
                                           "password": "correct horse battery staple"},
                       token=token)
    assert result.headers["Location"] == "/dashboard"


def test_signed_in_pages_send_visitors_to_log_in(browser):
    result = browser.get("/dashboard?q=a")
    assert result.status_code == 303
    assert result.headers["Location"] == "/login?next=/dashboard?q=a"


def test_the_dashboard_escapes_names_searches_and_pages(browser, me, db):
    add_template(db, me["id"], name=HOSTILE)
    for number in range(11):
        add_template(db, me["id"], name=f"svc-{number:02}")
    page = browser.get("/dashboard")
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "12 templates" in page.text
    next_link = re.search(r'href="(/dashboard\?q=&amp;cursor=[^"]+)">Next page', page.text)
    second = browser.get(next_link.group(1).replace("&amp;", "&"))
    assert second.text.count('class="item"') == 2
    found = browser.get("/dashboard?q=SVC-1")
    assert re.findall(r'<span class="name">([^<]+)</span>', found.text) == ["svc-10"]
    assert "No template" in browser.get("/dashboard?q=%25").text  # a wildcard is a character


def test_the_generate_form_has_a_widget_per_type(browser, me, db):
    template_id = add_template(db, me["id"], name=HOSTILE)
    page = browser.get(f"/templates/{template_id}/generate")
    assert page.status_code == 200
    assert HOSTILE not in page.text
    html = page.text
    assert re.search(r'<input id="answer-2" name="answers.port" type="number" value="8000" '
                     r'step="1"', html)
    assert re.search(r'type="radio" name="answers.licence" value="MIT" checked', html)
    assert re.search(r'type="checkbox" name="answers.extras" value="docker">', html)
    assert re.search(r'id="answer-5" type="checkbox" name="answers.typed" value="true" checked',
                     html)
    assert re.search(r'name="answers.slug" type="text" value=""', html)  # derived: computed
    assert "Default computed from earlier answers." in html
    assert re.search(r'name="answers.token" type="password" value="" autocomplete="off"', html)
    assert "The project&#39;s &lt;name&gt;" in html


def test_generating_by_form_runs_the_job_and_offers_downloads(browser, me, db):
    template_id = add_template(db, me["id"])
    page = browser.get(f"/templates/{template_id}/generate")
    result = post_form(browser, f"/templates/{template_id}/generate", [
        ("answers.project_name", "Rocket"), ("answers.port", "9000"),
        ("answers.licence", "Apache-2.0"), ("answers.extras", "ci"), ("answers.extras", "docker"),
        ("answers.slug", ""), ("answers.token", "s3cret")], token=token_of(page.text))
    assert result.status_code == 303, result.text
    job_path = result.headers["Location"]
    job_page = browser.get(job_path)
    assert job_page.status_code == 200
    assert 'id="job-status" role="status">completed<' in job_page.text
    job_id = job_path.rsplit("/", 1)[1]
    assert f'href="/api/generate/{job_id}/download?format=zip"' in job_page.text
    archive = browser.get(f"/api/generate/{job_id}/download")
    assert archive.status_code == 200
    import io
    import zipfile
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        assert files.read("rocket/README.md") == b"Rocket 9000 Apache-2.0 docker,ci False"
    assert browser.get("/api/generate/" + job_id).json["answers"]["token"] != "s3cret"
    dashboard = browser.get("/dashboard").text
    assert f'href="/jobs/{job_id}">service ·' in dashboard and "status-completed" in dashboard
    assert re.search(r"<dt>Private templates</dt>\s*<dd>1 of 3</dd>", dashboard)
    assert re.search(r"<dt>Generations this month</dt>\s*<dd>1 of 20</dd>", dashboard)


def test_generate_errors_are_shown_at_their_field_with_the_answers_kept(browser, me, db):
    template_id = add_template(db, me["id"])
    page = browser.get(f"/templates/{template_id}/generate")
    result = post_form(browser, f"/templates/{template_id}/generate", [
        ("answers.project_name", ""), ("answers.port", "eighty"),
        ("answers.licence", "MIT")], token=token_of(page.text))
    assert result.status_code == 422
    html = result.text
    assert re.search(r'<p class="field-error" id="answer-2-error">[^<]*eighty[^<]*</p>', html)
    assert 'value="eighty"' in html
    assert 'aria-describedby="answer-2-error" aria-invalid="true"' in html
    # the type check passed, so the core's own check answers: project_name is required
    fixed = post_form(browser, f"/templates/{template_id}/generate", [
        ("answers.project_name", ""), ("answers.port", "80")], token=token_of(page.text))
    assert fixed.status_code == 422
    assert re.search(r'id="answer-1-error">[^<]*required', fixed.text)
    assert browser.get("/api/events").json["events"] == []


def test_generate_needs_the_form_token(browser, me, db):
    template_id = add_template(db, me["id"])
    result = post_form(browser, f"/templates/{template_id}/generate",
                       {"answers.project_name": "x"}, token="forged")
    assert result.status_code == 403
    assert browser.get("/dashboard").text.count("/jobs/") == 0


def test_another_users_template_and_job_are_404_pages(browser, me, db, new_client, pages_app):
    template_id = add_template(db, me["id"])
    other = new_client(pages_app)
    sign_up_by_form(other, email="bob@example.com")
    page = other.get(f"/templates/{template_id}/generate")
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert other.get(f"/jobs/{uuid.uuid4()}").status_code == 404
    unknown = other.get("/no/such/page")
    assert unknown.status_code == 404 and "bob@example.com" in unknown.text  # still signed in


def test_error_pages_are_html_for_browsers_and_problems_under_api(browser, pages_app):
    page = browser.get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<h1>Not Found</h1>" in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    api = browser.get("/api/no/such/thing")
    assert api.status_code == 404 and api.headers["Content-Type"] == "application/problem+json"
    assert "Content-Security-Policy" not in api.headers

    class Broken:
        def on_get(self, req, resp):
            raise RuntimeError("/secret/path exploded")

    pages_app.add_route("/broken", Broken())
    broken = browser.get("/broken")
    assert broken.status_code == 500
    assert broken.headers["Content-Type"].startswith("text/html")
    assert "/secret/path" not in broken.text and "Request id" in broken.text


def test_the_api_reference_lists_every_operation_and_schema_without_a_script(browser):
    document = browser.get("/api/openapi.json").json
    page = browser.get("/docs/api")
    assert page.status_code == 200
    assert "<script" not in page.text
    html = page.text.replace("&amp;", "&")
    operations = [(method.upper(), path) for path, item in document["paths"].items()
                  for method in item]
    assert len(operations) > 30
    for method, path in operations:
        assert re.search(rf">{method}</span> <code>{re.escape(path)}</code>", html), (method, path)
    for name, schema in document["components"]["schemas"].items():
        assert f'id="schema-{name.lower()}">{name}</h3>' in html
        for field in schema.get("properties", {}):
            assert f"<td><code>{field}</code></td>" in html, (name, field)
    # a type naming a schema links to it, and every such link has its target
    targets = set(re.findall(r'id="(schema-[a-z0-9-]+)"', html))
    links = set(re.findall(r'href="#(schema-[a-z0-9-]+)"', html))
    assert links and links <= targets


def test_trying_the_api_ships_swagger_ui(browser):
    page = browser.get("/docs/api/try")
    assert page.status_code == 200
    script = re.search(r'src="(/static/swagger-ui-bundle\.[0-9a-f]{12}\.js)"', page.text)
    assert script and browser.get(script.group(1)).status_code == 200
    assert 'data-url="/api/openapi.json"' in page.text


def test_the_api_list_searches_by_name_like_the_dashboard(browser, me, db):
    for name in ("alpha", "Alphabet", "beta", "50%_off"):
        add_template(db, me["id"], name=name)
    names = [t["name"] for t in browser.get("/api/templates?q=alpha").json["templates"]]
    assert sorted(names) == ["Alphabet", "alpha"]
    assert [t["name"] for t in browser.get("/api/templates?q=%_").json["templates"]] == [
        "50%_off"]


def test_a_form_is_read_within_the_body_limit(make_app, settings, new_client):
    browser = new_client(make_app(max_body_bytes=2048))
    token = token_of(browser.get("/signup").text)
    page = post_form(browser, "/signup", {"email": "a@example.com", "password": "p" * 4000},
                     token=token)
    assert page.status_code == 413 and page.headers["Content-Type"].startswith("text/html")
    wrong = browser.post("/signup", body=b"csrf_token=x&email=\xff", headers=FORM)
    assert wrong.status_code == 400 and "invalid_form" in wrong.text
    other = browser.post("/signup", json={"email": "a@example.com"})
    assert other.status_code == 415 and "text/html" in other.headers["Content-Type"]


def test_a_template_is_created_from_its_json_definition(browser, me):
    page = browser.get("/templates/new")
    assert page.status_code == 200
    assert "&#34;project_name&#34;" in page.text  # the starter definition, escaped
    token = token_of(page.text)
    assert post_form(browser, "/templates/new", {"name": "x", "definition": "{}"}).status_code \
        == 403
    created = post_form(browser, "/templates/new", {
        "name": HOSTILE,
        "definition": '{"name": "t", "files": [{"path": "a.txt", "content": "hi"}]}'},
        token=token)
    assert created.status_code == 303, created.text
    assert re.fullmatch(r"/templates/[0-9a-f-]{36}/edit", created.headers["Location"])
    builder = browser.get(created.headers["Location"])  # the builder opens on it
    assert builder.status_code == 200 and HOSTILE not in builder.text
    assert "&lt;script&gt;alert(" in builder.text
    assert browser.get("/api/templates").json["total"] == 1


def test_definition_errors_are_shown_at_the_definition_with_their_path(browser, me):
    token = token_of(browser.get("/templates/new").text)
    broken = post_form(browser, "/templates/new", {"name": "t", "definition": '{"files": ['},
                       token=token)
    assert broken.status_code == 422
    assert re.search(r'id="definition-error">[^<]*line 1, column', broken.text)
    assert "{&#34;files&#34;: [" in broken.text  # kept for correction
    wrong = post_form(browser, "/templates/new", {
        "name": "", "definition": '{"name": "t", "variables": [{"name": "1x"}]}'},
        token=token)
    assert wrong.status_code == 422
    assert re.search(r'id="definition-error">[^<]*\$\.definition\.variables\[0\]\.name: ',
                     wrong.text)
    assert browser.get("/api/templates").json["total"] == 0


def test_the_starter_definition_is_valid(browser, me):
    page = browser.get("/templates/new")
    starter = re.search(r'<textarea id="definition"[^>]*>([^<]*)</textarea>', page.text).group(1)
    created = post_form(browser, "/templates/new", {
        "name": "starter", "definition": html.unescape(starter)}, token=token_of(page.text))
    assert created.status_code == 303, created.text


def test_only_the_builder_admits_the_editor_styles_by_a_fresh_nonce(browser, me, db):
    template_id = add_template(db, me["id"], name="styled")
    nonces = []
    for _ in range(2):
        page = browser.get(f"/templates/{template_id}/edit")
        policy = page.headers["Content-Security-Policy"]
        nonce = re.search(r'data-style-nonce="([^"]+)"', page.text).group(1)
        assert f"style-src 'self' 'nonce-{nonce}';" in policy
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        assert re.search(r'data-editor="/static/editor\.[0-9a-f]{12}\.js"', page.text)
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 24
    dashboard = browser.get("/dashboard").headers["Content-Security-Policy"]
    assert "nonce-" not in dashboard and "style-src 'self';" in dashboard


def test_the_builder_page_is_for_those_who_see_the_template(browser, me, new_client,
                                                            pages_app, db):
    template_id = add_template(db, me["id"], name=HOSTILE)
    page = browser.get(f"/templates/{template_id}/edit")
    assert page.status_code == 200
    assert HOSTILE not in page.text and "&lt;script&gt;alert(" in page.text
    assert f'data-template-id="{template_id}"' in page.text
    assert re.search(r'<script src="/static/builder\.[0-9a-f]{12}\.js" defer></script>', page.text)
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "choice" in re.search(r'data-types="([^"]*)"', page.text).group(1).split()
    sent = re.search(r'data-csrf="([^"]+)"', page.text).group(1)  # on every fetch that writes
    assert sent == browser.get("/api/auth/csrf").json["csrf_token"]
    stranger = new_client(pages_app)
    assert stranger.get(f"/templates/{template_id}/edit").headers["Location"].startswith(
        f"/login?next=/templates/{template_id}/edit")
    sign_up_by_form(stranger, email="eve@example.com")
    assert stranger.get(f"/templates/{template_id}/edit").status_code == 404


# -- account and teams pages ---------------------------------------------------------

NEW_PASSWORD = "another horse battery staple"


@pytest.fixture
def teams_app(make_app, settings):
    """Plans not enforced (a self-hosted service): teams are allowed."""
    return make_app(billing=attrs.evolve(settings.billing, enforce_plans="no"))


def test_account_page_lists_tokens_and_links_the_export(browser, me):
    page = browser.get("/account")
    assert page.status_code == 200
    assert 'href="/api/me/export"' in page.text and "You have no API tokens" in page.text
    assert 'href="/account" aria-current="page"' in page.text and 'href="/teams"' in page.text


def test_change_password_by_form(browser, me):
    token = token_of(browser.get("/account").text)
    wrong = post_form(browser, "/account/password", {"current_password": "not it at all",
                                                     "new_password": NEW_PASSWORD}, token=token)
    assert wrong.status_code in (401, 403), wrong.text
    assert 'role="alert"' in wrong.text or 'id="current_password-error"' in wrong.text
    weak = post_form(browser, "/account/password", {"current_password": "correct horse battery "
                                                    "staple", "new_password": "short"},
                     token=token)
    assert weak.status_code == 422
    assert re.search(r'<p class="field-error" id="new_password-error">[^<]+</p>', weak.text)
    done = post_form(browser, "/account/password", {
        "current_password": "correct horse battery staple", "new_password": NEW_PASSWORD},
        token=token)
    assert done.status_code == 303 and done.headers["Location"] == "/account?done=password"
    assert "password is changed" in browser.get("/account?done=password").text
    assert browser.get("/api/me").status_code == 200  # this session goes on


def test_create_show_once_and_revoke_a_token(browser, me):
    token = token_of(browser.get("/account").text)
    empty = post_form(browser, "/account/tokens", {"name": ""}, token=token)
    assert empty.status_code == 422
    assert re.search(r'id="token_name-error">[^<]+</p>', empty.text)
    created = post_form(browser, "/account/tokens", {"name": HOSTILE}, token=token)
    assert created.status_code == 201
    secret = re.search(r'<code id="new-token">([^<]+)</code>', created.text).group(1)
    assert HOSTILE not in created.text and ESCAPED in created.text
    listed = browser.get("/account").text
    assert secret not in listed  # shown once only
    token_id = re.search(r'action="/account/tokens/([0-9a-f-]+)/revoke"', listed).group(1)
    assert browser.get("/api/tokens").json[0]["id"] == token_id
    assert post_form(browser, f"/account/tokens/{token_id}/revoke", {}).status_code == 403
    revoked = post_form(browser, f"/account/tokens/{token_id}/revoke", {}, token=token)
    assert revoked.status_code == 303
    assert browser.get("/api/tokens").json == []


def test_delete_account_needs_the_password(browser, me):
    token = token_of(browser.get("/account").text)
    wrong = post_form(browser, "/account/delete", {"password": "not it at all"}, token=token)
    assert wrong.status_code in (401, 403), wrong.text
    assert browser.get("/api/me").status_code == 200
    done = post_form(browser, "/account/delete", {"password": "correct horse battery staple"},
                     token=token)
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert browser.get("/api/me").status_code == 401


@pytest.mark.parametrize("path", ["/account/password", "/account/tokens", "/account/delete",
                                  "/teams"])
def test_account_and_team_forms_refuse_a_missing_token(browser, me, path):
    browser.get("/account")
    refused = post_form(browser, path, {"name": "x", "password": "correct horse battery "
                                        "staple", "current_password": "x", "new_password": "y"})
    assert refused.status_code == 403 and "csrf_failed" in refused.text
    assert browser.get("/api/me").status_code == 200


def test_a_team_needs_a_plan_with_teams_and_says_so(browser, me):
    token = token_of(browser.get("/teams").text)
    refused = post_form(browser, "/teams", {"name": "Crew"}, token=token)
    assert refused.status_code == 402
    assert 'role="alert"' in refused.text and 'value="Crew"' in refused.text
    assert browser.get("/api/teams").json["teams"] == []


def test_teams_create_invite_accept_roles_and_leave(teams_app, new_client, outbox):
    owner, ann = new_client(teams_app), new_client(teams_app)
    sign_up_by_form(owner)
    sign_up_by_form(ann, email="ann@example.com")
    token = token_of(owner.get("/teams").text)
    blank = post_form(owner, "/teams", {"name": "  "}, token=token)
    assert blank.status_code == 422 and re.search(r'id="name-error">[^<]+</p>', blank.text)
    created = post_form(owner, "/teams", {"name": HOSTILE}, token=token)
    assert created.status_code == 303
    team_path = created.headers["Location"]
    page = owner.get(team_path).text
    assert HOSTILE not in page and ESCAPED in page
    assert ESCAPED in owner.get("/teams").text

    bad = post_form(owner, f"{team_path}/invite", {"email": "nope", "role": "member"},
                    token=token)
    assert bad.status_code == 422 and re.search(r'id="email-error">[^<]+</p>', bad.text)
    assert post_form(owner, f"{team_path}/invite", {"email": "ann@example.com"}).status_code \
        == 403
    invited = post_form(owner, f"{team_path}/invite", {"email": "ann@example.com",
                                                       "role": "admin"}, token=token)
    assert invited.status_code == 303
    assert "ann@example.com" in owner.get(team_path).text
    link = f"/invitations/{outbox.invitation_token('ann@example.com')}"
    shown = ann.get(link)
    assert shown.status_code == 200 and "admin" in shown.text
    assert ESCAPED in shown.text and HOSTILE not in shown.text
    ann_token = token_of(shown.text)
    assert post_form(ann, f"{link}/accept", {}).status_code == 403
    accepted = post_form(ann, f"{link}/accept", {}, token=ann_token)
    assert accepted.status_code == 303 and accepted.headers["Location"] == team_path
    ann_id = ann.get("/api/me").json["id"]
    owner_id = owner.get("/api/me").json["id"]

    demote = post_form(owner, f"{team_path}/members/{ann_id}/role", {"role": "member"},
                       token=token)
    assert demote.status_code == 303
    roles = {m["email"]: m["role"] for m in owner.get(f"/api{team_path}").json["members"]}
    assert roles == {"ada@example.com": "owner", "ann@example.com": "member"}
    last = post_form(owner, f"{team_path}/members/{owner_id}/remove", {}, token=token)
    assert last.status_code == 409 and 'role="alert"' in last.text
    left = post_form(ann, f"{team_path}/members/{ann_id}/remove", {}, token=ann_token)
    assert left.status_code == 303 and left.headers["Location"] == "/teams"
    assert ann.get(team_path).status_code == 404


def test_a_pending_invitation_is_revoked_and_declined_by_form(teams_app, new_client, outbox):
    owner, bob = new_client(teams_app), new_client(teams_app)
    sign_up_by_form(owner)
    sign_up_by_form(bob, email="bob@example.com")
    token = token_of(owner.get("/teams").text)
    team_path = post_form(owner, "/teams", {"name": "Crew"}, token=token).headers["Location"]
    post_form(owner, f"{team_path}/invite", {"email": "bob@example.com"}, token=token)
    link = f"/invitations/{outbox.invitation_token('bob@example.com')}"
    declined = post_form(bob, f"{link}/decline", {}, token=token_of(bob.get(link).text))
    assert declined.status_code == 303 and declined.headers["Location"] == "/teams"
    post_form(owner, f"{team_path}/invite", {"email": "carol@example.com"}, token=token)
    invitation_id = re.search(r'/invitations/([0-9a-f-]+)/revoke"',
                              owner.get(team_path).text).group(1)
    revoked = post_form(owner, f"{team_path}/invitations/{invitation_id}/revoke", {},
                        token=token)
    assert revoked.status_code == 303
    assert owner.get(f"/api{team_path}/invitations").json["invitations"] == []


def test_the_mailed_link_opens_the_invitation_page_after_logging_in(teams_app, new_client,
                                                                    outbox):
    owner, visitor = new_client(teams_app), new_client(teams_app)
    sign_up_by_form(owner)
    token = token_of(owner.get("/teams").text)
    team_path = post_form(owner, "/teams", {"name": "Crew"}, token=token).headers["Location"]
    post_form(owner, f"{team_path}/invite", {"email": "dan@example.com"}, token=token)
    [notice] = outbox.to("dan@example.com")
    link = re.search(r"https?://\S+(/invitations/[\w-]+)", notice.message).group(1)
    sent_away = visitor.get(link)
    assert sent_away.status_code == 303 and sent_away.headers["Location"] == f"/login?next={link}"
    sign_up_by_form(visitor, email="dan@example.com")
    assert "Join Crew" in visitor.get(link).text


# -- billing -------------------------------------------------------------------------
CHECKOUT_ANSWER = {"id": "cs_test_1", "object": "checkout.session",
                   "url": "https://checkout.stripe.com/c/pay/cs_test_1?a=1&b=2"}
PORTAL_ANSWER = {"id": "bps_1", "object": "billing_portal.session",
                 "url": "https://billing.stripe.com/p/session/bps_1"}


def stripe_app(make_app, api_base):
    from launchpad_stripe.testing import TEST_KEY

    from launchpad_web.billing.settings import BillingSettings

    return make_app(billing=BillingSettings(
        stripe_secret_key=TEST_KEY, stripe_webhook_secret="whsec_test",
        stripe_prices={"pro": "price_pro", "team": "price_team"}, stripe_api_base=api_base),
        public_url="https://launchpad.example")


def test_billing_page_self_hosted_says_plans_are_not_enforced(teams_app, new_client):
    client = new_client(teams_app)
    sign_up_by_form(client)
    page = client.get("/billing")
    assert page.status_code == 200
    assert "plans are not enforced" in page.text
    assert 'action="/billing/checkout"' not in page.text
    assert 'href="/billing" aria-current="page"' in page.text
    assert "Generations this month" in page.text and "unlimited" in page.text


def test_billing_page_without_a_provider_shows_usage_and_sells_nothing(browser, me, db):
    add_template(db, me["id"])
    page = browser.get("/billing")
    assert page.status_code == 200 and "Free plan" in page.text
    assert re.search(r"<dt>Private templates</dt>\s*<dd>1 of \d+</dd>", page.text)
    assert "Paid plans cannot be bought" in page.text
    assert 'action="/billing/checkout"' not in page.text
    refused = post_form(browser, "/billing/checkout", {"plan": "pro"}, token=token_of(page.text))
    assert refused.status_code == 503 and 'role="alert"' in refused.text


def test_upgrade_goes_through_checkout_and_manage_through_the_portal(make_app, new_client, db):
    from launchpad_stripe.testing import run_stand_in

    from launchpad_web.billing.models import Plan, Subscription

    answers = {"/v1/checkout/sessions": CHECKOUT_ANSWER,
               "/v1/billing_portal/sessions": PORTAL_ANSWER}
    with run_stand_in(answers) as stripe_api:
        client = new_client(stripe_app(make_app, stripe_api.url))
        sign_up_by_form(client)
        page = client.get("/billing").text
        assert "Upgrade to Pro" in page and "Upgrade to Team" in page
        assert "Manage subscription" not in page  # nothing to manage on Free
        token = token_of(page)
        assert post_form(client, "/billing/checkout", {"plan": "pro"}).status_code == 403
        bad = post_form(client, "/billing/checkout", {"plan": "free"}, token=token)
        assert bad.status_code == 422 and 'role="alert"' in bad.text
        going = post_form(client, "/billing/checkout", {"plan": "pro"}, token=token)
        assert going.status_code == 200
        assert 'id="continue" href="https://checkout.stripe.com/c/pay/cs_test_1?a=1&amp;b=2"' \
            in going.text
        assert "/static/continue." in going.text
        [sent] = stripe_api.requests
        assert sent.form["line_items[0][price]"] == ["price_pro"]
        assert sent.form["success_url"] == ["https://launchpad.example/billing?checkout=success"]
        assert "payment went through" in client.get("/billing?checkout=success").text

        user_id = uuid.UUID(client.get("/api/me").json["id"])
        with db.session() as session:
            session.add(Subscription(user_id=user_id, plan=Plan.PRO, stripe_customer_id="cus_9",
                                     stripe_subscription_id="sub_9",
                                     current_period_end=datetime(2030, 2, 1, tzinfo=UTC)))
            session.commit()
        page = client.get("/billing").text
        assert "Pro plan" in page and "renews 2030-02-01" in page
        assert "Upgrade to Pro" not in page and "Upgrade to Team" in page
        again = post_form(client, "/billing/checkout", {"plan": "team"}, token=token)
        assert again.status_code == 409 and 'role="alert"' in again.text
        portal = post_form(client, "/billing/portal", {}, token=token)
        assert portal.status_code == 200
        assert f'id="continue" href="{PORTAL_ANSWER["url"]}"' in portal.text
        assert stripe_api.requests[-1].form == {
            "customer": ["cus_9"], "return_url": ["https://launchpad.example/billing"]}


# -- team settings -------------------------------------------------------------------
def test_a_team_is_renamed_by_its_managers_and_deleted_by_an_owner(teams_app, new_client,
                                                                   outbox):
    owner, ann = new_client(teams_app), new_client(teams_app)
    sign_up_by_form(owner)
    sign_up_by_form(ann, email="ann@example.com")
    token = token_of(owner.get("/teams").text)
    team_path = post_form(owner, "/teams", {"name": "Crew"}, token=token).headers["Location"]
    post_form(owner, f"{team_path}/invite", {"email": "ann@example.com", "role": "admin"},
              token=token)
    link = f"/invitations/{outbox.invitation_token('ann@example.com')}"
    ann_token = token_of(ann.get(link).text)
    post_form(ann, f"{link}/accept", {}, token=ann_token)

    blank = post_form(owner, f"{team_path}/rename", {"name": " "}, token=token)
    assert blank.status_code == 422 and re.search(r'id="team_name-error">[^<]+</p>', blank.text)
    assert post_form(owner, f"{team_path}/rename", {"name": "X"}).status_code == 403
    renamed = post_form(ann, f"{team_path}/rename", {"name": HOSTILE}, token=ann_token)
    assert renamed.status_code == 303 and renamed.headers["Location"] == team_path
    page = owner.get(team_path).text
    assert HOSTILE not in page and ESCAPED in page
    assert owner.get(f"/api{team_path}").json["name"] == HOSTILE

    admin_page = ann.get(team_path).text
    assert 'action="' + team_path + '/rename"' in admin_page
    assert 'action="' + team_path + '/delete"' not in admin_page  # owners only
    refused = post_form(ann, f"{team_path}/delete", {"confirm": "yes"}, token=ann_token)
    assert refused.status_code == 403 and 'role="alert"' in refused.text
    unconfirmed = post_form(owner, f"{team_path}/delete", {}, token=token)
    assert unconfirmed.status_code == 422
    assert re.search(r'id="confirm_delete-error">[^<]+</p>', unconfirmed.text)
    assert owner.get(team_path).status_code == 200
    deleted = post_form(owner, f"{team_path}/delete", {"confirm": "yes"}, token=token)
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/teams"
    assert owner.get(team_path).status_code == 404
    assert ann.get("/api/teams").json["teams"] == []
