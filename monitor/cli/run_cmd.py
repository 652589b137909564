"""``ringwatch run`` (the service) and ``ringwatch demo`` (the service against the built-in
PBX simulator, with embedded defaults: SQLite in the data directory, a demo user, loopback only).

The service, the simulator and the configuration are imported when a command runs, so
``ringwatch demo --help`` stays quick."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.options import check_store, resolve_store, store_option
from monitor.errors import InputError, StoreError
from monitor.paths import DATA_ENV, STORE_FILE, data_dir

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.service import Service
    from monitor.simulator import ContactCentre, SimulatorServer

__all__ = ["DEMO_AMI_PORT", "DEMO_WEB_PORT", "build_demo_config", "register", "run_demo"]

log = logging.getLogger(__name__)

DEMO_WEB_PORT = 8080
DEMO_AMI_PORT = 5038  # Asterisk's own AMI port
PORT_TRIES = 20  # a taken port moves the demo to the next free one of this many
REPO_RULES = Path(__file__).resolve().parents[2] / "rules"


async def _serve(service: Service, duration: float | None) -> None:
    stop = asyncio.Event()
    service.install_signals(stop)
    if duration is not None:
        asyncio.get_running_loop().call_later(duration, stop.set)
    await service.run(stop, on_ready=_say_where)


def _say_where(service: Service) -> None:
    """The web tier's address once bound (with port 0 in web.listen, the port chosen)."""
    if service.web_address is not None:
        click.echo(f"ringwatch: web listening on http://{service.web_address}", err=True)


def _candidates(preferred: int) -> range:
    """``preferred`` and the next ports after it (0: any free port, chosen by the system)."""
    if preferred == 0:
        return range(0, 1)
    return range(preferred, min(preferred + PORT_TRIES, 65536))


def _taken(first: int, what: str, option: str) -> InputError:
    last = min(first + PORT_TRIES, 65536) - 1
    return InputError(
        f"{what}: ports {first}-{last} on 127.0.0.1 are all taken; "
        f"give a free one with {option} (0: any free port)"
    )


def _free_port(host: str, preferred: int) -> int:
    """``preferred`` or the next free port after it (0: any free port)."""
    for port in _candidates(preferred):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise _taken(preferred, "web UI", "--port")


async def _start_simulator(engine: ContactCentre, secret: str, preferred: int) -> SimulatorServer:
    """The simulator listening on ``preferred`` or the next free port after it."""
    from monitor.simulator import ServerConfig, SimulatorServer

    for port in _candidates(preferred):
        cfg = ServerConfig(port=port, secret=secret, failed_login_delay=0.0, keep_recordings=300)
        sim = SimulatorServer(engine, cfg)
        try:
            await sim.start()
        except OSError:
            continue
        return sim
    raise _taken(preferred, "PBX simulator (AMI)", "--ami-port")


def recordings_missing(sounds: Path | None = None, moh: Path | None = None) -> str | None:
    """Why the simulator cannot compose call recordings on this machine (None: it can): they
    are made of Asterisk's own prompts (``sounds``) and music on hold (``moh``), Debian
    packages; by default where collectors.audio.compose looks for them."""
    try:
        from collectors.audio.compose import DEFAULT_MOH, SOUNDS_DIR
    except ImportError as exc:
        return f"audio analysis is not installed ({exc}): pip install 'ringwatch[audio]'"
    sounds, moh = sounds or SOUNDS_DIR, moh or DEFAULT_MOH
    if sounds.is_dir() and moh.is_file():
        return None
    return (
        f"Asterisk's sound files ({sounds}, {moh}) are not installed: "
        "apt-get install asterisk-core-sounds-en-wav asterisk-moh-opsound-wav"
    )


def build_demo_config(
    data_dir: Path,
    sim_port: int,
    secret: str,
    web_port: int,
    store_url: str | None = None,
    rules: Path = REPO_RULES,
    audio: bool = True,
) -> Config:
    """Embedded defaults for the demo: one PBX (the simulator) on loopback, SQLite, UK site."""
    from monitor.config import Config, PbxConfig, Secret

    return Config(
        country="GB",
        timezone="Europe/London",
        pbxs=(
            PbxConfig(
                name="demo",
                host="127.0.0.1",
                port=sim_port,
                username="ringwatch",
                secret=Secret(secret),
            ),
        ),
        rules_dir=rules,
        store_url=store_url or f"sqlite:///{data_dir / STORE_FILE}",
        web_listen=f"127.0.0.1:{web_port}",
        queues=("sales", "support"),
        recordings_dir=data_dir / "demo-recordings" if audio else None,
        audio_enabled=audio,
    )


