"""``ringwatch report``: the standards report on the command line (table, CSV, JSON, PDF)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from monitor.cli.options import open_store, store_option

__all__ = ["register"]


def register(group: click.Group) -> None:
    register_mail(group)

    @group.command("report")
    @click.option("--from", "start", default=None, help="First day or time (default: 7 days ago).")
    @click.option("--to", "end", default=None, help="End, exclusive (default: today 00:00).")
    @click.option(
        "--interval",
        type=click.Choice(["15m", "hour", "day", "week", "month"]),
        default="day",
        show_default=True,
    )
    @click.option(
        "--breakdown",
        type=click.Choice(["none", "site", "pbx", "queue", "agent", "hour", "weekday"]),
        default="none",
        show_default=True,
    )
    @click.option("--queue", default=None)
    @click.option("--agent", default=None)
    @click.option("--pbx", default=None)
    @click.option(
        "--direction", default="inbound", show_default=True, help="or outbound, internal, all"
    )
    @click.option("--sl", default="20", show_default=True, help="Service level threshold, seconds.")
    @click.option("--short", default="5", show_default=True, help="Short abandon, seconds.")
    @click.option("--sites", default=None, help="PBX=SITE,... for the site breakdown.")
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "csv", "json", "pdf"]),
        default="table",
        show_default=True,
    )
    @click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
    @click.option("--config", "config_path", type=click.Path(path_type=Path), default=None)
    @store_option
    @click.option("--rules", type=click.Path(path_type=Path), default=None)
    def report_cmd(
        start: str | None,
        end: str | None,
        interval: str,
        breakdown: str,
        queue: str | None,
        agent: str | None,
        pbx: str | None,
        direction: str,
        sl: str,
        short: str,
        sites: str | None,
        fmt: str,
        output: Path | None,
        config_path: Path | None,
        store_url: str | None,
        rules: Path | None,
    ) -> None:
        """Standards report: target, actual, variance and trend per interval and breakdown.

        With offered/answered/abandoned, service level, ASA, waits, talk, hold, transfers,
        unanswered by cause and callbacks (docs/reports.md)."""
        from monitor.config import load_config
        from monitor.reports.params import request_from
        from monitor.reports.query import build_report
        from monitor.reports.render import report_csv, report_json, report_table
        from monitor.rules import RuleSet, load_rules

        cfg = load_config(config_path)
        params = {
            "from": start,
            "to": end,
            "interval": interval,
            "breakdown": breakdown,
            "queue": queue,
            "agent": agent,
            "pbx": pbx,
            "direction": direction,
            "sl": sl,
            "short": short,
            "sites": sites,
        }
        req = request_from(params, cfg.timezone)
        rules_dir = rules or cfg.rules_dir
        ruleset: RuleSet | None = load_rules(rules_dir) if rules_dir.is_dir() else None
        store = open_store(store_url, create=False, configured=cfg.store_url)
        try:
            report = build_report(store.engine, req, ruleset)
        finally:
            store.close()
        if fmt == "pdf":
            from monitor.reports.pdf import report_pdf

            data = report_pdf(report)
            if output is None:
                sys.stdout.buffer.write(data)
            else:
                output.write_bytes(data)
            return
        text = {"csv": lambda: "".join(report_csv(report)), "json": lambda: report_json(report)}
        out = text.get(fmt, lambda: report_table(report))()
        if output is None:
            sys.stdout.write(out)
        else:
            output.write_text(out, encoding="utf-8")


def _mail_context(
    config_path: Path | None, store_url: str | None, rules: Path | None
) -> tuple[object, object, str]:
    from monitor.config import load_config
    from monitor.rules import load_rules

    cfg = load_config(config_path)
    rules_dir = rules or cfg.rules_dir
    ruleset = load_rules(rules_dir) if rules_dir.is_dir() else None
    return open_store(store_url, create=False, configured=cfg.store_url), ruleset, cfg.timezone


def register_mail(group: click.Group) -> None:
    @group.command("report-mail")
    @click.option(
        "--mail-config",
        type=click.Path(path_type=Path),
        required=True,
        help="reports-mail.yml (docs/reports.md).",
    )
    @click.option(
        "--period", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True
    )
    @click.option("--config", "config_path", type=click.Path(path_type=Path), default=None)
    @store_option
    @click.option("--rules", type=click.Path(path_type=Path), default=None)
    def report_mail_cmd(
        mail_config: Path,
        period: str,
        config_path: Path | None,
        store_url: str | None,
        rules: Path | None,
    ) -> None:
        """Mail the daily (yesterday) or weekly (last week) report now, PDF attached.

        For cron; `report-schedule` sends them itself."""
        import time

        from monitor.reports.mail import load_mail_settings, mail_report

        settings = load_mail_settings(mail_config)
        store, ruleset, tz = _mail_context(config_path, store_url, rules)
        try:
            title = mail_report(store.engine, ruleset, tz, settings, period, time.time())  # type: ignore[attr-defined]
        finally:
            store.close()  # type: ignore[attr-defined]
        click.echo(
            f"ringwatch report-mail: sent {title} to {', '.join(settings.recipients)}", err=True
        )

    @group.command("report-schedule")
    @click.option("--mail-config", type=click.Path(path_type=Path), required=True)
    @click.option("--config", "config_path", type=click.Path(path_type=Path), default=None)
    @store_option
    @click.option("--rules", type=click.Path(path_type=Path), default=None)
    def report_schedule_cmd(
        mail_config: Path, config_path: Path | None, store_url: str | None, rules: Path | None
    ) -> None:
        """Run until stopped, mailing the daily and weekly reports at their times.

        The times are the mail config's, in the site's time zone. A failed send is logged and
        tried at the next run."""
        import logging
        import signal
        import threading
        import time
        from zoneinfo import ZoneInfo

        from monitor.errors import InputError
        from monitor.reports.mail import load_mail_settings, mail_report
        from monitor.reports.schedule import Job, run_schedule

        settings = load_mail_settings(mail_config)
        store, ruleset, tz = _mail_context(config_path, store_url, rules)
        jobs = [
            Job(k, at) for k, at in (("daily", settings.daily), ("weekly", settings.weekly)) if at
        ]
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        log = logging.getLogger("ringwatch.reports")

        def send(job: Job, at: float) -> None:
            try:
                title = mail_report(store.engine, ruleset, tz, settings, job.kind, at)  # type: ignore[attr-defined]
                log.warning("sent %s", title)
            except InputError as exc:
                log.error("report mail failed: %s", exc)

        click.echo(
            f"ringwatch report-schedule: {', '.join(f'{j.kind} at {j.at}' for j in jobs)} ({tz})",
            err=True,
        )
        try:
            run_schedule(jobs, ZoneInfo(tz), send, time.time, stop)
        finally:
            store.close()  # type: ignore[attr-defined]
