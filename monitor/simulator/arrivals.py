"""Random traffic: Poisson arrivals with a rate per hour of day (UTC) for each queue and
for direct, internal and outbound calls. All draws come from the engine's seeded RNG."""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from monitor.simulator.engine import ContactCentre, Flow
from monitor.simulator.flows_calls import DialPlan, direct_call, internal_call, outbound_call
from monitor.simulator.flows_queue import QueuePlan, queue_call

__all__ = ["next_arrival", "start_traffic"]

_NAMES = (
    "Jane Smith",
    "Tom Brown",
    "Priya Patel",
    "Li Wei",
    "Maria Garcia",
    "Olu Adeyemi",
    "Sam O'Neil",
    "Anna Kowalska",
)


def next_arrival(rng: Random, rates: tuple[float, ...], after: float) -> float | None:
    """The next Poisson arrival after ``after`` for a piecewise-constant hourly rate (calls
    per hour, index = UTC hour); ``None`` when every rate is zero."""
    if not any(r > 0 for r in rates):
        return None
    t = after
    for _ in range(24 * 400):
        hour = int(t // 3600) % 24
        boundary = (t // 3600 + 1) * 3600
        rate = rates[hour]
        if rate > 0:
            gap = rng.expovariate(rate / 3600.0)
            if t + gap < boundary:
                return t + gap
        t = boundary
    return None


class _Arrivals:
    """A self-rescheduling arrival stream; survives an engine restart (``traffic``)."""

    traffic = True

    def __init__(
        self, cc: ContactCentre, rates: tuple[float, ...], make: Callable[[], Flow | None]
    ) -> None:
        self.cc, self.rates, self.make = cc, rates, make

    def schedule(self) -> None:
        when = next_arrival(self.cc.rng, self.rates, self.cc.now)
        if when is not None:
            self.cc.at(when, self)

    def __call__(self) -> None:
        flow = self.make()
        if flow is not None:
            self.cc.spawn(flow)
        self.schedule()


def _caller(cc: ContactCentre) -> tuple[str, str]:
    traffic = cc.config.traffic
    if cc.rng.random() < traffic.withheld_probability:
        return "anonymous", "Anonymous"
    number = f"{traffic.caller_prefix}{cc.rng.randrange(0, 2000):04d}"
    return number, cc.rng.choice(_NAMES)


def _queue_maker(cc: ContactCentre, name: str) -> Callable[[], Flow | None]:
    qcfg = cc.queues[name].cfg

    def make() -> Flow:
        number, cname = _caller(cc)
        patience = max(3.0, cc.rng.expovariate(1.0 / qcfg.patience_seconds))
        plan = QueuePlan(patience=patience, ivr=cc.rng.uniform(1.0, 4.0))
        return queue_call(cc, name, number, cname, plan)

    return make


def _draw_dial(cc: ContactCentre, answer_p: float, busy_p: float, ring: float) -> DialPlan:
    rng = cc.rng
    talk = max(5.0, rng.gammavariate(2.0, 60.0))
    roll = rng.random()
    if roll < busy_p:
        return DialPlan("busy", talk=talk)
    if roll < busy_p + answer_p:
        return DialPlan("answer", max(1.0, rng.gammavariate(3.0, ring / 3.0)), talk)
    if rng.random() < 0.5:
        return DialPlan("cancel", rng.uniform(3.0, 18.0), talk)
    return DialPlan("noanswer", talk=talk)


def _busy(cc: ContactCentre, ext: str) -> bool:
    agent = cc.agents.get(ext)
    return ext in cc.ext_busy or (agent is not None and agent.busy)


def _hold_agents(cc: ContactCentre, exts: list[str], flow: Flow) -> Flow:
    """Run ``flow`` with these agents marked busy (they cannot take queue calls)."""
    held = [cc.agents[e] for e in exts if e in cc.agents]
    for agent in held:
        agent.busy = True
    yield from flow
    for agent in held:
        cc.release_agent(agent, 0.0)


def _direct_maker(cc: ContactCentre) -> Callable[[], Flow | None]:
    def make() -> Flow | None:
        targets = [e for e in cc.config.extensions if e.did]
        if not targets:
            return None
        ext = cc.rng.choice(targets)
        number, name = _caller(cc)
        plan = _draw_dial(cc, ext.answer_probability, ext.busy_probability, ext.ring_seconds)
        if _busy(cc, ext.ext):
            plan = DialPlan("busy", talk=plan.talk)
        return direct_call(cc, number, name, ext.ext, plan)

    return make


def _internal_maker(cc: ContactCentre) -> Callable[[], Flow | None]:
    def make() -> Flow | None:
        exts = [a.ext for a in cc.config.agents] + [e.ext for e in cc.config.extensions]
        if len(exts) < 2:
            return None
        src, dst = cc.rng.sample(exts, 2)
        if _busy(cc, src):
            return None
        plan = _draw_dial(cc, 0.85, 0.0, 5.0)
        if _busy(cc, dst):
            plan = DialPlan("busy", talk=plan.talk)
        name = cc.agents[src].cfg.name if src in cc.agents else src
        hold = [src] if plan.result != "answer" else [src, dst]
        return _hold_agents(cc, hold, internal_call(cc, src, name, dst, plan))

    return make


def _outbound_maker(cc: ContactCentre) -> Callable[[], Flow | None]:
    traffic = cc.config.traffic

    def make() -> Flow | None:
        free = [a.ext for a in cc.config.agents if not _busy(cc, a.ext)]
        if not free:
            return None
        src = cc.rng.choice(free)
        number = f"{traffic.caller_prefix}{cc.rng.randrange(0, 2000):04d}"
        plan = _draw_dial(
            cc, traffic.outbound_answer_probability, traffic.outbound_busy_probability, 12.0
        )
        if plan.result == "noanswer":
            plan = DialPlan("cancel", 25.0, plan.talk, timeout=60.0)
        return outbound_call(cc, src, number, plan)

    return make


def start_traffic(cc: ContactCentre) -> None:
    """Schedule the first arrival of every stream."""
    streams: list[_Arrivals] = [
        _Arrivals(cc, q.cfg.arrivals_per_hour, _queue_maker(cc, q.cfg.name))
        for q in cc.queues.values()
    ]
    traffic = cc.config.traffic
    streams.append(_Arrivals(cc, traffic.direct_per_hour, _direct_maker(cc)))
    streams.append(_Arrivals(cc, traffic.internal_per_hour, _internal_maker(cc)))
    streams.append(_Arrivals(cc, traffic.outbound_per_hour, _outbound_maker(cc)))
    for stream in streams:
        stream.schedule()