# a restarted demo starts this long after the newest time it stored (never before it)
_RESTART_GAP = 60.0


def demo_start(store_url: str, now: float) -> float:
    """Where a demo's simulated clock starts: real ``now``, unless an earlier run of this demo
    (same data directory) already stored later times (its clock ran ``speed`` times faster):
    then just after the newest of them, so time never moves backwards and promises made in
    the earlier run keep their place on the timeline."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.promises.tables import promise_events, promises
    from monitor.store.schema import audit_log, calls, reviews

    columns = (
        calls.c.started_at,
        calls.c.ended_at,
        promises.c.made_at,
        promise_events.c.at,
        reviews.c.created_at,
        audit_log.c.at,
    )
    newest = 0.0
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            for col in columns:
                try:
                    value = conn.execute(select(func.max(col))).scalar()
                except SQLAlchemyError:  # a table this store does not have (yet)
                    continue
                if value is not None:
                    newest = max(newest, float(value))
    except SQLAlchemyError:
        return now  # no store yet: a first run
    finally:
        engine.dispose()
    return max(now, newest + _RESTART_GAP) if newest else now


async def run_demo(
    data_dir: Path,
    *,
    speed: float,
    seed: int,
    web_port: int,
    duration: float | None,
    echo: bool = True,
    password: str | None = None,
    on_ready: Callable[[Service, str, SimulatorServer], None] | None = None,
    ami_port: int = 0,
    store_url: str | None = None,
    rules: Path = REPO_RULES,
) -> Service:
    """Simulator + service in one loop until Ctrl-C (or ``duration`` real seconds).

    The store is ``store_url``, else ``ringwatch.sqlite`` in ``data_dir``; recordings go to
    ``data_dir/demo-recordings``. Port 0 (web or AMI) takes any free port."""
    from monitor.service import Service
    from monitor.simulator import ContactCentre, default_config

    if not rules.is_dir() and rules == REPO_RULES:
        from monitor.rules.seed import SEED_RULES

        rules = SEED_RULES  # installed from a wheel: the seed standards in the package
    if not rules.exists():
        raise InputError(
            f"the standards directory {str(rules)!r} does not exist; pass --rules DIR "
            "(the rules/ folder of a ringwatch checkout)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    store = check_store(resolve_store(store_url, f"sqlite:///{data_dir / STORE_FILE}"), create=True)
    secret = secrets.token_urlsafe(16)
    # One timeline (docs/simulator.md): the simulator's clock starts at real now (or after
    # what an earlier run of this demo stored) and runs ``speed`` times faster; the service's
    # clock, hence event time, reviews, sessions and promises, reads it.
    start = demo_start(store, time.time())
    # the simulator writes each answered call's recording there; the service analyses it
    # without Asterisk's prompts there are no recordings: the audio standards (greeting, dead
    # air) are then not evaluated, every other one is
    missing = recordings_missing()
    recordings = None if missing else data_dir / "demo-recordings"
    engine = ContactCentre(default_config(), seed=seed, start=start, recordings_dir=recordings)
    sim = await _start_simulator(engine, secret, ami_port)
    try:
        port = _free_port("127.0.0.1", web_port)
    except InputError:
        await sim.stop()
        raise
    cfg = build_demo_config(data_dir, sim.port, secret, port, store, rules, missing is None)
    # the demo's one clock is the simulator's, which runs ``speed`` times faster than ours
    service = Service(cfg, clock=lambda: engine.now)
    password = password or secrets.token_urlsafe(9)
    try:
        service.store.add_user("demo", "admin", password)
    except StoreError:
        service.store.set_password("demo", password)
    stop = asyncio.Event()
    service.install_signals(stop)
    if duration is not None:
        asyncio.get_running_loop().call_later(duration, stop.set)
    clock_task = asyncio.create_task(sim.run_clock(speed, stop))

    def ready(svc: Service) -> None:
        base = f"http://127.0.0.1:{port}"
        if on_ready is not None:
            on_ready(svc, base, sim)
        if echo:
            banner_task.append(asyncio.create_task(announce(svc, base)))

    banner_task: list[asyncio.Task[None]] = []

    async def announce(svc: Service, base: str) -> None:
        # the URLs are printed once /healthz answers 200 (the simulator's AMI link is up),
        # so the first thing a user opens is healthy; after 15 s they are printed anyway
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15.0
        while svc.health_report()["status"] != "ok" and loop.time() < deadline:
            if stop.is_set():
                return
            await asyncio.sleep(0.05)
        health = svc.health_report()
        note = "" if health["status"] == "ok" else f"  (degraded: {_degraded(health)})"
        click.echo(
            "\n".join(
                [
                    "ringwatch demo is running (Ctrl-C to stop)" + note,
                    f"  PBX simulator (AMI): 127.0.0.1:{sim.port}, "
                    f"{speed:g}x real time, seed {seed}",
                    f"  QA review queue:     {base}/",
                    f"  live wallboard:      {base}/wallboard",
                    f"  metrics:             {base}/metrics",
                    f"  health:              {base}/healthz",
                    f"  log in as:           demo / {password}",
                    f"  store:               {store}",
                    f"  recordings:          {recordings or f'off: {missing}'}",
                ]
            )
        )

    try:
        await service.run(stop, on_ready=ready)
    finally:
        stop.set()
        for task in banner_task:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(asyncio.CancelledError):
            await clock_task
        await sim.stop()
        service.close()
    if echo:
        stats = {name: p.stats.calls for name, p in service.pipelines.items()}
        click.echo(f"ringwatch demo stopped: {sum(stats.values())} calls measured")
    return service


def _degraded(health: dict[str, Any]) -> str:
    """The components that are not up, for the banner: ``ami:demo connecting``."""
    parts = [
        f"{name} {info.get('state')}"
        for name, info in health["components"].items()
        if info.get("state") not in ("up", "ok")
    ]
    return ", ".join(parts) or "see /healthz/details"


def register(group: click.Group) -> None:
    @group.command("run")
    @click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        required=True,
        help="ringwatch.yml (see docs/configuration.md).",
    )
    @store_option
    def run_cmd(config_path: Path, store_url: str | None) -> None:
        """Run the service: collect from every PBX, evaluate, serve the web UI and /metrics."""
        from monitor.config import load_config
        from monitor.service import Service

        cfg = load_config(config_path)
        store = check_store(resolve_store(store_url, cfg.store_url), create=True)
        service = Service(dataclasses.replace(cfg, store_url=store))
        click.echo(
            f"ringwatch: {len(cfg.pbxs)} PBX(s), rules from {cfg.rules_dir}, "
            f"web on http://{cfg.web_listen}" + ("" if cfg.web_enabled else " (disabled)")
        )
        try:
            asyncio.run(_serve(service, None))
        finally:
            service.close()

    @group.command("demo")
    @click.option("--speed", type=float, default=10.0, show_default=True,
                  help="Simulated seconds per real second.")  # fmt: skip
    @click.option("--seed", type=int, default=1, show_default=True)
    @click.option("--port", "web_port", type=click.IntRange(0, 65535), default=DEMO_WEB_PORT,
                  show_default=True,
                  help="Web port on 127.0.0.1 (the next free one if taken; 0: any).")  # fmt: skip
    @click.option("--ami-port", type=click.IntRange(0, 65535), default=DEMO_AMI_PORT,
                  show_default=True, help="The simulator's AMI port on 127.0.0.1 "
                  "(the next free one if taken; 0: any).")  # fmt: skip
    @click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path),
                  envvar=DATA_ENV, default=None, show_envvar=True,
                  help="Data directory: the store and the recordings [default: "
                  "$XDG_DATA_HOME/ringwatch or ~/.local/share/ringwatch]")  # fmt: skip
    @store_option
    @click.option("--rules", type=click.Path(file_okay=False, path_type=Path), default=REPO_RULES,
                  help="The standards [default: the checkout's rules/]")  # fmt: skip
    @click.option("--duration", type=float, default=None,
                  help="Stop after this many real seconds (default: until Ctrl-C).")  # fmt: skip
    def demo_cmd(
        speed: float,
        seed: int,
        web_port: int,
        ami_port: int,
        data: Path | None,
        store_url: str | None,
        rules: Path,
        duration: float | None,
    ) -> None:
        """Run ringwatch against its built-in PBX simulator, with everything on loopback.

        It stores in the default store (the one `ringwatch users add` writes to), so users
        added there can log in to the demo."""
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_demo(
                    data or data_dir(),
                    speed=speed,
                    seed=seed,
                    web_port=web_port,
                    ami_port=ami_port,
                    store_url=store_url,
                    rules=rules,
                    duration=duration,
                )
            )
