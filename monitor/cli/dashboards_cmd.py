"""``ringwatch dashboards build | push``: Grafana dashboards as code."""

from __future__ import annotations

import json
from pathlib import Path

import click

from monitor.metrics.dashboards import Standards, build_dashboards, standards_from_rules
from monitor.metrics.grafana_push import load_dashboard_files, push_dashboards
from monitor.rules.loader import load_rules

__all__ = ["build_files", "register"]


def build_files(rules_dir: str | Path | None, out_dir: str | Path) -> list[Path]:
    """Write the dashboards (thresholds from the rules, if given) and return their paths."""
    standards = standards_from_rules(load_rules(rules_dir)) if rules_dir else Standards()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in build_dashboards(standards).items():
        path = out / name
        path.write_text(json.dumps(model, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


@click.group("dashboards")
def dashboards() -> None:
    """Grafana dashboards: build the JSON, push it to a Grafana."""


@dashboards.command("build")
@click.option(
    "--rules",
    "rules_dir",
    default="rules",
    show_default=True,
    type=click.Path(exists=True),
    help="Rules whose standards set the thresholds.",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    default="dashboards/grafana",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Directory for the dashboard JSON files.",
)
def build(rules_dir: str, out_dir: str) -> None:
    """Write the wallboard, QA and operations dashboards as JSON."""
    for path in build_files(rules_dir, out_dir):
        click.echo(f"wrote {path}")


@dashboards.command("push")
@click.option("--url", required=True, envvar="GRAFANA_URL", help="Grafana base URL.")
@click.option(
    "--token",
    envvar="GRAFANA_TOKEN",
    default="",
    help="Grafana service-account token (or env GRAFANA_TOKEN).",
)
@click.option(
    "--dir",
    "in_dir",
    default="dashboards/grafana",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Directory of dashboard JSON files.",
)
@click.option("--folder-uid", default=None, help="Grafana folder to put the dashboards in.")
def push(url: str, token: str, in_dir: str, folder_uid: str | None) -> None:
    """Create or update the dashboards in a Grafana (by uid, overwriting)."""
    results = push_dashboards(url, token, load_dashboard_files(in_dir), folder_uid=folder_uid)
    for r in results:
        click.echo(f"{r.status or 'ok'}: {r.uid} {r.title} {r.url}")


def register(group: click.Group) -> None:
    group.add_command(dashboards)
