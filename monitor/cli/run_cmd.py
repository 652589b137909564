"""``ringwatch run`` (the service) and ``ringwatch demo`` (the service against the built-in
PBX simulator, with embedded defaults: SQLite, a demo user, loopback only)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path

import click

from monitor.config import Config, PbxConfig, Secret, load_config
from monitor.errors import StoreError
from monitor.rules.seed import SEED_RULES
from monitor.service import Service
from monitor.simulator import SimulatorServer

__all__ = ["build_demo_config", "register", "run_demo"]

log = logging.getLogger(__name__)


async def _serve(service: Service, duration: float | None) -> None:
    stop = asyncio.Event()
    service.install_signals(stop)
    if duration is not None:
        asyncio.get_running_loop().call_later(duration, stop.set)
    await service.run(stop)


def _free_port(host: str, preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind((host, preferred))
            return int(sock.getsockname()[1])
        except OSError:
            sock.bind((host, 0))
            return int(sock.getsockname()[1])


def build_demo_config(data_dir: Path, sim_port: int, secret: str, web_port: int) -> Config:
    """Embedded defaults for the demo: one PBX (the simulator) on loopback, SQLite, UK site."""
    rules = Path(__file__).resolve().parents[2] / "rules"
    if not rules.is_dir():  # installed from a wheel: the seed standards in the package
        rules = SEED_RULES
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
        store_url=f"sqlite:///{data_dir / 'demo.sqlite'}",
        web_listen=f"127.0.0.1:{web_port}",
        queues=("sales", "support"),
        recordings_dir=data_dir / "recordings",
        audio_enabled=True,
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
) -> Service:
    """Simulator + service in one loop until Ctrl-C (or ``duration`` real seconds)."""
    from monitor.simulator import ContactCentre, ServerConfig, default_config

    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(16)
    # One timeline (docs/simulator.md): the simulator's clock starts at real now (or after
    # what an earlier run of this demo stored) and runs ``speed`` times faster; the service's
    # clock, hence event time, reviews, sessions and promises, reads it.
    start = demo_start(f"sqlite:///{data_dir / 'demo.sqlite'}", time.time())
    # the simulator writes each answered call's recording there; the service analyses it
    engine = ContactCentre(
        default_config(), seed=seed, start=start, recordings_dir=data_dir / "recordings"
    )
    sim_cfg = ServerConfig(port=0, secret=secret, failed_login_delay=0.0, keep_recordings=300)
    sim = SimulatorServer(engine, sim_cfg)
    await sim.start()
    port = _free_port("127.0.0.1", web_port)
    cfg = build_demo_config(data_dir, sim.port, secret, port)
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
        if not echo:
            return
        click.echo(
            "\n".join(
                [
                    "ringwatch demo is running (Ctrl-C to stop)",
                    f"  PBX simulator (AMI): 127.0.0.1:{sim.port}, "
                    f"{speed:g}x real time, seed {seed}",
                    f"  QA review queue:     {base}/",
                    f"  live wallboard:      {base}/wallboard",
                    f"  metrics:             {base}/metrics",
                    f"  health:              {base}/healthz",
                    f"  log in as:           demo / {password}",
                    f"  data:                {data_dir}",
                ]
            )
        )

    try:
        await service.run(stop, on_ready=ready)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await clock_task
        await sim.stop()
        service.close()
    if echo:
        stats = {name: p.stats.calls for name, p in service.pipelines.items()}
        click.echo(f"ringwatch demo stopped: {sum(stats.values())} calls measured")
    return service


def register(group: click.Group) -> None:
    @group.command("run")
    @click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        required=True,
        help="ringwatch.yml (see docs/configuration.md).",
    )
    def run_cmd(config_path: Path) -> None:
        """Run the service: collect from every PBX, evaluate, serve the web UI and /metrics."""
        cfg = load_config(config_path)
        Path("ringwatch-data").mkdir(exist_ok=True)
        service = Service(cfg)
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
    @click.option("--port", "web_port", type=int, default=8080, show_default=True,
                  help="Web port on 127.0.0.1 (the next free one if taken).")  # fmt: skip
    @click.option("--data", "data_dir", type=click.Path(path_type=Path),
                  default=Path("ringwatch-data/demo"), show_default=True)  # fmt: skip
    @click.option("--duration", type=float, default=None,
                  help="Stop after this many real seconds (default: until Ctrl-C).")  # fmt: skip
    def demo_cmd(
        speed: float, seed: int, web_port: int, data_dir: Path, duration: float | None
    ) -> None:
        """Run ringwatch against its built-in PBX simulator, with everything on loopback."""
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_demo(data_dir, speed=speed, seed=seed, web_port=web_port, duration=duration)
            )
