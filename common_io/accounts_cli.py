"""The commands that end or restore an account at once, for both CLIs: ``commune-node
officer deactivate|activate|reset-password`` and ``central-hub user
deactivate|activate|reset-password``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import click
from sqlalchemy import Table
from sqlalchemy.orm import Session

from common.errors import DossierError
from common_io import accounts
from common_io.database import Database


@dataclass(frozen=True)
class AccountsOf:
    """How a CLI reaches its accounts: its database, a look-up by user name, the sessions
    table, what it calls an account, and its name and an example user for the help."""

    database: Callable[[click.Context], Database]
    find: Callable[[Session, str], accounts.Account | None]
    sessions: Table
    noun: str
    program: str
    example: str


def add_commands(group: click.Group, of: AccountsOf, *, password_envvar: str) -> None:
    prog = f"{of.program} {group.name}"

    @group.command(
        "deactivate",
        help=f"Deactivate the {of.noun} USERNAME: they can no longer log in, and every "
        f"session of theirs (every browser still logged in) ends at once.\n\n\b\nExample:\n"
        f"    {prog} deactivate {of.example}",
    )
    @click.argument("username")
    @click.pass_context
    def deactivate(ctx: click.Context, username: str) -> None:
        with of.database(ctx).write() as session:
            account = _find(of, session, username)
            ended = accounts.deactivate(session, of.sessions, account)
        click.echo(f"{username} deactivated; {ended} session(s) ended.")

    @group.command(
        "activate",
        help=f"Let the {of.noun} USERNAME log in again after a deactivation (with their "
        f"password; reset it if they no longer know it).\n\n\b\nExample:\n"
        f"    {prog} activate {of.example}",
    )
    @click.argument("username")
    @click.pass_context
    def activate(ctx: click.Context, username: str) -> None:
        with of.database(ctx).write() as session:
            accounts.activate(_find(of, session, username))
        click.echo(f"{username} can log in again.")

    @group.command(
        "reset-password",
        help=f"Set a new password for the {of.noun} USERNAME (who forgot it, or whose "
        f"password may have leaked); every session of theirs ends at once.\n\n\b\nExample:\n"
        f"    {prog} reset-password {of.example}",
    )
    @click.argument("username")
    @click.option("--password", envvar=password_envvar, help="Prompted if not given.")
    @click.pass_context
    def reset_password(ctx: click.Context, username: str, password: str | None) -> None:
        if password is None:
            password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        try:
            with of.database(ctx).write() as session:
                account = _find(of, session, username)
                ended = accounts.reset_password(session, of.sessions, account, password)
        except DossierError as exc:
            raise click.ClickException(f"{exc.en}\n{exc.vi}") from exc
        click.echo(f"Password of {username} reset; {ended} session(s) ended.")


def _find(of: AccountsOf, session: Session, username: str) -> accounts.Account:
    account = of.find(session, username.strip().lower())
    if account is None:
        raise click.ClickException(f"no {of.noun} named {username}")
    return account
