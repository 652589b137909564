"""A store of simulated history for the report tests: six hours of the demo centre across
midnight (two days), imported with the house standards, and the records read back."""

from __future__ import annotations

from pathlib import Path

from monitor.config import Config, build_config
from monitor.history.wiring import build_importer
from monitor.record import CallRecord
from monitor.rules import RuleSet, load_rules
from monitor.simulator import ContactCentre, default_config, write_transcript
from monitor.store.store import Store

ROOT = Path(__file__).parents[1]
START = 1767646800.0  # 2026-01-05T21:00:00Z, a Monday evening in London (UTC in winter)


def report_config(db: Path) -> Config:
    return build_config(
        {"site": {"country": "GB", "timezone": "Europe/London"}, "store": {"url": str(db)},
         "pbx": [{"name": "main"}]}
    )  # fmt: skip


def simulated_store(tmp: Path, hours: float = 6.0, seed: int = 11) -> tuple[Store, RuleSet]:
    transcript = tmp / "history.ami"
    engine = ContactCentre(default_config(), seed=seed, start=START)
    with transcript.open("wb") as out:
        write_transcript(engine, hours * 3600.0, out)
    cfg = report_config(tmp / "report.sqlite")
    store = Store.open(cfg.store_url)
    rules = load_rules(ROOT / "rules")
    build_importer(cfg, store, rules).run([transcript])
    return store, rules


def all_records(store: Store) -> list[CallRecord]:
    out: list[CallRecord] = []
    while True:
        page = store.list_calls(limit=1000, offset=len(out))
        out += page
        if len(page) < 1000:
            return out
