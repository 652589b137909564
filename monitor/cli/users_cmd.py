"""``ringwatch users add|list|passwd|disable|enable|delete`` and ``users kiosk
add|list|revoke``: web users (argon2-hashed passwords, roles) and wall-screen kiosks.
Changing a password, disabling or deleting a user ends their sessions; every change is in
the audit log."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.options import open_store, store_option
from monitor.errors import InputError
from monitor.store import Store
from monitor.store.schema import ROLES

__all__ = ["register"]

# one --store / RINGWATCH_STORE for every command (monitor/cli/options.py)
_store_option = store_option


def _open(url: str | None, *, create: bool = False) -> Store:
    """The store; only ``users add`` may create it (a typo path is an error elsewhere)."""
    return open_store(url, create=create)


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
    """Manage the web users (roles: supervisor, qa, admin, agent)."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the password from the first line of this file (else prompt).",
)
@click.option(
    "--agent",
    "agent",
    metavar="NAME",
    help="For --role agent: the agent's name as calls record it (the queue member's name, "
    "or the name in the agents: configuration); they see only their own calls' reviews.",
)
@_store_option
def add(
    name: str, role: str, password_file: Path | None, agent: str | None, store_url: str | None
) -> None:
    """Add user NAME with ROLE; the password is stored as an argon2 hash."""
    if role == "agent" and not (agent or "").strip():
        raise click.UsageError("--role agent needs --agent NAME (the agent's name on calls)")
    if role != "agent" and agent is not None:
        raise click.UsageError("--agent is only for --role agent")
    password = _password(password_file)
    store = _open(store_url, create=True)
    try:
        store.add_user(name, role, password, agent=agent)
    finally:
        store.close()
    click.echo(f"added user {name} ({role}{', agent ' + agent.strip() if agent else ''})")


@users_group.command("passwd")
@click.argument("name")
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the password from the first line of this file (else prompt).",
)
@_store_option
def passwd(name: str, password_file: Path | None, store_url: str | None) -> None:
    """Set a new password for user NAME and end their sessions (logged in elsewhere)."""
    password = _password(password_file)
    store = _open(store_url)
    try:
        ended = store.set_password(name, password)
    finally:
        store.close()
    click.echo(f"password changed for {name}; {_sessions(ended)} ended")


def _sessions(n: int) -> str:
    return f"{n} session" + ("" if n == 1 else "s")


@users_group.command("disable")
@click.argument("name")
@_store_option
def disable(name: str, store_url: str) -> None:
    """Disable user NAME: they cannot log in and their sessions end (audited)."""
    store = _open(store_url)
    try:
        ended = store.set_disabled(name, True)
    finally:
        store.close()
    click.echo(f"disabled user {name}; {_sessions(ended)} ended")


@users_group.command("enable")
@click.argument("name")
@_store_option
def enable(name: str, store_url: str) -> None:
    """Enable user NAME again (audited)."""
    store = _open(store_url)
    try:
        store.set_disabled(name, False)
    finally:
        store.close()
    click.echo(f"enabled user {name}")


@users_group.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_store_option
def delete(name: str, yes: bool, store_url: str) -> None:
    """Delete user NAME and end their sessions (audited; their reviews keep the name)."""
    if not yes:
        click.confirm(f"Delete user {name}?", abort=True)
    store = _open(store_url)
    try:
        ended = store.delete_user(name)
    finally:
        store.close()
    click.echo(f"deleted user {name}; {_sessions(ended)} ended")


@users_group.command("list")
@_store_option
def list_users(store_url: str | None) -> None:
    """List the users and their roles."""
    store = _open(store_url)
    try:
        for user in store.users():
            state = "disabled" if user.disabled else "enabled"
            agent = f"\t{store.agent_for(user.name)}" if user.role == "agent" else ""
            click.echo(f"{user.name}\t{user.role}\t{state}{agent}")
    finally:
        store.close()


@users_group.group("kiosk")
def kiosk_group() -> None:
    """Read-only sign-ins for wall screens: each grants the wallboard and its stream only,
    and does not expire with a shift (revoke it instead). Every change is audited."""


@kiosk_group.command("add")
@click.argument("name")
@_store_option
def kiosk_add(name: str, store_url: str) -> None:
    """Create kiosk NAME (one per screen) and print its token, once."""
    store = _open(store_url)
    try:
        token = store.add_kiosk(name)
    finally:
        store.close()
    click.echo(f"added kiosk {name}")
    click.echo(f"token (shown once; keep it secret): {token}")
    click.echo("On the screen open /kiosk on the ringwatch site and paste the token.")


@kiosk_group.command("list")
@_store_option
def kiosk_list(store_url: str) -> None:
    """List the kiosks (the tokens are not stored and cannot be shown again)."""
    store = _open(store_url)
    try:
        kiosks = store.kiosks()
    finally:
        store.close()
    for k in kiosks:
        click.echo(f"{k.name}\tcreated {_day(k.created_at)}")
    if not kiosks:
        click.echo("no kiosks; add one with 'ringwatch users kiosk add NAME'")


def _day(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


@kiosk_group.command("revoke")
@click.argument("name")
@_store_option
def kiosk_revoke(name: str, store_url: str) -> None:
    """Revoke kiosk NAME: its screen loses the wallboard at its next update."""
    store = _open(store_url)
    try:
        ended = store.revoke_kiosk(name)
    finally:
        store.close()
    click.echo(f"revoked kiosk {name}; {_sessions(ended)} ended")


def register(group: click.Group) -> None:
    group.add_command(users_group)
