"""``ringwatch import FILE...``: AMI transcripts and Asterisk queue_log into the store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from monitor.cli.options import open_store, store_option

__all__ = ["register"]


def register(group: click.Group) -> None:
    @group.command("import")
    @click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
    @click.option("--config", "config_path", type=click.Path(path_type=Path), default=None)
    @store_option
    @click.option("--pbx", default=None, help="PBX name for the calls (default: the first).")
    @click.option(
        "--rules",
        type=click.Path(path_type=Path),
        default=None,
        help="Rules directory (default: rules.dir of the config, ./rules, else the seed "
        "standards shipped with ringwatch).",
    )
    @click.option("--no-rules", is_flag=True, help="Store calls without evaluating standards.")
    @click.option(
        "--restart", is_flag=True, help="Ignore checkpoints: read every file from its start."
    )
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @click.option(
        "--single-process",
        is_flag=True,
        help="Write to the store in this process too (by default a second process writes "
        "while this one reads: docs/import.md).",
    )
    def import_cmd(
        files: tuple[Path, ...],
        config_path: Path | None,
        store_url: str | None,
        pbx: str | None,
        rules: Path | None,
        no_rules: bool,
        restart: bool,
        quiet: bool,
        single_process: bool,
    ) -> None:
        """Import past calls (AMI transcripts or queue_log, plain or .gz) into the store.

        Files are streamed and merged by event time; calls, findings, flags and callback
        promises are evaluated on event time exactly as live. Importing a file twice adds
        nothing; after Ctrl-C the same command resumes (docs/import.md).
        """
        from monitor.config import load_config
        from monitor.history.progress import ProgressBar
        from monitor.history.wiring import build_importer
        from monitor.reports.rollup import refresh_rollups
        from monitor.rules import RuleSet, load_rules
        from monitor.rules.seed import SEED_RULES

        cfg = load_config(config_path)
        rules_dir = None if no_rules else (rules or cfg.rules_dir)
        if rules is None and rules_dir is not None and not rules_dir.is_dir():
            rules_dir = SEED_RULES  # as replay: the seed standards shipped with ringwatch
        ruleset: RuleSet | None = None
        if rules_dir is not None:
            ruleset = load_rules(rules_dir)
            click.echo(
                f"ringwatch import: rules: {rules_dir} ({len(ruleset.rules)} rules)", err=True
            )
        from monitor import native

        if native.degraded():  # slower than this install could be: say so and why
            click.echo(f"ringwatch import: warning: {native.summary()}", err=True)
        store = open_store(store_url, create=True, configured=cfg.store_url)
        try:
            bar = None if quiet else ProgressBar(sys.stderr)
            importer = build_importer(
                cfg,
                store,
                ruleset,
                pbx=pbx,
                progress=bar,
                restart=restart,
                writer_process=not single_process,
            )
            try:
                stats = importer.run(list(files))
            except KeyboardInterrupt:
                click.echo(
                    f"\nringwatch import: interrupted; {importer.stats.calls_new} new calls "
                    "stored and a checkpoint written. Run the same command again to resume.",
                    err=True,
                )
                raise click.exceptions.Exit(130) from None
            rolled = refresh_rollups(store.engine, agent_day_zone=cfg.timezone)
            if cfg.qa_sample_per_agent_per_week:  # the weeks imported get their QA samples
                from monitor.qa_sample import sample_now

                sampled = sample_now(store, cfg, history=True)
                click.echo(f"ringwatch import: {sampled} calls sampled for QA", err=True)
            click.echo(
                f"ringwatch import: {stats.summary()}; {rolled} report intervals updated", err=True
            )
        finally:
            store.close()
