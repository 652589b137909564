"""Users (argon2 password hashes, roles) and login sessions (server-side, hashed tokens)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, delete, select, update

from monitor.errors import NotFoundError, StoreError
from monitor.store.models import User
from monitor.store.schema import ROLES, sessions, users

__all__ = [
    "NAME_PATTERN",
    "add_user",
    "check_password",
    "create_session",
    "delete_user",
    "drop_session",
    "end_sessions",
    "get_user",
    "list_users",
    "lookup_session",
    "set_disabled",
    "set_password",
]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8


def _user(row: Mapping[Any, Any]) -> User:
    return User(
        name=row["name"],
        role=row["role"],
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
    )


def _check_new(name: str, role: str, password: str) -> None:
    if not NAME_PATTERN.match(name):
        raise StoreError(
            f"user name {name!r} is not valid: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if role not in ROLES:
        raise StoreError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise StoreError(
            f"password for {name!r} is too short: use at least {MIN_PASSWORD} characters"
        )


def add_user(
    conn: Connection, hasher: PasswordHasher, name: str, role: str, password: str, now: float
) -> User:
    _check_new(name, role, password)
    if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise StoreError(f"user {name!r} already exists; choose another name")
    conn.execute(
        users.insert().values(
            name=name,
            role=role,
            password_hash=hasher.hash(password),
            disabled=False,
            created_at=now,
        )
    )
    return User(name=name, role=role, disabled=False, created_at=now)


def set_password(conn: Connection, hasher: PasswordHasher, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StoreError(f"password is too short: use at least {MIN_PASSWORD} characters")
    res = conn.execute(
        update(users).where(users.c.name == name).values(password_hash=hasher.hash(password))
    )
    if res.rowcount != 1:
        raise NotFoundError(f"no user {name!r}; add it with 'ringwatch users add'")


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.name)).mappings()]


def get_user(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    return None if row is None else _user(row)


def check_password(
    conn: Connection, hasher: PasswordHasher, name: str, password: str
) -> User | None:
    """The user when ``password`` matches and the account is enabled, else None.

    Unknown users still cost one hash verification so timing does not reveal names.
    """
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    stored = row["password_hash"] if row is not None else _dummy_hash(hasher)
    try:
        hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row["disabled"]:
        return None
    if hasher.check_needs_rehash(stored):
        conn.execute(
            update(users).where(users.c.name == name).values(password_hash=hasher.hash(password))
        )
    return _user(row)


_DUMMY: dict[int, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = id(hasher)
    if key not in _DUMMY:
        _DUMMY[key] = hasher.hash(secrets.token_hex(16))
    return _DUMMY[key]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(conn: Connection, name: str, now: float, ttl: float) -> tuple[str, str]:
    """A new session for ``name``: (token for the cookie, CSRF token for its forms)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))
    conn.execute(
        sessions.insert().values(
            token_hash=_digest(token),
            user_name=name,
            csrf=csrf,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token, csrf


def lookup_session(conn: Connection, token: str, now: float) -> tuple[User, str] | None:
    """(user, csrf token) for a live session of an enabled user, else None."""
    row = conn.execute(
        select(sessions.c.user_name, sessions.c.csrf, sessions.c.expires_at).where(
            sessions.c.token_hash == _digest(token)
        )
    ).first()
    if row is None or row.expires_at < now:
        return None
    user = get_user(conn, row.user_name)
    if user is None or user.disabled:
        return None
    return user, row.csrf


def drop_session(conn: Connection, token: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))


def end_sessions(conn: Connection, name: str) -> int:
    """End every session of ``name``; returns how many there were."""
    return int(conn.execute(delete(sessions).where(sessions.c.user_name == name)).rowcount)


def set_disabled(conn: Connection, name: str, disabled: bool) -> int:
    """Disable (ending its sessions) or enable ``name``; returns the sessions ended."""
    res = conn.execute(update(users).where(users.c.name == name).values(disabled=disabled))
    if res.rowcount != 1:
        raise NotFoundError(f"no user {name!r}; list them with 'ringwatch users list'")
    return end_sessions(conn, name) if disabled else 0


def delete_user(conn: Connection, name: str) -> int:
    """Delete ``name`` and end its sessions (its reviews and audit entries keep the name)."""
    res = conn.execute(delete(users).where(users.c.name == name))
    if res.rowcount != 1:
        raise NotFoundError(f"no user {name!r}; list them with 'ringwatch users list'")
    return end_sessions(conn, name)
