"""Kiosk tokens: a read-only sign-in for one wall screen (issue 19).

A kiosk is a user with role ``kiosk`` (``KIOSK_ROLE``): a random password nobody is told,
and one long session (``KIOSK_TTL_SECONDS``, ten years) whose token is the screen's secret.
The permission table lets the role see the wallboard and its stream only. Revoking deletes
the kiosk and so ends its session; every change is audited by the ``Store`` methods.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from sqlalchemy import Connection, select

from monitor.errors import NotFoundError, StoreError
from monitor.store import users as u
from monitor.store.models import User
from monitor.store.schema import users

__all__ = ["KIOSK_ROLE", "KIOSK_TTL_SECONDS", "add_kiosk", "list_kiosks", "revoke_kiosk"]

KIOSK_ROLE = "kiosk"
KIOSK_TTL_SECONDS = 10 * 365 * 86400.0


def add_kiosk(conn: Connection, hasher: PasswordHasher, name: str, now: float) -> str:
    """Create kiosk ``name``; returns its token (shown once: only its hash is stored)."""
    if not u.NAME_PATTERN.match(name):
        raise StoreError(
            f"kiosk name {name!r} is not valid: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise StoreError(f"a user or kiosk {name!r} already exists; choose another name")
    conn.execute(
        users.insert().values(
            name=name,
            role=KIOSK_ROLE,
            password_hash=hasher.hash(secrets.token_urlsafe(32)),
            disabled=False,
            created_at=now,
        )
    )
    token, _csrf = u.create_session(conn, name, now, KIOSK_TTL_SECONDS)
    return token


def list_kiosks(conn: Connection) -> list[User]:
    return [x for x in u.list_users(conn) if x.role == KIOSK_ROLE]


def revoke_kiosk(conn: Connection, name: str) -> int:
    """Delete kiosk ``name``, ending its session at once; returns the sessions ended."""
    user = u.get_user(conn, name)
    if user is None or user.role != KIOSK_ROLE:
        raise NotFoundError(f"no kiosk {name!r}; list them with 'ringwatch users kiosk list'")
    return u.delete_user(conn, name)
