"""Forge use cases on an injected session; they flush, never commit.

Signing in with a forge (:meth:`ForgeService.sign_in`) finds the user linked to
the forge account; else links the account whose email the forge says is verified;
else makes a new account with the forge's verified primary email. An existing
account whose email the forge has NOT verified is never linked: the person signs
in with the password first and links from the account page.

Scopes: signing in asks only for the forge's sign-in scopes; what needs the person's
repositories (publishing, importing through the forge, pull requests) asks
:meth:`ForgeService.access_token` with ``repositories=True``, which answers
:class:`ForgeAccessNeededError` until the person allows them (a link flow started
with ``repositories``: :meth:`ForgeLinkView.repositories` says whether it was). A
later sign-in, which grants less, keeps the link's stronger token. Tokens are stored
encrypted (:class:`~launchpad_web.forges.encryption.TokenCipher`) and leave this
module only as :meth:`ForgeService.access_token` answers them to a caller that
calls the forge.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from urllib.parse import urlsplit

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from launchpad_core import Launchpad
from launchpad_core.plugins.forges import Forge, ForgeUser
from launchpad_core.plugins.forges import ForgeTokenRevokedError as RevokedByForge
from launchpad_core.plugins.forges import ForgeUnavailableError as ForgeDown

from ..accounts.models import User
from ..accounts.schemas import UserView
from ..accounts.services import AccountService
from ..clock import Clock
from ..db import end_transaction
from ..emails import Email, normalize_email
from ..errors import (
    ForgeAccessNeededError,
    ForgeAccountTakenError,
    ForgeAlreadyLinkedError,
    ForgeEmailUnverifiedError,
    ForgeNotLinkedError,
    ForgeRefusedError,
    ForgeTokenRevokedError,
    ForgeUnreachableError,
    LastSignInMethodError,
    UnknownForgeError,
)
from ..settings import WebSettings
from .encryption import TokenCipher
from .models import ForgeAccount
from .oauth import ForgeTokens, OAuthFlows


@attrs.frozen
class ForgeView:
    """A forge people can sign in with here."""

    name: str
    label: str


@attrs.frozen
class ForgeLinkView:
    """A forge account linked to the user; ``token`` is ``active`` or ``revoked`` (the
    forge refused it: link again), never the token itself; ``repositories``: whether
    LaunchPad may create, read and push the person's repositories with it."""

    forge: str
    label: str
    login: str
    linked_at: datetime
    token: str
    repositories: bool = False

    @classmethod
    def from_row(cls, row: ForgeAccount, forge: Forge | None) -> ForgeLinkView:
        return cls(forge=row.forge, label=forge.label if forge else row.forge, login=row.login,
                   linked_at=row.created_at,
                   token="active" if row.access_token is not None else "revoked",
                   repositories=forge is not None and row.access_token is not None
                   and may_use_repositories(row, forge))


def may_use_repositories(row: ForgeAccount, forge: Forge) -> bool:
    """Whether the link's token has the forge's repository scopes (a link made before
    scopes were stored was granted them at sign-in)."""
    return _repository_scopes_in(None if row.scopes is None else row.scopes.split(), forge)


def _repository_scopes_in(scopes: Collection[str] | None, forge: Forge) -> bool:
    """Whether ``scopes`` (None: not known, so granted) hold the forge's repository ones."""
    return scopes is None or set(forge.oauth.repository_scopes) <= set(scopes)


