"""Every hook of :mod:`launchpad_core.plugins.hookspecs`, exercised through an inline plugin.

Each section registers a small plugin with :mod:`launchpad_core.testing` and
drives it through :class:`~launchpad_core.Launchpad` (or the CLI) the way a
third-party plugin is used.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pluggy
import pytest

from launchpad_core import (
    AnswersError,
    DefinitionError,
    FileSpec,
    LaunchpadError,
    SecurityError,
    Template,
    Variable,
    hookimpl,
)
from launchpad_core.cli import main as cli
from launchpad_core.errors import PluginError
from launchpad_core.importers.importing import import_template
from launchpad_core.model.answers import Answers
from launchpad_core.model.schema import definition_schema
from launchpad_core.model.variables import VariableType
from launchpad_core.plugins.billing import (
    BillingUnavailableError,
    CheckoutSession,
    FreeOnlyProvider,
)
from launchpad_core.plugins.forges import ForgeEmail, ForgeUser, OAuthClient
from launchpad_core.plugins.generators import FileGenerator
from launchpad_core.testing import launchpad_with, plugin_manager_with, render_tree

from .conftest import definition

# -- the testing helpers ------------------------------------------------------------------


def test_a_misspelt_hook_fails_at_registration() -> None:
    class Typo:
        @hookimpl
        def launchpad_jinja_filter(self) -> dict[str, Any]:
            return {}

    with pytest.raises(pluggy.PluginValidationError, match="launchpad_jinja_filter"):
        plugin_manager_with(Typo())


def test_inline_plugins_are_listed_with_their_hooks() -> None:
    class Shout:
        @hookimpl
        def launchpad_jinja_filters(self) -> dict[str, Any]:
            return {"shout": str.upper}

    listed = launchpad_with(Shout()).hooks.plugins()
    inline = [hooks for name, hooks in listed if not name.startswith("launchpad_core.")]
    assert inline == [["launchpad_jinja_filters"]]


# -- launchpad_variable_types ---------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _coerce_email(value: Any, _var: Variable, _from_text: bool) -> str:
    if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not an e-mail address")
    local, _, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


class EmailType:
    @hookimpl
    def launchpad_variable_types(self) -> list[VariableType]:
        return [VariableType("email", _coerce_email, {"type": "string", "format": "email"})]


EMAIL_TEMPLATE = definition(
    {"path": "AUTHORS", "content": "{{ contact }}\n"},
    variables=[{"name": "contact", "type": "email", "default": "team@Example.ORG"}],
)


def test_a_plugin_variable_type_coerces_answers() -> None:
    lp = launchpad_with(EmailType())
    assert render_tree(lp, EMAIL_TEMPLATE) == {"AUTHORS": b"team@example.org\n"}
    template = lp.structure(EMAIL_TEMPLATE)
    answers = lp.resolve_answers(template, {"contact": " Ada@Lovelace.DEV "}, from_text=True)
    assert answers["contact"] == "Ada@lovelace.dev"


@pytest.mark.parametrize("given", ["ada", "ada@home", 42])
def test_a_plugin_variable_type_rejects_bad_answers(given: Any) -> None:
    lp = launchpad_with(EmailType())
    template = lp.structure(EMAIL_TEMPLATE)
    with pytest.raises(AnswersError) as caught:
        lp.resolve_answers(template, {"contact": given})
    [problem] = caught.value.problems
    assert "is not an e-mail address" in problem.message
    assert problem.path == "$.contact"


def test_a_plugin_variable_type_checks_defaults_and_appears_in_the_schema() -> None:
    lp = launchpad_with(EmailType())
    bad = definition(variables=[{"name": "contact", "type": "email", "default": "nobody"}])
    with pytest.raises(DefinitionError) as caught:
        lp.structure(bad)
    assert [p.code for p in caught.value.problems] == ["invalid_default"]
    assert "email" in definition_schema(lp.types)["$defs"]["Variable"]["properties"]["type"]["enum"]


def test_without_the_plugin_the_type_is_unknown() -> None:
    with pytest.raises(DefinitionError) as caught:
        launchpad_with().structure(EMAIL_TEMPLATE)
    assert [p.code for p in caught.value.problems] == ["unknown_type"]


@pytest.mark.parametrize("name", ["email", "str"])
def test_a_type_name_given_twice_is_an_error(name: str) -> None:
    class Again:
        @hookimpl
        def launchpad_variable_types(self) -> list[VariableType]:
            return [VariableType(name, _coerce_email)]

    with pytest.raises(PluginError, match=f"two plugins provide the variable type {name!r}"):
        launchpad_with(EmailType(), Again())


# -- launchpad_jinja_filters and launchpad_jinja_globals --------------------------------------


class TextHelpers:
    @hookimpl
    def launchpad_jinja_filters(self) -> dict[str, Any]:
        return {"initials": lambda name: "".join(w[0] for w in name.split()).upper(),
                "repeat": lambda text, n: text * n}

    @hookimpl
    def launchpad_jinja_globals(self) -> dict[str, Any]:
        return {"house": "Analytical Engines", "banner": lambda text: f"== {text} =="}


def test_plugin_filters_and_globals_are_available_in_templates() -> None:
    data = definition(
        {"path": "{{ name|initials }}.txt",
         "content": "{{ banner(house) }} by {{ name|initials }}"},
        variables=[{"name": "name", "default": "ada king lovelace"}],
    )
    assert render_tree(launchpad_with(TextHelpers()), data) == {
        "AKL.txt": b"== Analytical Engines == by AKL",
    }


def test_plugin_filters_run_inside_the_sandbox_limits() -> None:
    data = definition({"path": "a", "content": "{{ 'x'|repeat(100_000_000) }}"})
    with pytest.raises(SecurityError, match="exceeds the sandbox limit"):
        render_tree(launchpad_with(TextHelpers()), data)


def test_without_the_plugin_a_filter_is_a_definition_error() -> None:
    data = definition({"path": "a", "content": "{{ 'ada'|initials }}"})
    with pytest.raises(DefinitionError, match="not valid"):
        launchpad_with().structure(data)


def test_the_plugin_called_first_wins_a_filter_or_global_clash() -> None:
    class Mine:
        @hookimpl(tryfirst=True)
        def launchpad_jinja_filters(self) -> dict[str, Any]:
            return {"slugify": lambda text: "mine"}

        @hookimpl(tryfirst=True)
        def launchpad_jinja_globals(self) -> dict[str, Any]:
            return {"uuid4": lambda: "mine"}

    data = definition({"path": "a", "content": "{{ 'A b'|slugify }} {{ uuid4() }}"})
    assert render_tree(launchpad_with(Mine()), data) == {"a": b"mine mine"}


# -- launchpad_file_generators -----------------------------------------------------------------


def _notice(options: Mapping[str, Any], answers: Answers) -> list[FileSpec]:
    if not options.get("holder"):
        raise ValueError("the option 'holder' is required")
    lines = f"{answers['name']} (c) {options['holder']} {options.get('year', '')}".rstrip()
    return [FileSpec(path=options.get("path", "NOTICE"), content=lines + "\n{{ not rendered }}")]


class Notice:
    @hookimpl
    def launchpad_file_generators(self) -> list[FileGenerator]:
        return [FileGenerator("notice", "A NOTICE file.", _notice, {"holder": "Who holds it."})]


def _notice_template(*files: Any, **options: Any) -> dict[str, Any]:
    return definition(
        *files,
        variables=[{"name": "name", "default": "engine"}, {"name": "holder", "default": "Ada"}],
        settings={"generators": {"notice": options}},
    )


def test_a_plugin_generator_adds_files_with_options_rendered_over_the_answers() -> None:
    data = _notice_template(holder="{{ holder|upper }}", year=1843)
    files = render_tree(launchpad_with(Notice()), data, {"holder": "Ada"})
    assert files == {"NOTICE": b"engine (c) ADA 1843\n{{ not rendered }}"}


def test_the_templates_own_file_wins_over_a_generated_one() -> None:
    data = _notice_template({"path": "NOTICE", "content": "mine"}, holder="Ada")
    assert render_tree(launchpad_with(Notice()), data) == {"NOTICE": b"mine"}


def test_a_generator_refusing_its_options_stops_the_render() -> None:
    data = _notice_template(holder="{{ '' }}")
    with pytest.raises(LaunchpadError, match="file generator 'notice': the option 'holder'"):
        render_tree(launchpad_with(Notice()), data)


def test_generated_paths_are_checked_like_any_other() -> None:
    data = _notice_template(holder="Ada", path="../NOTICE")
    with pytest.raises(LaunchpadError):
        render_tree(launchpad_with(Notice()), data)


def test_an_unknown_or_doubly_provided_generator_is_an_error() -> None:
    with pytest.raises(DefinitionError) as caught:
        launchpad_with().structure(_notice_template(holder="Ada"))
    assert [p.code for p in caught.value.problems] == ["unknown_generator"]
    clashing = launchpad_with(Notice(), Notice())  # generators are asked for on first use
    with pytest.raises(PluginError, match="two plugins provide the file generator 'notice'"):
        clashing.structure(_notice_template(holder="Ada"))


# -- launchpad_template_importers --------------------------------------------------------------


@attrs.frozen
class TxtImporter:
    """A toy format: ``template.txt`` names the template; the other files are its tree."""

    name: str = "txt"

    def detect(self, path: Path) -> bool:
        return (path / "template.txt").is_file()

    def load(self, path: Path, *, trusted: bool) -> Template:
        files = tuple(
            FileSpec(path=p.name, content=p.read_text())
            for p in sorted(path.iterdir())
            if p.name != "template.txt"
        )
        variables = (Variable(name="who", default="world"),)
        name = (path / "template.txt").read_text().strip()
        return Template(name=name, variables=variables, files=files)

    def bind_destination(self, template: Template, destination: Path) -> Template:
        return template


class TxtFormat:
    @hookimpl
    def launchpad_template_importers(self) -> list[TxtImporter]:
        return [TxtImporter()]


@pytest.fixture
def txt_template(tmp_path: Path) -> Path:
    (tmp_path / "template.txt").write_text("greeting\n")
    (tmp_path / "hello.md").write_text("Hello {{ who }}!\n")
    return tmp_path


def test_an_importer_is_detected_for_a_directory_without_launchpad_yml(
    txt_template: Path,
) -> None:
    lp = launchpad_with(TxtFormat())
    template = lp.load(txt_template)
    assert template.name == "greeting"
    files = lp.render(template, lp.resolve_answers(template, {"who": "Ada"}))
    assert [(f.path, f.data) for f in files] == [("hello.md", b"Hello Ada!\n")]
    assert import_template(txt_template, "txt", launchpad=lp) == template


def test_launchpad_yml_wins_over_an_importer(txt_template: Path) -> None:
    (txt_template / "launchpad.yml").write_text("name: native\n")
    assert launchpad_with(TxtFormat()).load(txt_template).name == "native"


def test_without_the_importer_the_directory_is_not_a_template(txt_template: Path) -> None:
    with pytest.raises(LaunchpadError, match="no importer recognises it"):
        launchpad_with().load(txt_template)


# -- launchpad_render_context --------------------------------------------------------------------


class BuildInfo:
    def __init__(self, **values: Any):
        self.values = values

    @hookimpl
    def launchpad_render_context(self, template: Template, answers: Answers) -> dict[str, Any]:
        return {"build": {"template": template.name, "answers": len(answers.values)},
                **self.values}


def test_a_plugin_adds_values_to_the_render_context() -> None:
    content = "{{ build.template }}/{{ build.answers }} {{ who }}"
    data = definition({"path": "a", "content": content}, variables=[{"name": "name"}])
    files = render_tree(launchpad_with(BuildInfo(who="plugin")), data, {"name": "x"})
    assert files == {"a": b"t/1 plugin"}


def test_answers_win_and_the_last_registered_plugin_wins_a_context_clash() -> None:
    data = definition({"path": "a", "content": "{{ name }} {{ who }}"},
                      variables=[{"name": "name", "default": "answer"}])
    lp = launchpad_with(BuildInfo(name="plugin", who="first"), BuildInfo(who="second"))
    assert render_tree(lp, data) == {"a": b"answer second"}


@pytest.mark.parametrize("value", [object(), Path("/etc"), {"nested": [argparse.Namespace()]}])
def test_a_context_value_that_is_not_plain_data_is_refused(value: Any) -> None:
    with pytest.raises(SecurityError, match="context value 'clock'"):
        render_tree(launchpad_with(BuildInfo(clock=value)), definition({"path": "a"}))


def test_a_plugin_answering_none_adds_nothing() -> None:
    class Nothing:
        @hookimpl
        def launchpad_render_context(self, template: Template, answers: Answers) -> None:
            return None

    assert render_tree(launchpad_with(Nothing()), definition({"path": "a", "content": "x"})) == {
        "a": b"x",
    }


# -- launchpad_billing_provider ------------------------------------------------------------------


@attrs.frozen
class FakeStripe:
    name: str = "fake-stripe"

    @property
    def paid_plans_available(self) -> bool:
        return True

    def create_checkout(self, *, plan: str, **_kwargs: Any) -> CheckoutSession:
        return CheckoutSession(id=f"cs_{plan}", url=f"https://pay.example/{plan}")

    def portal_url(self, *, customer_id: str, return_url: str) -> str:
        return f"https://pay.example/portal/{customer_id}"


class FakeBilling:
    @hookimpl
    def launchpad_billing_provider(self, settings: Mapping[str, Any]) -> FakeStripe | None:
        return FakeStripe() if settings.get("provider") == "fake" else None


def test_the_built_in_provider_offers_only_the_free_plan() -> None:
    provider = launchpad_with().hooks.billing_provider(settings={})
    assert provider == FreeOnlyProvider()
    assert not provider.paid_plans_available
    with pytest.raises(BillingUnavailableError) as caught:
        provider.create_checkout(plan="pro", customer_email="a@b.c", customer_id=None,
                                 success_url="https://ok", cancel_url="https://no")
    assert caught.value.code == "billing_unavailable"


def test_a_plugin_provider_answers_first() -> None:
    hooks = launchpad_with(FakeBilling()).hooks
    provider = hooks.billing_provider(settings={"provider": "fake"})
    assert provider.name == "fake-stripe"
    assert provider.create_checkout(plan="pro", customer_email="a@b.c", customer_id=None,
                                    success_url="", cancel_url="").id == "cs_pro"


def test_a_plugin_provider_answering_none_leaves_the_free_provider() -> None:
    hooks = launchpad_with(FakeBilling()).hooks
    assert hooks.billing_provider(settings={"provider": "other"}).name == "free"


# -- launchpad_forges ---------------------------------------------------------------------------


@attrs.frozen
class Gitea:
    oauth: OAuthClient
    name: str = "gitea"
    label: str = "Gitea"

    def user(self, access_token: str) -> ForgeUser:
        return ForgeUser(id="7", login="ann", name=None,
                         emails=(ForgeEmail("old@x.org", verified=True),
                                 ForgeEmail("ann@x.org", verified=True, primary=True),
                                 ForgeEmail("no@x.org", verified=False)))


class GiteaPlugin:
    @hookimpl
    def launchpad_forges(self, settings: Mapping[str, Mapping[str, str]]) -> list[Gitea]:
        mine = settings.get("gitea") or {}
        if not mine.get("client_id"):
            return []
        url = mine["url"]
        return [Gitea(OAuthClient(f"{url}/login/oauth/authorize",
                                  f"{url}/login/oauth/access_token", mine["client_id"],
                                  "the-secret"))]


def test_a_plugin_forge_is_offered_when_its_settings_are_given() -> None:
    hooks = launchpad_with(GiteaPlugin()).hooks
    assert hooks.forges(settings={}) == {}
    forges = hooks.forges(settings={"gitea": {"client_id": "c", "url": "https://git.example"}})
    assert list(forges) == ["gitea"]
    assert forges["gitea"].oauth.authorize_url == "https://git.example/login/oauth/authorize"
    assert "the-secret" not in repr(forges["gitea"])
    assert forges["gitea"].user("token").verified_emails == ("ann@x.org", "old@x.org")


def test_two_plugins_giving_one_forge_name_is_an_error() -> None:
    hooks = launchpad_with(GiteaPlugin(), GiteaPlugin()).hooks
    with pytest.raises(PluginError, match="two plugins provide the forge 'gitea'"):
        hooks.forges(settings={"gitea": {"client_id": "c", "url": "https://git.example"}})


# -- launchpad_register_commands -----------------------------------------------------------------


class Greet:
    @hookimpl
    def launchpad_register_commands(self, subparsers: argparse._SubParsersAction) -> None:
        greet = subparsers.add_parser("greet", help="say hello")
        greet.add_argument("who")
        greet.set_defaults(handler=self.handle)

    def handle(self, args: argparse.Namespace) -> int:
        if args.who == "nobody":
            raise LaunchpadError("nobody to greet")
        print(f"hello {args.who}")
        return 0


@pytest.fixture
def greet_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "make_plugin_manager", lambda **_: plugin_manager_with(Greet()))


@pytest.mark.usefixtures("greet_cli")
def test_a_plugin_adds_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["greet", "Ada"]) == 0
    assert capsys.readouterr().out == "hello Ada\n"


@pytest.mark.usefixtures("greet_cli")
def test_a_plugin_commands_errors_are_reported_like_the_clis_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["greet", "nobody"]) == 1
    assert capsys.readouterr().err == "launchpad: error: nobody to greet\n"
