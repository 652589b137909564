"""``ringwatch`` entry point: one click group; each feature adds its commands from its own
module listed in ``COMMAND_MODULES`` (each module exposes ``register(group)``)."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from monitor import __version__
from monitor.errors import RingwatchError

__all__ = ["COMMAND_MODULES", "cli", "main"]

# Feature modules that add commands. Each has ``def register(group: click.Group) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "monitor.cli.users_cmd",
    "monitor.cli.audio_cmd",
    "monitor.cli.replay_cmd",
    "monitor.cli.import_cmd",
    "monitor.cli.report_cmd",
    "monitor.cli.run_cmd",
    "monitor.cli.alerts_cmd",
    "monitor.cli.dashboards_cmd",
    "monitor.cli.rules_cmd",
    "monitor.cli.promises_cmd",
    "monitor.cli.simulate_cmd",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ringwatch")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """ringwatch: measure a contact centre against its phone standards."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(cli)


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
