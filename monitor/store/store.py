"""``Store``: the one object the service and the web use to read and write the database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.record import CallRecord, Finding
from monitor.store import (
    agent_reviews,
    calibration,
    export,
    kiosks,
    migrations,
    queue,
    reviews,
    users,
)
from monitor.store import promises_read as promises
from monitor.store.calls_write import upsert_call
from monitor.store.engine import create_schema, make_engine
from monitor.store.models import (
    AuditEntry,
    FlagFilter,
    FlagInfo,
    Page,
    PromiseRow,
    Review,
    StoredCall,
    User,
)
from monitor.store.records import record_from_rows
from monitor.store.schema import audit_log, calls, findings, flags
from monitor.store.schema import reviews as reviews_t
from monitor.store.store_qa import QaAgentStore

__all__ = ["Store"]

Clock = Callable[[], float]
Prefill = Mapping[str, Any] | None  # {item key: {"prefill": bool | None, "evidence": [...]}}


class Store(QaAgentStore):
    """Calls, findings, flags, reviews, users and the audit log over one SQLAlchemy engine.

    ``clock`` gives "now" for bookkeeping (stored_at, review times, sessions); call times
    always come from the CallRecord (event time).
    """

    def __init__(
        self, engine: Engine, hasher: PasswordHasher | None = None, clock: Clock = time.time
    ) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        self.clock = clock

    @classmethod
    def open(
        cls,
        url: str,
        hasher: PasswordHasher | None = None,
        clock: Clock = time.time,
        *,
        busy_timeout: float = 5.0,
    ) -> Store:
        """Connect to ``url`` (a SQLite path/URL or postgresql://...) and create the schema."""
        engine = make_engine(url, busy_timeout=busy_timeout)
        create_schema(engine)
        try:
            migrations.upgrade(engine, clock())
        except SQLAlchemyError as exc:
            raise StoreError(
                "cannot migrate the store at "
                f"{engine.url.render_as_string(hide_password=True)}: {exc}"
            ) from exc
        return cls(engine, hasher, clock)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def _tx(self, what: str) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except StoreError:
            raise
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(f"store: {what} failed: {type(exc).__name__}: {cause}") from exc

    # ---- calls ----------------------------------------------------------------------------
    def save_call(self, record: CallRecord) -> None:
        """Insert or replace the call keyed by ``call_id``, its findings and its flag.

        Idempotent: saving the same record again (a replay, a second collector) changes
        nothing. A flag, once raised, is kept with its review state.
        """
        with self._tx(f"saving call {record.call_id!r}") as conn:
            upsert_call(conn, record, self.clock())

    def add_finding(self, call_id: str, finding: Finding) -> bool:
        """Attach a finding that arrived after the call ended (a broken callback promise).

        Idempotent: a finding of the same rule is not added twice. Returns False when the call
        is not in the store (it may have been purged by retention).
        """
        stored = self.call(call_id)
        if stored is None:
            return False
        record = stored.record
        if any(f.rule == finding.rule for f in record.findings):
            return True
        self.save_call(replace(record, findings=(*record.findings, finding)))
        return True

    def save_calls(self, records: Sequence[CallRecord]) -> None:
        for rec in records:
            self.save_call(rec)

    def call(self, call_id: str) -> StoredCall | None:
        """The call with its findings, flag and every review (oldest first), or None."""
        with self._tx(f"reading call {call_id!r}") as conn:
            row = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().first()
            if row is None:
                return None
            frows = (
                conn.execute(select(findings).where(findings.c.call_id == call_id)).mappings().all()
            )
            flag = conn.execute(select(flags).where(flags.c.call_id == call_id)).mappings().first()
            rrows = (
                conn.execute(
                    select(reviews_t).where(reviews_t.c.call_id == call_id).order_by(reviews_t.c.id)
                )
                .mappings()
                .all()
            )
        info = None
        if flag is not None:
            info = FlagInfo(
                status=flag["status"],
                severity=flag["severity"],
                rules=tuple(x for x in flag["rules"].split(",") if x),
                claimed_by=flag["claimed_by"],
                claimed_at=flag["claimed_at"],
                created_at=flag["created_at"],
            )
        return StoredCall(
            record=record_from_rows(row, frows),
            flag=info,
            reviews=tuple(reviews.review_from_row(r) for r in rrows),
        )

    def list_calls(
        self,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CallRecord]:
        """Calls newest first (with findings), for the JSON API."""
        if not 1 <= limit <= 1000:
            raise StoreError(f"limit must be 1..1000, got {limit}")
        stmt = select(calls)
        if since is not None:
            stmt = stmt.where(calls.c.started_at >= since)
        if until is not None:
            stmt = stmt.where(calls.c.started_at < until)
        stmt = stmt.order_by(calls.c.started_at.desc(), calls.c.call_id).limit(limit)
        with self._tx("listing calls") as conn:
            rows = conn.execute(stmt.offset(max(0, offset))).mappings().all()
            ids = [r["call_id"] for r in rows]
            by_call: dict[str, list[Mapping[Any, Any]]] = {}
            if ids:
                for f in conn.execute(
                    select(findings).where(findings.c.call_id.in_(ids))
                ).mappings():
                    by_call.setdefault(f["call_id"], []).append(f)
        return [record_from_rows(r, by_call.get(r["call_id"], [])) for r in rows]

    def count_calls(self) -> int:
        with self._tx("counting calls") as conn:
            return int(conn.execute(select(func.count()).select_from(calls)).scalar_one())

    def purge(self, older_than_days: float) -> int:
        """Delete calls started more than N days ago, with their findings and closed flags.

        Never deletes a call with an open or claimed flag, or any review. Returns the count.
        """
        if older_than_days <= 0:
            raise StoreError(f"retention must be a positive number of days, got {older_than_days}")
        cutoff = self.clock() - older_than_days * 86400.0
        busy = select(flags.c.call_id).where(flags.c.status.in_(("open", "claimed")))
        reviewed = select(reviews_t.c.call_id)
        doomed = (
            select(calls.c.call_id)
            .where(calls.c.started_at < cutoff)
            .where(calls.c.call_id.not_in(busy))
            .where(calls.c.call_id.not_in(reviewed))
        )
        total = 0
        while True:
            with self._tx("purging old calls") as conn:
                ids = [r[0] for r in conn.execute(doomed.limit(1000))]
                if not ids:
                    break
                conn.execute(delete(findings).where(findings.c.call_id.in_(ids)))
                conn.execute(delete(flags).where(flags.c.call_id.in_(ids)))
                conn.execute(delete(calls).where(calls.c.call_id.in_(ids)))
                total += len(ids)
        if total:
            self.audit("system", "purge", None, {"calls": total, "days": older_than_days})
        return total

    # ---- the QA queue and reviews --------------------------------------------------------
    def flagged(
        self,
        filters: FlagFilter | None = None,
        sort: str = "-started_at",
        page: int = 1,
        per_page: int = 50,
    ) -> Page:
        with self._tx("reading the flagged-calls queue") as conn:
            return queue.flagged_page(conn, filters or FlagFilter(), sort, page, per_page)

    def claim(self, call_id: str, user: str, prefill: Prefill = None) -> Review:
        """Claim a flagged call; the draft's checklist starts from ``prefill``."""
        with self._tx(f"claiming call {call_id!r}") as conn:
            return reviews.claim(conn, call_id, user, self.clock(), prefill)

    def submit_review(
        self,
        call_id: str,
        user: str,
        disposition: str,
        checklist: Mapping[str, bool | None],
        notes: str,
        reasons: Mapping[str, str] | None = None,
        prefill: Prefill = None,
    ) -> Review:
        """Close the user's review or calibration score (overrides need ``reasons``)."""
        with self._tx(f"submitting the review of {call_id!r}") as conn:
            return reviews.submit_review(
                conn, call_id, user, disposition, checklist, notes, self.clock(), reasons, prefill
            )

    def reopen(self, call_id: str, user: str, reason: str, prefill: Prefill = None) -> Review:
        with self._tx(f"re-opening the review of {call_id!r}") as conn:
            return reviews.reopen(conn, call_id, user, reason, self.clock(), prefill)

    def calibrate(self, call_id: str, user: str, prefill: Prefill = None) -> Review:
        """Start ``user``'s calibration score of the call's closed review (audited)."""
        with self._tx(f"starting a calibration of {call_id!r}") as conn:
            return calibration.start_calibration(conn, call_id, user, self.clock(), prefill)

    def calibrations(
        self, limit: int = 200, viewer: str | None = None
    ) -> list[tuple[Review, tuple[Review, ...]]]:
        """Closed reviews with their closed calibration scores, newest first (without those
        ``viewer`` is still scoring blind)."""
        with self._tx("reading calibrations") as conn:
            return calibration.calibration_sets(conn, limit, viewer)

    def release(self, call_id: str, admin: str, reason: str = "") -> None:
        """Put a claimed call back in the open queue (an admin; audited)."""
        with self._tx(f"releasing call {call_id!r}") as conn:
            reviews.release(conn, call_id, admin, reason, self.clock())

    def assign(self, call_id: str, admin: str, to: str) -> None:
        """Hand a claimed call to another qa/admin user (an admin; audited)."""
        with self._tx(f"reassigning call {call_id!r}") as conn:
            reviews.assign(conn, call_id, admin, to, self.clock())

    def findings_for(
        self, rule: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        if not 1 <= limit <= 1000:
            raise StoreError(f"limit must be 1..1000, got {limit}")
        stmt = select(findings).order_by(findings.c.id.desc()).limit(limit).offset(max(0, offset))
        if rule:
            stmt = stmt.where(findings.c.rule == rule)
        with self._tx("listing findings") as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    # ---- users and sessions ----------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str, agent: str | None = None) -> User:
        """Add a user; an ``agent`` login names the agent it is (``calls.agent``)."""
        with self._tx(f"adding user {name!r}") as conn:
            user = users.add_user(conn, self.hasher, name, role, password, self.clock())
            agent_reviews.link_agent(conn, name, role, agent, self.clock())
            detail = {"name": name, "role": role} | ({"agent": agent.strip()} if agent else {})
            reviews.write_audit(conn, self.clock(), "system", "user_add", None, detail)
            return user

    def set_password(self, name: str, password: str, actor: str = "system") -> int:
        """Set a new password and end every session of ``name`` (audited); returns the
        number of sessions ended."""
        with self._tx(f"setting the password of {name!r}") as conn:
            users.set_password(conn, self.hasher, name, password)
            ended = users.end_sessions(conn, name)
            reviews.write_audit(
                conn, self.clock(), actor, "user_passwd", None, {"name": name, "sessions": ended}
            )
            return ended

    def set_disabled(self, name: str, disabled: bool, actor: str = "system") -> int:
        """Disable (ending its sessions) or enable ``name`` (audited)."""
        action = "user_disable" if disabled else "user_enable"
        with self._tx(f"{action.split('_')[1]} user {name!r}") as conn:
            ended = users.set_disabled(conn, name, disabled)
            reviews.write_audit(
                conn, self.clock(), actor, action, None, {"name": name, "sessions": ended}
            )
            return ended

    def delete_user(self, name: str, actor: str = "system") -> int:
        """Delete ``name`` and end its sessions (audited); reviews keep the name."""
        with self._tx(f"deleting user {name!r}") as conn:
            ended = users.delete_user(conn, name)
            reviews.write_audit(
                conn, self.clock(), actor, "user_delete", None, {"name": name, "sessions": ended}
            )
            return ended

    def add_kiosk(self, name: str, actor: str = "system") -> str:
        """A read-only wall-screen sign-in (monitor/store/kiosks.py); returns its token."""
        with self._tx(f"adding kiosk {name!r}") as conn:
            token = kiosks.add_kiosk(conn, self.hasher, name, self.clock())
            reviews.write_audit(conn, self.clock(), actor, "kiosk_add", None, {"name": name})
            return token

    def kiosks(self) -> list[User]:
        with self._tx("listing kiosks") as conn:
            return kiosks.list_kiosks(conn)

    def revoke_kiosk(self, name: str, actor: str = "system") -> int:
        with self._tx(f"revoking kiosk {name!r}") as conn:
            ended = kiosks.revoke_kiosk(conn, name)
            reviews.write_audit(
                conn, self.clock(), actor, "kiosk_revoke", None, {"name": name, "sessions": ended}
            )
            return ended

    def users(self) -> list[User]:
        with self._tx("listing users") as conn:
            return users.list_users(conn)

    def authenticate(self, name: str, password: str) -> User | None:
        with self._tx("checking a login") as conn:
            return users.check_password(conn, self.hasher, name, password)

    def create_session(self, name: str, ttl_seconds: float) -> tuple[str, str]:
        with self._tx("creating a session") as conn:
            return users.create_session(conn, name, self.clock(), ttl_seconds)

    def session(self, token: str) -> tuple[User, str] | None:
        with self._tx("reading a session") as conn:
            return users.lookup_session(conn, token, self.clock())

    def end_session(self, token: str) -> None:
        with self._tx("ending a session") as conn:
            users.drop_session(conn, token)

    # ---- audit, promises, export ---------------------------------------------------------
    def audit(
        self,
        actor: str,
        action: str,
        call_id: str | None = None,
        detail: Mapping[Any, Any] | None = None,
    ) -> None:
        with self._tx(f"writing audit entry {action!r}") as conn:
            reviews.write_audit(conn, self.clock(), actor, action, call_id, detail)

    def audit_entries(self, call_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
        stmt = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if call_id is not None:
            stmt = stmt.where(audit_log.c.call_id == call_id)
        with self._tx("reading the audit log") as conn:
            return [
                AuditEntry(
                    id=r["id"],
                    at=r["at"],
                    actor=r["actor"],
                    action=r["action"],
                    call_id=r["call_id"],
                    detail=dict(r["detail"] or {}),
                )
                for r in conn.execute(stmt).mappings()
            ]

    def promises(self, view: str, now: float | None = None) -> list[PromiseRow]:
        """Callback promises in ``view`` for the web page; [] when the ledger is absent."""
        return promises.read_promises(self.engine, view, self.clock() if now is None else now)

    def cancel_promise(self, promise_id: str, user: str, reason: str) -> None:
        """Cancel an open promise (raises PromiseError when it is not open), and audit it."""
        now = self.clock()
        promises.cancel_promise(self.engine, promise_id, reason, now, f"web:{user}")
        self.audit(
            user, "promise_cancel", None, {"promise_id": promise_id, "reason": reason.strip()}
        )

    def export_calls_csv(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[str]:
        return export.iter_calls_csv(self.engine, since, until)

    def export_findings_csv(
        self,
        since: float | None = None,
        until: float | None = None,
        units: Mapping[str, str] | None = None,
    ) -> Iterator[str]:
        """``units``: rule id -> unit of its values (rounding and the ``unit`` column)."""
        return export.iter_findings_csv(self.engine, since, until, units=units)
