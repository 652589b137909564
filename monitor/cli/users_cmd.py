"""``ringwatch users add|list|passwd``: web users (argon2-hashed passwords, roles)."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.errors import InputError
from monitor.store import Store
from monitor.store.schema import ROLES

__all__ = ["DEFAULT_STORE", "register"]

DEFAULT_STORE = "ringwatch-data/ringwatch.sqlite"

_store_option = click.option(
    "--store",
    "store_url",
    envvar="RINGWATCH_STORE",
    default=DEFAULT_STORE,
    show_default=True,
    help="Store: a SQLite file path or postgresql://USER:PASS@HOST/DB (env RINGWATCH_STORE).",
)


def _open(url: str) -> Store:
    if url == DEFAULT_STORE:
        Path(DEFAULT_STORE).parent.mkdir(parents=True, exist_ok=True)
    return Store.open(url)


def _password(password_file: Path | None) -> str:
    if password_file is None:
        value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    try:
        text = password_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"{password_file}: cannot read the password file ({exc.strerror}); "
            "give a readable file holding the password on its first line"
        ) from exc
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise InputError(
            f"{password_file}:1: the password file is empty; put the password on its first line"
        )
    return lines[0]


@click.group("users")
def users_group() -> None:
    """Manage the web users (roles: supervisor, qa, admin)."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the password from the first line of this file (else prompt).",
)
@_store_option
def add(name: str, role: str, password_file: Path | None, store_url: str) -> None:
    """Add user NAME with ROLE; the password is stored as an argon2 hash."""
    password = _password(password_file)
    store = _open(store_url)
    try:
        store.add_user(name, role, password)
    finally:
        store.close()
    click.echo(f"added user {name} ({role})")


@users_group.command("passwd")
@click.argument("name")
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the password from the first line of this file (else prompt).",
)
@_store_option
def passwd(name: str, password_file: Path | None, store_url: str) -> None:
    """Set a new password for user NAME."""
    password = _password(password_file)
    store = _open(store_url)
    try:
        store.set_password(name, password)
    finally:
        store.close()
    click.echo(f"password changed for {name}")


@users_group.command("list")
@_store_option
def list_users(store_url: str) -> None:
    """List the users and their roles."""
    store = _open(store_url)
    try:
        for user in store.users():
            state = "disabled" if user.disabled else "enabled"
            click.echo(f"{user.name}\t{user.role}\t{state}")
    finally:
        store.close()


def register(group: click.Group) -> None:
    group.add_command(users_group)
