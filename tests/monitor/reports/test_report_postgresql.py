"""The same history imported into PostgreSQL gives the same report as SQLite (the rollup SQL
differs per dialect: floor() against CAST)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_testkit import START, all_records, report_config

from monitor.history.wiring import build_importer
from monitor.reports.query import ReportRequest, build_report
from monitor.store.store import Store


def test_postgresql_report_equals_sqlite(history: Any, pg_cluster: Any, tmp_path: Path) -> None:
    sqlite_store, rules = history
    transcript = Path(str(sqlite_store.engine.url.database)).parent / "history.ami"
    name = pg_cluster.create_db()
    try:
        pg = Store.open(pg_cluster.url(name))
        cfg = report_config(tmp_path / "unused.sqlite")
        build_importer(cfg, pg, rules).run([transcript])
        assert len(all_records(pg)) == len(all_records(sqlite_store))
        for interval, breakdown in (("day", "queue"), ("hour", "none"), ("month", "weekday")):
            req = ReportRequest(
                START - 3600, START + 8 * 3600, interval, breakdown, "Europe/London"
            )
            want = build_report(sqlite_store.engine, req, rules)
            got = build_report(pg.engine, req, rules)
            assert got == want, (interval, breakdown)
        # agents over whole local days: the daily per-agent rollups, built in each dialect
        midnight = START - 21 * 3600
        req = ReportRequest(midnight, midnight + 2 * 86400, "day", "agent", "Europe/London")
        assert build_report(pg.engine, req, rules) == build_report(sqlite_store.engine, req, rules)
        pg.close()
    finally:
        pg_cluster.drop_db(name)
