"""``ringwatch`` entry point: one click group whose commands load on demand.

``COMMANDS`` names, for each command, the feature module that adds it (the module exposes
``register(group)``) and the one-line help ``ringwatch --help`` lists. A module is imported only
when its command runs (or shows its own help): ``ringwatch replay`` never loads the web tier, and
``ringwatch --help`` loads no feature module. To add a command, add its line here;
tests/monitor/cli/test_main_lazy.py checks that the line agrees with the command.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import NamedTuple

import click

from monitor import __version__
from monitor.errors import RingwatchError

__all__ = ["COMMANDS", "Command", "cli", "main"]


class Command(NamedTuple):
    module: str  # has ``def register(group: click.Group) -> None``
    help: str  # the first sentence of the command's own help


COMMANDS: dict[str, Command] = {
    "run": Command(
        "monitor.cli.run_cmd",
        "Run the service: collect from every PBX, evaluate, serve the web UI and /metrics.",
    ),
    "demo": Command(
        "monitor.cli.run_cmd",
        "Run ringwatch against its built-in PBX simulator, with everything on loopback.",
    ),
    "replay": Command(
        "monitor.cli.replay_cmd",
        "Replay recorded AMI transcripts (.ami/.txt, optionally .gz) and print call records.",
    ),
    "import": Command(
        "monitor.cli.import_cmd",
        "Import past calls (AMI transcripts or queue_log, plain or .gz) into the store.",
    ),
    "report": Command(
        "monitor.cli.report_cmd",
        "Standards report: target, actual, variance and trend per interval and breakdown.",
    ),
    "report-mail": Command(
        "monitor.cli.report_cmd",
        "Mail the daily (yesterday) or weekly (last week) report now, PDF attached.",
    ),
    "report-schedule": Command(
        "monitor.cli.report_cmd",
        "Run until stopped, mailing the daily and weekly reports at their times.",
    ),
    "simulate": Command(
        "monitor.cli.simulate_cmd",
        "Run a simulated Asterisk PBX (AMI) for a configurable contact centre.",
    ),
    "rules": Command(
        "monitor.cli.rules_cmd", "Validate and test the phone standards in rules/*.yml."
    ),
    "alerts": Command(
        "monitor.cli.alerts_cmd", "Prometheus alert rules generated from the standards."
    ),
    "dashboards": Command(
        "monitor.cli.dashboards_cmd", "Grafana dashboards: build the JSON, push it to a Grafana."
    ),
    "audio": Command("monitor.cli.audio_cmd", "Analyse call recordings (needs ringwatch[audio])."),
    "promises": Command(
        "monitor.cli.promises_cmd", "Callback promises: list, add, cancel and show."
    ),
    "users": Command(
        "monitor.cli.users_cmd", "Manage the web users (roles: supervisor, qa, admin, agent)."
    ),
}


class LazyGroup(click.Group):
    """A group that imports a command's module when the command is first looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        loaded = click.Group()
        importlib.import_module(COMMANDS[cmd_name].module).register(loaded)
        for name, command in loaded.commands.items():  # a module may add several commands
            self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, click.Command(name, help=COMMANDS[name].help).get_short_help_str(limit))
            if name in COMMANDS
            else (name, self.commands[name].get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ringwatch")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """ringwatch: measure a contact centre against its phone standards."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; RingwatchError becomes ``ringwatch: error: ...`` and exit code 2."""
    try:
        cli.main(args=argv, prog_name="ringwatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except RingwatchError as exc:
        click.echo(f"ringwatch: error: {exc}", err=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
