"""Scheduled reports: sent to a real SMTP server (aiosmtpd on 127.0.0.1) over STARTTLS with
login, PDF attached; the schedule's times and periods; clear errors."""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from report_testkit import START

from monitor.cli.main import main
from monitor.errors import ConfigError, InputError
from monitor.reports.mail import load_mail_settings, mail_report
from monitor.reports.schedule import Job, due_jobs, next_run, period_before, run_schedule

LONDON = ZoneInfo("Europe/London")
USER, SECRET = "ringwatch", "s3cret-pass"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message, bool, str | None]] = []
        self.got = threading.Event()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        msg = email.message_from_bytes(envelope.content)  # type: ignore[arg-type]
        user = None if session.auth_data is None else session.auth_data.login.decode()
        self.messages.append((envelope, msg, session.ssl is not None, user))
        self.got.set()
        return "250 OK"


def _auth(
    server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        SECRET.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "smtp.crt", d / "smtp.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return crt, key


@pytest.fixture
def smtp(cert: tuple[Path, Path]) -> Iterator[tuple[int, _Inbox]]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd 1.4 needs its port up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        auth_require_tls=True,
        auth_required=True,
        authenticator=_auth,
    )
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def _mail_yml(tmp: Path, port: int, ca: Path, **extra: str) -> Path:
    path = tmp / "reports-mail.yml"
    lines = [
        "smtp:",
        "  host: 127.0.0.1",
        f"  port: {port}",
        f"  username: {USER}",
        "  password_env: TEST_SMTP_PASSWORD",
        f"  ca_file: {ca}",
        "  timeout: 10",
        "from: ringwatch@example.com",
        "to: [sup@example.com, qa@example.com]",
        'daily: "07:00"',
        'weekly: "mon 07:30"',
        "breakdown: queue",
    ]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_daily_report_is_mailed_over_starttls_with_login_and_the_pdf(
    smtp: tuple[int, _Inbox],
    cert: tuple[Path, Path],
    history: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SECRET)
    port, inbox = smtp
    settings = load_mail_settings(_mail_yml(tmp_path, port, cert[0]))
    store, rules = history
    run_at = datetime(2026, 1, 6, 7, 0, tzinfo=LONDON).timestamp()
    title = mail_report(store.engine, rules, "Europe/London", settings, "daily", run_at)
    assert title == "daily report 2026-01-05"
    assert inbox.got.wait(10)
    envelope, msg, tls, user = inbox.messages[0]
    assert tls and user == USER  # STARTTLS before the login, the login accepted
    assert envelope.rcpt_tos == ["sup@example.com", "qa@example.com"]
    assert msg["Subject"] == "ringwatch: daily report 2026-01-05"
    parts = {p.get_content_type(): p for p in msg.walk()}
    pdf = parts["application/pdf"].get_payload(decode=True)
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF-1.4") and b"%%EOF" in pdf[-10:]
    body = parts["text/plain"].get_payload(decode=True)
    assert isinstance(body, bytes) and b"standards report 2026-01-05T00:00:00.000Z" in body


def test_a_wrong_password_is_a_clear_error(
    smtp: tuple[int, _Inbox],
    cert: tuple[Path, Path],
    history: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    port, inbox = smtp
    store, _ = history
    code = main(
        [
            "report-mail",
            "--mail-config",
            str(_mail_yml(tmp_path, port, cert[0])),
            "--store",
            str(store.engine.url.database),
            "--rules",
            str(Path(__file__).parents[3] / "rules"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "refused the login of 'ringwatch'" in err and SECRET not in err
    assert inbox.messages == []


def test_an_untrusted_certificate_is_refused(
    smtp: tuple[int, _Inbox], history: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SECRET)
    other = tmp_path / "other.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=x",
            "-keyout",
            str(tmp_path / "k"),
            "-out",
            str(other),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    settings = load_mail_settings(_mail_yml(tmp_path, smtp[0], other))
    store, rules = history
    with pytest.raises(InputError, match="TLS failed"):
        mail_report(store.engine, rules, "UTC", settings, "weekly", START + 7 * 86400)


def test_mail_settings_list_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("smtp: {port: 99999, colour: red}\nto: nobody\ndaily: '7am'\n")
    with pytest.raises(ConfigError) as err:
        load_mail_settings(bad, environ={})
    text = str(err.value)
    for needle in ("smtp.host", "smtp.port", "smtp.colour: unknown key", "to:", "from:", "daily:"):
        assert needle in text


def test_schedule_times_and_periods() -> None:
    daily, weekly = Job("daily", "07:00"), Job("weekly", "mon 07:30")
    sunday_noon = datetime(2026, 3, 29, 12, 0, tzinfo=LONDON).timestamp()  # BST starts 01:00 UTC
    assert datetime.fromtimestamp(next_run(daily, sunday_noon, LONDON), LONDON).isoformat() == (
        "2026-03-30T07:00:00+01:00"
    )
    monday = next_run(weekly, sunday_noon, LONDON)
    assert datetime.fromtimestamp(monday, LONDON).isoformat() == "2026-03-30T07:30:00+01:00"
    lo, hi, title = period_before(weekly, monday, LONDON)
    assert (hi - lo) == 7 * 86400 - 3600  # the week the clocks went forward is an hour short
    assert title == "weekly report 2026-03-23"
    lo, hi, title = period_before(daily, monday, LONDON)
    assert datetime.fromtimestamp(lo, UTC).isoformat() == "2026-03-29T00:00:00+00:00"
    # one send per job however long the loop slept
    due = due_jobs([daily, weekly], sunday_noon, sunday_noon + 3 * 86400, LONDON)
    assert [(j.kind, datetime.fromtimestamp(at, LONDON).day) for j, at in due] == [
        ("daily", 1),
        ("weekly", 30),
    ]


def test_the_schedule_loop_sends_when_due_and_stops() -> None:
    times = iter([0.0, 3600.0, 90_000.0])
    stop = threading.Event()
    sent: list[tuple[str, float]] = []

    def clock() -> float:
        try:
            return next(times)
        except StopIteration:
            stop.set()
            return 90_000.0

    run_schedule(
        [Job("daily", "07:00")],
        ZoneInfo("UTC"),
        lambda j, at: sent.append((j.kind, at)),
        clock,
        stop,
        poll_seconds=0.0,
    )
    assert sent == [("daily", 25_200.0)]
