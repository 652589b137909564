"""``ringwatch promises add | cancel | list | show``: the callback ledger from the shell.

Works on the store: ``--store`` (or ``RINGWATCH_STORE``), else ``store.url`` from
``--config ringwatch.yml``, else the default store (monitor/cli/options.py); a store that does
not exist is an error, never created here. Safe to use while the service runs on the same
SQLite file (WAL, busy timeout).
"""

from __future__ import annotations

import getpass
import json
import re
import time
from datetime import datetime
from pathlib import Path

import click

from monitor.cli.options import check_store, resolve_store, store_option
from monitor.config import load_config
from monitor.errors import InputError
from monitor.promises.db import open_database
from monitor.promises.engine import PromiseEngine
from monitor.promises.model import Promise, PromiseKind
from monitor.promises.settings import PromiseSettings
from monitor.promises.views import VIEWS
from monitor.record import iso
from monitor.store.engine import normalise_url

__all__ = ["parse_due", "register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_PERIOD = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")


def parse_due(text: str, now: float) -> float:
    """``2h``, ``90m``, ``1d12h``, ``45s`` from ``now``, or an ISO 8601 time with a zone."""
    value = text.strip().lower()
    if _PERIOD.fullmatch(value):
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(value))
        if seconds <= 0:
            raise InputError(f"--due {text!r}: the due period must be more than 0")
        return now + seconds
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--due {text!r} is neither a period (2h, 90m, 1d12h) nor an ISO 8601 time "
            "(2024-05-01T17:00:00+01:00)"
        ) from None
    if when.tzinfo is None:
        raise InputError(f"--due {text!r} has no time zone; add one, e.g. {text}Z or +01:00")
    return when.timestamp()


class _Ctx:
    def __init__(self, db: str, country: str, pbx: str) -> None:
        self.db, self.country, self.pbx = db, country, pbx

    def engine(self) -> PromiseEngine:
        settings = PromiseSettings(country=self.country.upper(), pbx=self.pbx)
        return PromiseEngine(
            open_database(normalise_url(check_store(self.db, create=False))), settings
        )


def _line(p: Promise) -> str:
    number = p.number or f"({p.raw_number or 'withheld'})"
    return (
        f"{p.id:>6}  {p.state:<12} {number:<16} due {iso(p.due_at)}  "
        f"{p.kind:<6} misses={p.misses}  {p.reason or ''}"
    ).rstrip()


@click.group("promises")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="ringwatch.yml (store.url, site.country, the first pbx name).",
)
@store_option
@click.option("--country", default=None, help="Site country for local numbers (GB, US).")
@click.option("--pbx", default=None, help="PBX name on new promises.")
@click.pass_context
def promises_group(
    ctx: click.Context,
    config_path: Path | None,
    store_url: str | None,
    country: str | None,
    pbx: str | None,
) -> None:
    """Callback promises: list, add, cancel and show."""
    cfg = load_config(config_path)
    db = resolve_store(store_url, cfg.store_url)  # checked when a command opens it
    ctx.obj = _Ctx(db, country or cfg.country, pbx or cfg.pbxs[0].name)


@promises_group.command("add")
@click.argument("number")
@click.option("--due", "due", required=True, help="Due in (2h, 90m, 1d) or at (ISO 8601).")
@click.option("--reason", default=None, help="Why the callback was promised.")
@click.option("--key", default=None, help="Idempotency key: the same key adds only once.")
@click.option("--by", "by", default=None, help="Who promised (default: $USER).")
@click.pass_obj
def add_cmd(
    obj: _Ctx, number: str, due: str, reason: str | None, key: str | None, by: str | None
) -> None:
    """Promise a callback to NUMBER."""

    now = time.time()
    who = by or getpass.getuser()
    engine = obj.engine()
    changes = engine.promise(
        number,
        parse_due(due, now),
        made_at=now,
        actor=f"user:{who}",
        kind=PromiseKind.CLI,
        key=None if key is None else f"cli:{key}",
        reason=reason,
        agent=who,
    )
    if not changes:
        found = engine.by_key(f"cli:{key}") if key else None
        click.echo(f"already recorded: {_line(found)}" if found else "already recorded")
        return
    last = changes[-1]
    click.echo(f"{last.action}: {_line(last.promise)}")


@promises_group.command("cancel")
@click.argument("promise_id", type=int)
@click.option("--reason", required=True, help="Why no callback is needed.")
@click.option("--by", "by", default=None, help="Who cancels (default: $USER).")
@click.pass_obj
def cancel_cmd(obj: _Ctx, promise_id: int, reason: str, by: str | None) -> None:
    """Cancel open promise PROMISE_ID."""

    change = obj.engine().cancel(
        promise_id, reason, at=time.time(), actor=f"user:{by or getpass.getuser()}"
    )
    click.echo(f"cancelled: {_line(change.promise)}")


@promises_group.command("list")
@click.option("--state", "view", type=click.Choice(VIEWS), default="open", show_default=True)
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def list_cmd(obj: _Ctx, view: str, limit: int, as_json: bool) -> None:
    """List promises (open, overdue, kept, broken, cancelled, unreturnable, all)."""
    engine = obj.engine()
    found = engine.view(view, now=time.time(), limit=limit)
    for p in found:
        click.echo(json.dumps(p.to_dict()) if as_json else _line(p))
    if not as_json:
        counts = engine.counts_by_state()
        click.echo(
            f"{len(found)} shown; " + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True
        )


@promises_group.command("show")
@click.argument("promise_id", type=int)
@click.pass_obj
def show_cmd(obj: _Ctx, promise_id: int) -> None:
    """Show one promise and its history."""
    engine = obj.engine()
    click.echo(_line(engine.require(promise_id)))
    for h in engine.history(promise_id):
        click.echo(f"  {iso(h['at'])}  {h['action']:<13} {h['actor']:<24} {h['detail']}")


def register(group: click.Group) -> None:
    group.add_command(promises_group)
