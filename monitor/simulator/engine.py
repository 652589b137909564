"""The scenario engine: a deterministic discrete-event simulation on a virtual clock.

Each call is a generator (``flows.py``) that yields either a delay in seconds or a
``WaitAgent`` (wait in a queue until an agent is offered or the deadline passes). The engine
owns every piece of mutable state; nothing here does I/O or reads a wall clock.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

from collectors.ami.parser import AmiMessage
from monitor.simulator.config import AgentConfig, CentreConfig, QueueConfig
from monitor.simulator.pbx import Pbx
from monitor.simulator.recordings import RecordingJob, draw_style, recording_path
from monitor.simulator.truth import CallTruth, PromiseTruth, TruthBuilder
from monitor.simulator.wire import Chan

__all__ = ["AgentState", "ContactCentre", "Flow", "QueueState", "WaitAgent", "Waiter"]

DEFAULT_START = 1_767_258_000.0  # 2026-01-01 09:00:00 UTC


@dataclass(frozen=True)
class WaitAgent:
    """Yielded by a queue caller: resume with an ``AgentState`` or ``None`` at ``until``."""

    queue: str
    until: float
    waiter: Waiter


Flow = Generator["float | WaitAgent", "AgentState | None", None]


@dataclass
class AgentState:
    cfg: AgentConfig
    login_time: float
    busy: bool = False
    in_call: bool = False
    ringing: bool = False
    calls_taken: int = 0
    last_call: float = 0.0


@dataclass
class Waiter:
    chan: Chan
    joined: float
    original_position: int
    proc: _Proc | None = None
    ringing: bool = False


@dataclass
class QueueState:
    cfg: QueueConfig
    waiting: list[Waiter] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    hold_total: float = 0.0
    talk_total: float = 0.0
    rr_next: int = 0

    def position(self, waiter: Waiter) -> int:
        return self.waiting.index(waiter) + 1


class _Proc:
    __slots__ = ("gen", "linkedid", "token")

    def __init__(self, gen: Flow) -> None:
        self.gen = gen
        self.token = 0
        self.linkedid = ""


class ContactCentre(Pbx):
    """``ContactCentre(config, seed=1, start=epoch)``; ``run_until(t)`` returns the AMI
    messages emitted up to virtual time ``t``; ``truth`` lists every finished call.

    With ``recordings_dir`` the engine also says which call recordings to write
    (``take_recording_jobs()``; a ``RecordingWriter`` writes them) and MIXMONITOR_FILENAME
    paths are relative to that directory."""

    def __init__(
        self,
        config: CentreConfig,
        seed: int = 1,
        start: float = DEFAULT_START,
        traffic: bool = True,
        recordings_dir: Path | None = None,
    ) -> None:
        super().__init__(seed, start)
        self.config = config
        self.seed = seed
        self.recordings_dir = recordings_dir
        self.recording_jobs: list[RecordingJob] = []
        self.boot_time = self.now
        self.reload_time = self.now
        self.truth: list[CallTruth] = []
        self.promises: list[PromiseTruth] = []
        self.open_calls: dict[str, TruthBuilder] = {}
        self.agents = {a.ext: AgentState(a, self.now) for a in config.agents}
        self.queues = {q.name: QueueState(q) for q in config.queues}
        self.ext_busy: set[str] = set()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._procs: set[_Proc] = set()
        if traffic:
            from monitor.simulator.arrivals import start_traffic

            start_traffic(self)

    # -- clock ---------------------------------------------------------------------
    def at(self, when: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (max(when, self.now), next(self._seq), fn))

    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_until(self, until: float) -> list[tuple[float, AmiMessage]]:
        """Run every scheduled step up to ``until`` and return what was emitted."""
        while self._heap and self._heap[0][0] <= until:
            when, _, fn = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            fn()
        self.now = max(self.now, until)
        out, self.out = self.out, []
        return out

    def run_all(self, limit: float = 86_400.0) -> list[tuple[float, AmiMessage]]:
        """Run until nothing is scheduled (scripted scenarios, traffic off), at most
        ``limit`` virtual seconds."""
        end = self.now + limit
        out: list[tuple[float, AmiMessage]] = []
        while self._heap and self._heap[0][0] <= end:
            out.extend(self.run_until(self._heap[0][0]))
        return out

    # -- processes -----------------------------------------------------------------
    def spawn(self, gen: Flow, when: float | None = None) -> None:
        proc = _Proc(gen)
        self._procs.add(proc)
        self.at(self.now if when is None else when, lambda: self._step(proc, proc.token, None))

    def _step(self, proc: _Proc, token: int, value: AgentState | None) -> None:
        if token != proc.token or proc not in self._procs:
            return
        proc.token += 1
        try:
            cmd = proc.gen.send(value)
        except StopIteration:
            self._procs.discard(proc)
            return
        tok = proc.token
        if isinstance(cmd, WaitAgent):
            self._wait(proc, cmd)
            self.at(cmd.until, lambda: self._timeout(proc, tok, cmd.queue))
        else:
            self.at(self.now + max(0.0, float(cmd)), lambda: self._step(proc, tok, None))

    def _wait(self, proc: _Proc, cmd: WaitAgent) -> None:
        cmd.waiter.proc = proc
        cmd.waiter.ringing = False
        self.at(self.now, lambda: self.dispatch(cmd.queue))

    def _timeout(self, proc: _Proc, token: int, queue: str) -> None:
        if token == proc.token:
            self._step(proc, token, None)

    def dispatch(self, name: str) -> None:
        """Offer free agents to waiting callers in queue order (one member rung per caller)."""
        queue = self.queues[name]
        for waiter in list(queue.waiting):
            if waiter.ringing or waiter.proc is None:
                continue
            agent = self._pick(queue)
            if agent is None:
                return
            agent.busy = agent.ringing = True
            waiter.ringing = True
            proc = waiter.proc
            tok = proc.token
            self.at(self.now, functools.partial(self._offer, proc, tok, agent))

    def _offer(self, proc: _Proc, token: int, agent: AgentState) -> None:
        if token != proc.token or proc not in self._procs:
            self.release_agent(agent, 0.0)  # the caller left first: the offer lapses
            return
        self._step(proc, token, agent)

    def _pick(self, queue: QueueState) -> AgentState | None:
        members = [self.agents[e] for e in queue.cfg.agents if e in self.agents]
        free = [a for a in members if not a.busy and a.cfg.ext not in self.ext_busy]
        if not free:
            return None
        strategy = queue.cfg.strategy
        if strategy == "random":
            return self.rng.choice(free)
        if strategy == "linear":
            return free[0]
        if strategy == "leastrecent":
            return min(free, key=lambda a: (a.last_call, members.index(a)))
        if strategy == "fewestcalls":
            return min(free, key=lambda a: (a.calls_taken, members.index(a)))
        n = len(members)  # rrmemory / roundrobin
        for i in range(n):
            cand = members[(queue.rr_next + i) % n]
            if cand in free:
                queue.rr_next = (members.index(cand) + 1) % n
                return cand
        return None

    def member_status(self, agent: AgentState, wrapup: float = 0.0) -> None:
        """QueueMemberStatus for each queue of ``agent`` (app_queue sends one per queue on
        every device state change of a member: ringing 6, in use 2, not in use 1), with the
        wrap-up time that follows the call (``Wrapuptime``, Asterisk 16+)."""
        status = "6" if agent.ringing else "2" if agent.in_call else "1"
        iface = f"PJSIP/{agent.cfg.ext}"
        for queue in self.queues.values():
            if agent.cfg.ext not in queue.cfg.agents:
                continue
            self._ev("QueueMemberStatus", "agent,all", [
                ("Queue", queue.cfg.name), ("MemberName", agent.cfg.name),
                ("Interface", iface), ("StateInterface", iface), ("Membership", "static"),
                ("Penalty", "0"), ("CallsTaken", str(agent.calls_taken)),
                ("LastCall", str(int(agent.last_call))), ("LastPause", "0"),
                ("LoginTime", str(int(agent.login_time))),
                ("InCall", "1" if agent.in_call else "0"), ("Status", status),
                ("Paused", "0"), ("PausedReason", ""), ("Ringinuse", "0"),
                ("Wrapuptime", str(round(wrapup))),
            ])  # fmt: skip

    def release_agent(self, agent: AgentState, after: float) -> None:
        """Free an agent after ``after`` seconds (wrap-up) and offer it to its queues."""
        agent.in_call = agent.ringing = False
        self.member_status(agent, after)

        def free() -> None:
            agent.busy = False
            for queue in self.queues.values():
                if agent.cfg.ext in queue.cfg.agents:
                    self.dispatch(queue.cfg.name)

        self.at(self.now + after, free)

    # -- truth ---------------------------------------------------------------------
    def open_call(self, builder: TruthBuilder) -> TruthBuilder:
        self.open_calls[builder.linkedid] = builder
        return builder

    def close_call(self, builder: TruthBuilder) -> None:
        self.open_calls.pop(builder.linkedid, None)
        truth = builder.freeze(self.now)
        self.truth.append(truth)
        if self.recordings_dir is not None and truth.recording and truth.answer is not None:
            self.recording_jobs.append(
                RecordingJob(
                    path=self.recordings_dir / truth.recording,
                    linkedid=truth.linkedid,
                    answer=truth.answer,
                    end=truth.end,
                    holds=tuple((h.start, h.end) for h in truth.holds),
                    style=builder.audio or draw_style(self.seed, truth.linkedid),
                )
            )

    # -- recordings ----------------------------------------------------------------
    def recording_name(self, prefix: str, caller: Chan) -> str:
        """MIXMONITOR_FILENAME for a call answered now (see ``recording_path``)."""
        return recording_path(
            self.now,
            self.config.recordings_dir,
            prefix,
            caller.cid_num,
            caller.uniqueid,
            relative=self.recordings_dir is not None,
        )

    def take_recording_jobs(self) -> list[RecordingJob]:
        """The recordings of the calls that ended since the last call (and forget them)."""
        jobs, self.recording_jobs = self.recording_jobs, []
        return jobs

    # -- restart -------------------------------------------------------------------
    def restart(self) -> None:
        """Asterisk restarted: every channel, queue entry and flow vanishes without a
        Hangup event; open calls are recorded as interrupted."""
        for proc in self._procs:
            proc.gen.close()
        self._procs.clear()
        self._heap = [item for item in self._heap if getattr(item[2], "traffic", False)]
        heapq.heapify(self._heap)
        for builder in self.open_calls.values():
            self.truth.append(builder.freeze(self.now, interrupted=True))
        self.open_calls.clear()
        self.channels.clear()
        self.ext_busy.clear()
        for queue in self.queues.values():
            queue.waiting.clear()
        for agent in self.agents.values():
            agent.busy = agent.in_call = agent.ringing = False
            agent.login_time = self.now
        self.boot_time = self.reload_time = self.now

    # -- live state for actions ----------------------------------------------------
    def active_channels(self) -> list[Chan]:
        return list(self.channels.values())

    def queue_state(self) -> list[QueueState]:
        return list(self.queues.values())
