"""Live lag: the simulator server writes events over loopback at a steady rate into the
service path (``AmiClient`` -> ``TrackerFeeder`` -> ``Pipeline`` -> ``MetricsSink``); the lag of
an event is the time the pipeline finished it minus the time the simulator wrote it (one
process, one ``perf_counter`` clock). Each event carries a ``BenchSeq`` header to pair them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import spread
from collectors.ami.parser import AmiMessage
from collectors.ami.resync import TrackerFeeder
from collectors.ami.transport import AmiClient
from monitor.config import PbxConfig, Secret
from monitor.record import CallRecord
from monitor.simulator import ContactCentre, ServerConfig, SimulatorServer, default_config

SECRET = "bench"


class _TimedFeeder(TrackerFeeder[CallRecord]):
    def __init__(self, *args: Any, done: dict[int, float], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.done = done

    def on_event(self, received_at: float, msg: AmiMessage) -> None:
        super().on_event(received_at, msg)
        seq = msg.get("BenchSeq")
        if seq is not None:
            self.done[int(seq)] = time.perf_counter()


def _events(count: int, seed: int) -> list[tuple[float, AmiMessage]]:
    engine = ContactCentre(default_config(), seed=seed)
    out: list[tuple[float, AmiMessage]] = []
    while len(out) < count:
        out.extend(engine.run_until(engine.now + 600.0))
    return [
        (at, AmiMessage.from_pairs([*msg.items, ("BenchSeq", str(i))]))
        for i, (at, msg) in enumerate(out[:count])
    ]


async def _one(rate: float, seconds: float, seed: int) -> dict[str, Any]:
    from prometheus_client import CollectorRegistry

    from bench.ingest_bench import RULES
    from monitor.metrics import RingwatchMetrics
    from monitor.metrics.alert_sources import metric_rules
    from monitor.pipeline import Pipeline
    from monitor.rules import load_rules
    from monitor.sinks import MetricsSink
    from monitor.tracker import Tracker

    count = int(rate * seconds)
    events = _events(count, seed)
    ruleset = load_rules(RULES)
    metrics = RingwatchMetrics(
        CollectorRegistry(), ["sim"], ["sales", "support"], metric_rules(ruleset)
    )
    pipeline = Pipeline(Tracker(), ruleset, sinks=[MetricsSink(metrics)])
    done: dict[int, float] = {}
    feeder = _TimedFeeder(pipeline, pipeline.translator, lambda _r: None, done=done)
    engine = ContactCentre(default_config(), seed=seed, traffic=False)
    written: list[float] = [0.0] * count
    async with SimulatorServer(engine, ServerConfig(port=0, secret=SECRET)) as server:
        pbx = PbxConfig(name="sim", port=server.port, secret=Secret(SECRET))
        client = AmiClient(pbx, feeder, listener=metrics)
        stop = asyncio.Event()
        task = asyncio.create_task(client.run(stop))
        await server.wait_for_clients(1, timeout=10.0)
        await asyncio.sleep(0.2)  # login resync lists answered
        batch = max(1, int(rate / 500))  # every 2 ms
        t0 = time.perf_counter()
        for i in range(0, count, batch):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            for j in range(i, min(count, i + batch)):
                written[j] = now
            await server.deliver(events[i : i + batch])
        sent_seconds = time.perf_counter() - t0
        deadline = time.perf_counter() + 10.0
        while len(done) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 10.0)
    lags = sorted((done[i] - written[i]) * 1000.0 for i in done)
    if not lags:
        raise RuntimeError("live bench: no event reached the pipeline")

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, int(p * len(lags)))]

    return {
        "sent": count,
        "finished": len(lags),
        "rate": count / sent_seconds,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": lags[-1],
    }


def run(rate: float = 2000.0, seconds: float = 4.0, repeats: int = 5) -> dict[str, Any]:
    runs = [asyncio.run(_one(rate, seconds, seed=k + 1)) for k in range(repeats)]
    return {
        "rate_target": rate,
        "seconds": seconds,
        "repeats": repeats,
        "sent": sum(r["sent"] for r in runs),
        "finished": sum(r["finished"] for r in runs),
        "rate": spread([r["rate"] for r in runs]).to_json(),
        "p50_ms": spread([r["p50_ms"] for r in runs]).to_json(),
        "p99_ms": spread([r["p99_ms"] for r in runs]).to_json(),
        "max_ms": spread([r["max_ms"] for r in runs]).to_json(),
    }
