"""Scheduled reports by mail: settings (strictly validated YAML), the message (a text summary
with the PDF attached) and sending over SMTP with STARTTLS and login.

``reports-mail.yml``::

    smtp:
      host: smtp.example.com
      port: 587                    # STARTTLS port
      starttls: true               # default true; false only for a local relay
      username: ringwatch
      password_env: RINGWATCH_SMTP_PASSWORD   # or password_file: /run/secrets/smtp
      ca_file: /etc/ssl/certs/internal-ca.pem # optional, to trust a private CA
    from: ringwatch@example.com
    to: [supervisors@example.com, qa-lead@example.com]
    daily: "07:00"                 # the day before, by hour; omit to send none
    weekly: "mon 07:30"            # the week before (Monday to Sunday), by day
    breakdown: queue               # of both reports (default queue)
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import yaml

from monitor.config import Secret
from monitor.errors import ConfigError, InputError

__all__ = ["MailSettings", "build_message", "load_mail_settings", "send_message"]

_TOP = {"smtp", "from", "to", "daily", "weekly", "breakdown"}
_SMTP = {
    "host",
    "port",
    "starttls",
    "username",
    "password_env",
    "password_file",
    "ca_file",
    "timeout",
}


@dataclass(frozen=True)
class MailSettings:
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: Secret | None = None
    ca_file: Path | None = None
    timeout: float = 30.0
    daily: str | None = "07:00"
    weekly: str | None = "mon 07:30"
    breakdown: str = "queue"


def load_mail_settings(path: Path, environ: dict[str, str] | None = None) -> MailSettings:
    """Read and validate the mail settings; every problem listed with its key."""
    import os

    env = dict(os.environ) if environ is None else environ
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with smtp:, from: and to:")
    problems += [
        f"{k}: unknown key (allowed: {', '.join(sorted(_TOP))})" for k in raw if k not in _TOP
    ]
    smtp: dict[str, Any] = raw.get("smtp") or {}
    if not isinstance(smtp, dict):
        problems.append("smtp: expected a mapping (host:, port: ...)")
        smtp = {}
    problems += [
        f"smtp.{k}: unknown key (allowed: {', '.join(sorted(_SMTP))})"
        for k in smtp
        if k not in _SMTP
    ]
    host = smtp.get("host")
    if not isinstance(host, str) or not host:
        problems.append("smtp.host: give the SMTP server's host name")
    port = smtp.get("port", 587)
    if not isinstance(port, int) or not 0 < port < 65536:
        problems.append(f"smtp.port: {port!r} is not a TCP port (587 for STARTTLS)")
    recipients = raw.get("to")
    if isinstance(recipients, str):
        recipients = [recipients]
    if (
        not isinstance(recipients, list)
        or not recipients
        or not all("@" in str(r) for r in recipients)
    ):
        problems.append("to: give a list of mail addresses")
        recipients = []
    sender = raw.get("from")
    if not isinstance(sender, str) or "@" not in sender:
        problems.append("from: give the sender's mail address")
    password: Secret | None = None
    if "password_env" in smtp:
        value = env.get(str(smtp["password_env"]))
        if value is None:
            problems.append(
                f"smtp.password_env: environment variable {smtp['password_env']} is not set"
            )
        else:
            password = Secret(value)
    elif "password_file" in smtp:
        try:
            password = Secret(Path(str(smtp["password_file"])).read_text(encoding="utf-8").strip())
        except OSError as exc:
            problems.append(f"smtp.password_file: cannot read: {exc.strerror}")
    for key in ("daily", "weekly"):
        value = raw.get(key)
        if value is not None:
            from monitor.reports.schedule import parse_at

            try:
                parse_at(str(value), weekly=key == "weekly")
            except InputError as exc:
                problems.append(f"{key}: {exc}")
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s)", problems)
    ca = smtp.get("ca_file")
    return MailSettings(
        host=str(host),
        port=int(port),
        sender=str(sender),
        recipients=tuple(str(r) for r in recipients),
        starttls=bool(smtp.get("starttls", True)),
        username=None if smtp.get("username") is None else str(smtp["username"]),
        password=password,
        ca_file=None if ca is None else Path(str(ca)),
        timeout=float(smtp.get("timeout", 30.0)),
        daily=None if raw.get("daily") is None else str(raw["daily"]),
        weekly=None if raw.get("weekly") is None else str(raw["weekly"]),
        breakdown=str(raw.get("breakdown", "queue")),
    )


def build_message(
    settings: MailSettings, report: dict[str, Any], title: str, pdf: bytes
) -> EmailMessage:
    """The mail: a plain-text summary of the totals and the PDF attached."""
    from monitor.reports.render import report_table

    msg = EmailMessage()
    msg["Subject"] = f"ringwatch: {title}"
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.recipients)
    msg.set_content(f"{title}\n\n" + report_table({**report, "rows": []}))
    msg.add_attachment(
        pdf,
        maintype="application",
        subtype="pdf",
        filename=f"ringwatch-{title.replace(' ', '-')}.pdf",
    )
    return msg


def send_message(settings: MailSettings, msg: EmailMessage) -> None:
    """Send over SMTP: STARTTLS (certificate checked) before login. Raises InputError with
    what went wrong and what to check."""
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo()
            if settings.starttls:
                ctx = ssl.create_default_context(
                    cafile=None if settings.ca_file is None else str(settings.ca_file)
                )
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if settings.username is not None:
                if settings.password is None:
                    raise InputError(
                        f"SMTP {where}: a username needs password_env or password_file"
                    )
                smtp.login(settings.username, settings.password.reveal())
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise InputError(
            f"SMTP {where} refused the login of {settings.username!r} ({exc.smtp_code}); "
            "check the user and password"
        ) from None
    except ssl.SSLError as exc:
        raise InputError(
            f"SMTP {where}: TLS failed ({exc.reason}); check the server certificate or set "
            "smtp.ca_file"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise InputError(
            f"SMTP {where} does not offer STARTTLS; use a server that does (or starttls: false "
            "for a local relay)"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise InputError(f"SMTP {where}: sending failed: {exc}") from None


def mail_report(
    engine: Any, rules: Any, timezone: str, settings: MailSettings, kind: str, run_at: float
) -> str:
    """Build the daily or weekly report for the period before ``run_at``, with its PDF, and
    send it; returns the title."""
    from zoneinfo import ZoneInfo

    from monitor.reports.pdf import report_pdf
    from monitor.reports.query import ReportRequest, build_report
    from monitor.reports.schedule import Job, period_before

    at = settings.daily if kind == "daily" else settings.weekly
    job = Job(kind, at or ("07:00" if kind == "daily" else "mon 07:30"))
    start, end, title = period_before(job, run_at, ZoneInfo(timezone))
    req = ReportRequest(
        start, end, "hour" if kind == "daily" else "day", settings.breakdown, timezone
    )
    report = build_report(engine, req, rules)
    send_message(settings, build_message(settings, report, title, report_pdf(report)))
    return title