class ForgeService:
    """``accounts`` is needed to sign in (a worker, which only reads tokens, has none)."""

    def __init__(self, *, forges: Mapping[str, Forge], cipher: TokenCipher, flows: OAuthFlows,
                 accounts: AccountService | None, clock: Clock):
        self.forges = dict(sorted(forges.items()))
        self.cipher = cipher
        self.flows = flows
        self.accounts = accounts
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: WebSettings, *, launchpad: Launchpad,
                      accounts: AccountService | None, clock: Clock) -> ForgeService | None:
        """The forges the plugins offer for these settings; None without encryption keys
        (forge features are off)."""
        if not settings.forges.enabled:
            return None
        cipher = TokenCipher(settings.forges.encryption_keys)
        return cls(forges=launchpad.hooks.forges(settings=settings.forges.forges),
                   cipher=cipher, accounts=accounts, clock=clock,
                   flows=OAuthFlows(cipher=cipher, public_url=settings.public_url,
                                    secure=settings.secure_cookies, clock=clock))

    def available(self) -> list[ForgeView]:
        return [ForgeView(f.name, f.label) for f in self.forges.values()]

    def authorization_origins(self) -> tuple[str, ...]:
        """Where the sign-in forms send browsers (their Content-Security-Policy allows it)."""
        return tuple(sorted({_origin(f.oauth.authorize_url) for f in self.forges.values()}))

    def forge(self, name: str) -> Forge:
        forge = self.forges.get(name)
        if forge is None:
            raise UnknownForgeError(f"no forge {name[:40]!r} is set up here", field="$.forge")
        return forge

    def links(self, db: Session, user_id: uuid.UUID) -> list[ForgeLinkView]:
        rows = db.scalars(sa.select(ForgeAccount).where(ForgeAccount.user_id == user_id)
                          .order_by(ForgeAccount.forge))
        return [ForgeLinkView.from_row(row, self.forges.get(row.forge)) for row in rows]

    # -- the OAuth callback's two endings ---------------------------------------------
    def sign_in(self, db: Session, forge: Forge, tokens: ForgeTokens, *,
                address: str | None) -> UserView:
        """The user the forge account belongs to (see the module's doc)."""
        who = self._who(forge, tokens)
        row = self._row(db, forge.name, forge_user_id=who.id)
        if row is not None:
            self._store(db, row, who, tokens, forge)
            return UserView.from_row(db.get_one(User, row.user_id))
        verified = [e for e in (_normal(e) for e in who.verified_emails) if e]
        user = self._user_by_email(db, verified)
        if user is None:
            if not verified or self._email_taken(db, who):
                raise ForgeEmailUnverifiedError()
            assert self.accounts is not None, "signing in needs the account service"
            user = self.accounts.signup_without_password(db, email=Email(verified[0]),
                                                         address=address)
        self._link(db, user.id, forge, who, tokens)
        return user

    def link(self, db: Session, user_id: uuid.UUID, forge: Forge,
             tokens: ForgeTokens) -> ForgeLinkView:
        who = self._who(forge, tokens)
        row = self._row(db, forge.name, forge_user_id=who.id)
        if row is not None and row.user_id != user_id:
            raise ForgeAccountTakenError()
        if row is None:
            row = self._link(db, user_id, forge, who, tokens)
        self._store(db, row, who, tokens, forge)
        return ForgeLinkView.from_row(row, forge)

    def unlink(self, db: Session, user_id: uuid.UUID, forge_name: str) -> None:
        """Forget the link and its tokens; refused for the last way to sign in."""
        row = self._row(db, forge_name, user_id=user_id)
        if row is None:
            raise ForgeNotLinkedError(field="$.forge")
        others = db.scalar(sa.select(sa.func.count()).select_from(ForgeAccount).where(
            ForgeAccount.user_id == user_id, ForgeAccount.id != row.id))
        if not others and not (self.accounts and self.accounts.has_password(db, user_id)):
            raise LastSignInMethodError()
        db.delete(row)
        db.flush()

    # -- tokens for callers of the forge ------------------------------------------------
    def access_token(self, db: Session, user_id: uuid.UUID, forge_name: str, *,
                     repositories: bool = False) -> str:
        """The user's access token for the forge, refreshed first when it has expired;
        :class:`ForgeTokenRevokedError` when there is none (revoked), or the forge refuses
        the refresh (the tokens are then dropped: a caller that answers the error sets
        ``commit_on_error`` to keep that); with ``repositories``,
        :class:`ForgeAccessNeededError` when the person has not allowed those scopes."""
        forge, row = self._held(db, user_id, forge_name, repositories=repositories)
        if row.token_expires_at is not None and row.token_expires_at <= self.clock():
            if row.refresh_token is None:
                self._drop_tokens(row)
                raise ForgeTokenRevokedError()
            try:
                tokens = self.flows.refresh(forge, self.cipher.decrypt(row.refresh_token))
            except ForgeRefusedError:
                self._drop_tokens(row)
                raise ForgeTokenRevokedError() from None
            self._store_tokens(row, tokens)
            return tokens.access_token
        return self.cipher.decrypt(row.access_token)

    def require_repositories(self, db: Session, user_id: uuid.UUID, forge_name: str) -> None:
        """Refuse (409 at ``$.forge``) unless the user's link to the forge may act on their
        repositories: linked (:class:`ForgeNotLinkedError`), its token held
        (:class:`ForgeTokenRevokedError`), the repository scopes allowed
        (:class:`ForgeAccessNeededError`)."""
        self._held(db, user_id, forge_name, repositories=True)

    def _held(self, db: Session, user_id: uuid.UUID, forge_name: str, *,
              repositories: bool) -> tuple[Forge, ForgeAccount]:
        """The forge and the user's link to it, which holds a token (with the repository
        scopes when ``repositories``); else the 404/409 that says what is missing."""
        forge = self.forge(forge_name)
        row = self._row(db, forge_name, user_id=user_id)
        if row is None:
            raise ForgeNotLinkedError("link your account to this forge first", field="$.forge")
        if row.access_token is None:
            raise ForgeTokenRevokedError(field="$.forge")
        if repositories and not may_use_repositories(row, forge):
            raise ForgeAccessNeededError(field="$.forge")
        return forge, row

    def revoked(self, db: Session, user_id: uuid.UUID, forge_name: str) -> None:
        """The forge refused the user's token (a 401 to a caller of the forge): drop the
        tokens, so the link shows as ``revoked`` until the person links again."""
        row = self._row(db, forge_name, user_id=user_id)
        if row is not None:
            self._drop_tokens(row)

    def check(self, db: Session, user_id: uuid.UUID, forge_name: str) -> ForgeLinkView:
        """Ask the forge whether the link still works (its login is updated); a token the
        forge refuses is dropped and the link answered as ``revoked``."""
        forge = self.forge(forge_name)
        row = self._row(db, forge_name, user_id=user_id)
        if row is None:
            raise ForgeNotLinkedError(field="$.forge")
        if row.access_token is not None:
            try:
                token = self.access_token(db, user_id, forge_name)
                end_transaction(db)  # no lock (SQLite's: everyone's) held while the forge answers
                row.login = forge.user(token).login[:255]
            except RevokedByForge:
                self._drop_tokens(row)
            except ForgeDown as exc:
                raise ForgeUnreachableError(exc.message) from None
            except ForgeTokenRevokedError:
                pass  # no refresh token left: already dropped
        return ForgeLinkView.from_row(row, forge)

    # -- rows ---------------------------------------------------------------------------
    def _who(self, forge: Forge, tokens: ForgeTokens) -> ForgeUser:
        try:
            return forge.user(tokens.access_token)
        except (RevokedByForge, ForgeDown) as exc:
            raise ForgeUnreachableError(exc.message) from None

    def _row(self, db: Session, forge: str, *, forge_user_id: str | None = None,
             user_id: uuid.UUID | None = None) -> ForgeAccount | None:
        query = sa.select(ForgeAccount).where(ForgeAccount.forge == forge)
        if forge_user_id is not None:
            query = query.where(ForgeAccount.forge_user_id == forge_user_id)
        if user_id is not None:
            query = query.where(ForgeAccount.user_id == user_id)
        return db.scalar(query)

    def _user_by_email(self, db: Session, emails: list[str]) -> UserView | None:
        """The account of the first of ``emails`` (normalized, verified) that has one."""
        users = {u.email: u for u in db.scalars(sa.select(User).where(User.email.in_(emails)))}
        found = next((users[e] for e in emails if e in users), None)
        return UserView.from_row(found) if found else None

    def _email_taken(self, db: Session, who: ForgeUser) -> bool:
        """An account has one of the forge's emails (unverified: never linked)."""
        emails = [e for e in (_normal(e.address) for e in who.emails) if e]
        return db.scalar(sa.select(sa.func.count()).select_from(User).where(
            User.email.in_(emails))) > 0

    def _link(self, db: Session, user_id: uuid.UUID, forge: Forge, who: ForgeUser,
              tokens: ForgeTokens) -> ForgeAccount:
        now = self.clock()
        row = ForgeAccount(user_id=user_id, forge=forge.name, forge_user_id=who.id[:100],
                           login=who.login[:255], created_at=now, updated_at=now)
        self._store_tokens(row, tokens)
        try:
            with db.begin_nested():
                db.add(row)
        except IntegrityError:
            raise ForgeAlreadyLinkedError(field="$.forge") from None
        return row

    def _store(self, db: Session, row: ForgeAccount, who: ForgeUser, tokens: ForgeTokens,
               forge: Forge) -> None:
        """New tokens for the link, unless they may do less than the ones it holds (a
        sign-in after repositories were allowed) and those still work (asked with no
        transaction open: the forge may be slow)."""
        if row.access_token is not None and may_use_repositories(row, forge) \
                and not _repository_scopes_in(tokens.scopes, forge):
            held = (row.access_token, row.refresh_token, row.token_expires_at)
            end_transaction(db)
            works, refreshed = self._works(forge, *held)
            if works:
                row.login = who.login[:255]
                if refreshed is not None:
                    self._store_tokens(row, refreshed)
                return
        row.login = who.login[:255]
        self._store_tokens(row, tokens)

    def _works(self, forge: Forge, access: str, refresh: str | None,
               expires: datetime | None) -> tuple[bool, ForgeTokens | None]:
        """Whether the link's tokens still work, and their refresh when they had expired."""
        if expires is not None and expires <= self.clock():
            if refresh is None:
                return False, None
            try:
                return True, self.flows.refresh(forge, self.cipher.decrypt(refresh))
            except (ForgeRefusedError, ForgeUnreachableError):
                return False, None
        try:
            forge.user(self.cipher.decrypt(access))
        except (RevokedByForge, ForgeDown):
            return False, None
        return True, None

    def _store_tokens(self, row: ForgeAccount, tokens: ForgeTokens) -> None:
        row.access_token = self.cipher.encrypt(tokens.access_token)
        row.refresh_token = self.cipher.encrypt(tokens.refresh_token) \
            if tokens.refresh_token else None
        row.token_expires_at = tokens.expires_at
        if tokens.scopes is not None:  # a refresh that does not say keeps them
            row.scopes = " ".join(tokens.scopes)[:2000]
        row.updated_at = self.clock()

    def _drop_tokens(self, row: ForgeAccount) -> None:
        row.access_token = row.refresh_token = row.token_expires_at = None
        row.updated_at = self.clock()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _normal(address: str) -> str | None:
    try:
        return normalize_email(address)
    except ValueError:
        return None
