"""``ringwatch simulate``: run the AMI simulator as a server, or write a transcript."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.errors import InputError

if TYPE_CHECKING:
    from monitor.simulator import ContactCentre, ServerConfig

__all__ = ["parse_duration", "parse_listen", "register"]

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h``, ``2h30m`` → seconds."""
    match = _DURATION.match(text.strip())
    if not match or not text.strip() or not any(match.groups()):
        raise InputError(f"duration {text!r} is not understood; write e.g. 90s, 15m, 1h or 2h30m")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) → (host, port)."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(f"--listen {text!r} must be HOST:PORT, e.g. 127.0.0.1:5038")
    return host, int(port)


def _parse_start(text: str | None, default: float) -> float:
    if not text:
        return default
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--start {text!r} must be an ISO time, e.g. 2026-01-05T08:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


@click.command("simulate")
@click.option("--listen", default="127.0.0.1:5038", show_default=True, help="HOST:PORT to bind.")
@click.option("--seed", type=int, default=None, help="Random seed (default: scenario's, or 1).")
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Virtual seconds per real second (60 = an hour a minute).",
)
@click.option(
    "--asterisk",
    "asterisk",
    type=click.Choice(["16", "18", "20", "21", "22"]),
    default="22",
    show_default=True,
    help="Asterisk major version to imitate.",
)
@click.option("--username", default="ringwatch", show_default=True, help="AMI user to accept.")
@click.option(
    "--secret",
    envvar="RINGWATCH_SIM_SECRET",
    default=None,
    help="AMI secret to accept (or env RINGWATCH_SIM_SECRET).",
)
@click.option(
    "--timestamps/--no-timestamps",
    default=True,
    show_default=True,
    help="Add Timestamp headers to events (timestampevents=yes).",
)
@click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Contact-centre scenario YAML (docs/simulator.md); default: the demo centre.",
)
@click.option(
    "--transcript",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write a transcript of pure AMI blocks here instead of serving.",
)
@click.option(
    "--duration",
    default="1h",
    show_default=True,
    help="Virtual time to simulate with --transcript (e.g. 90s, 15m, 1h).",
)
@click.option(
    "--start",
    default=None,
    help="Virtual start time, ISO 8601 (default: 2026-01-01T09:00Z for transcripts, "
    "now for the server).",
)
@click.option("--run-for", default=None, help="Stop the server after this real time (e.g. 10m).")
@click.option(
    "--recordings",
    "recordings",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write each answered call's recording (stereo WAV) under this directory.",
)
@click.option(
    "--keep-recordings",
    type=click.IntRange(1),
    default=None,
    help="Keep only the newest N recordings (default: all).",
)
def simulate(
    listen: str,
    seed: int | None,
    speed: float,
    asterisk: str,
    username: str,
    secret: str | None,
    timestamps: bool,
    scenario: Path | None,
    transcript: Path | None,
    duration: str,
    start: str | None,
    run_for: str | None,
    recordings: Path | None,
    keep_recordings: int | None,
) -> None:
    """Run a simulated Asterisk PBX (AMI) for a configurable contact centre."""
    from monitor.simulator import (
        DEFAULT_START,
        ContactCentre,
        ServerConfig,
        default_config,
        load_scenario,
    )

    config, file_seed = default_config(), None
    if scenario is not None:
        loaded = load_scenario(scenario)
        config, file_seed = loaded.config, loaded.seed
    use_seed = seed if seed is not None else (file_seed if file_seed is not None else 1)
    if transcript is not None:
        from monitor.simulator import write_transcript

        seconds = parse_duration(duration)
        engine = ContactCentre(config, seed=use_seed, start=_parse_start(start, DEFAULT_START))
        try:
            with transcript.open("wb") as out:
                count = write_transcript(engine, seconds, out, timestamps=timestamps)
        except OSError as exc:
            raise InputError(f"cannot write transcript {transcript}: {exc.strerror}") from exc
        calls = len(engine.truth)
        click.echo(f"wrote {count} events ({calls} calls, {seconds:g} s) to {transcript}", err=True)
        return
    if speed <= 0:
        raise InputError("--speed must be greater than 0 (virtual seconds per real second)")
    if not secret:
        raise InputError("set the AMI secret with --secret or the RINGWATCH_SIM_SECRET variable")
    host, port = parse_listen(listen)
    engine = ContactCentre(
        config,
        seed=use_seed,
        start=_parse_start(start, float(int(time.time()))),
        recordings_dir=recordings,
    )
    limit = parse_duration(run_for) if run_for else None
    server = ServerConfig(
        host, port, int(asterisk), username, secret, timestamps, keep_recordings=keep_recordings
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(engine, server, speed, limit))


async def _serve(
    engine: ContactCentre, config: ServerConfig, speed: float, limit: float | None
) -> None:
    from monitor.simulator import SimulatorServer

    host, port = config.host, config.port
    server = SimulatorServer(engine, config)
    try:
        await server.start()
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    print(
        f"ringwatch simulator (Asterisk {server.version.full}) listening on {host}:{server.port}"
        f", speed {speed:g}x",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    if limit is not None:
        asyncio.get_running_loop().call_later(limit, stop.set)
    try:
        await server.run_clock(speed, stop)
    finally:
        await server.stop()


def register(group: click.Group) -> None:
    group.add_command(simulate)
