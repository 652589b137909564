"""``ringwatch replay FILE...``: transcripts in, call records out (table, jsonl or csv).

The pipeline, rules and configuration are imported when the command runs (``--help`` stays
quick); nothing here imports the web tier or the store."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.record import CallRecord
    from monitor.replay import ReplayStats
    from monitor.rules import RuleSet
    from monitor.tracker import TrackerSettings

__all__ = ["register"]

_TABLE_COLS = (
    ("call_id", 20),
    ("direction", 9),
    ("caller", 14),
    ("queue", 10),
    ("agent", 14),
    ("outcome", 10),
    ("rings", 5),
    ("ring_seconds", 8),
    ("queue_wait_seconds", 8),
    ("talk_seconds", 8),
    ("hold_seconds", 7),
    ("findings", 8),
)
_PROGRESS_MIN_BYTES = 8 << 20


class _Progress:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if total < _PROGRESS_MIN_BYTES:
            return
        pct = int(done * 100 / total)
        if pct == self.last:
            return
        self.last = pct
        bar = "#" * (pct // 4)
        end = "\n" if pct >= 100 else ""
        if self.stream.isatty():
            self.stream.write(f"\rreplay [{bar:<25}] {pct:3d}% {done >> 20}/{total >> 20} MiB{end}")
        elif pct % 10 == 0:
            self.stream.write(f"replay: {pct}% ({done >> 20}/{total >> 20} MiB)\n")
        self.stream.flush()


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return str(len(value))
    return str(value)


def write_records(records: Iterable[CallRecord], fmt: str, out: TextIO) -> None:
    """Write records as they come (a replay streams: nothing is held in memory)."""
    from monitor.record import CONTRACT_FIELDS

    if fmt == "jsonl":
        for r in records:
            out.write(json.dumps(r.to_contract(), separators=(",", ":")) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(CONTRACT_FIELDS))
        writer.writeheader()
        for r in records:
            row = r.to_contract()
            row["findings"] = ";".join(f["rule"] for f in row["findings"])
            writer.writerow(row)
    else:
        out.write(" ".join(f"{name[:w]:<{w}}" for name, w in _TABLE_COLS) + "\n")
        for r in records:
            row = r.to_contract()
            out.write(" ".join(f"{_cell(row[name])[:w]:<{w}}" for name, w in _TABLE_COLS) + "\n")


def tracker_settings(cfg: Config, pbx: str | None = None) -> TrackerSettings:
    from monitor.tracker import TrackerSettings

    first = cfg.pbxs[0]
    return TrackerSettings(
        pbx=pbx or first.name,
        cadence_seconds=cfg.cadence_seconds,
        inbound_contexts=first.inbound_contexts,
        internal_contexts=first.internal_contexts,
        outside_min_digits=cfg.outside_min_digits,
        stale_after_seconds=cfg.stale_after_seconds,
        agent_devices=cfg.agent_devices,
    )


def replay_records(
    files: list[Path],
    cfg: Config,
    rules_dir: Path | None,
    pbx: str | None,
    stats: ReplayStats,
    ruleset: RuleSet | None = None,
) -> Iterator[CallRecord]:
    """Replay ``files`` with ``ruleset``, else the rules of ``rules_dir`` (none: calls without
    findings)."""
    from monitor.pipeline import Pipeline
    from monitor.replay import replay
    from monitor.rules import Site, load_rules
    from monitor.tracker import Tracker

    if ruleset is None and rules_dir is not None:
        ruleset = load_rules(rules_dir)
    pipeline = Pipeline(
        Tracker(tracker_settings(cfg, pbx)), ruleset, site=Site(cfg.country.lower())
    )
    return replay(files, stats=stats, progress=_Progress(sys.stderr), pipeline=pipeline)


def register(group: click.Group) -> None:
    @group.command("replay")
    @click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "jsonl", "csv"]),
        default="table",
        show_default=True,
    )
    @click.option("--config", "config_path", type=click.Path(path_type=Path), default=None)
    @click.option("--pbx", default=None, help="PBX name to put in the records.")
    @click.option(
        "--rules",
        type=click.Path(path_type=Path),
        default=None,
        help="Rules directory (default: rules.dir of the config, ./rules).",
    )
    @click.option("--no-rules", is_flag=True, help="Print calls without evaluating standards.")
    def replay_cmd(
        files: tuple[Path, ...],
        fmt: str,
        config_path: Path | None,
        pbx: str | None,
        rules: Path | None,
        no_rules: bool,
    ) -> None:
        """Replay recorded AMI transcripts (.ami/.txt, optionally .gz) and print call records.

        Files are streamed and merged by event time; '-' reads standard input. Records are
        printed as calls end; a summary line goes to stderr.
        """
        from monitor.config import load_config
        from monitor.replay import ReplayStats
        from monitor.rules import load_rules
        from monitor.rules.seed import SEED_RULES

        cfg = load_config(config_path)
        rules_dir: Path | None
        if no_rules:
            rules_dir, why = None, "none (--no-rules)"
        elif rules is not None:
            rules_dir, why = rules, "--rules"
        elif cfg.rules_dir.is_dir():
            rules_dir, why = cfg.rules_dir, "rules.dir" if cfg.source else "./rules"
        else:
            rules_dir = SEED_RULES
            why = (
                f"the seed standards shipped with ringwatch (no rules directory at {cfg.rules_dir})"
            )
        ruleset = load_rules(rules_dir) if rules_dir is not None else None
        stats = ReplayStats()
        records = replay_records(list(files), cfg, rules_dir, pbx, stats, ruleset)
        write_records(records, fmt, sys.stdout)
        click.echo(f"ringwatch replay: {stats.summary()}", err=True)
        from monitor import native

        if native.degraded():  # slower than this install could be: say so and why
            click.echo(f"ringwatch replay: warning: {native.summary()}", err=True)
        if ruleset is None:
            click.echo(f"ringwatch replay: rules: {why}: no findings", err=True)
        else:
            count = len(ruleset.rules)
            click.echo(f"ringwatch replay: rules: {rules_dir} ({count} rules; {why})", err=True)
