"""Call recordings for the simulator: what to write (decided by the engine, on the virtual
clock, no I/O) and a writer that composes and writes the WAVs off the hot path.

The engine makes a ``RecordingJob`` when an answered call with a ``MIXMONITOR_FILENAME``
ends: its path inside the recordings directory, the answer, the end, the hold spans and the
``AudioStyle`` of the conversation (drawn from the seed and the call's Linkedid, so the same
seed always gives the same files). ``RecordingWriter`` turns jobs into stereo WAVs with
``collectors.audio.compose`` (real Asterisk prompts, music on hold during holds) in a worker
thread, so the virtual clock never waits for audio.

Layout (MixMonitor ``D``): left = caller, right = agent; the file starts at the answer (as
Queue()'s MixMonitor does) and ends at the hang-up.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import functools
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING

from monitor.errors import AudioError

if TYPE_CHECKING:
    from collectors.audio.compose import CallSpec

__all__ = [
    "AudioStyle",
    "RecordingJob",
    "RecordingWriter",
    "build_spec",
    "draw_style",
    "recording_path",
    "write_recording",
]

log = logging.getLogger(__name__)

GREETINGS = ("queue-thankyou", "hello-world")
AGENT_LINES = (
    "one-moment-please",
    "transfer",
    "demo-thanks",
    "pls-hold-while-try",
    "auth-thankyou",
    "vm-intro",
    "hello-world",
)
CALLER_LINES = (
    "vm-calldiffnum",
    "please-try-call-later",
    "vm-advopts",
    "queue-callswaiting",
    "hello-world",
)
RATE = 8000
_END_MARGIN = 0.2  # no speech in the last 0.2 s of a recording


@dataclass(frozen=True)
class AudioStyle:
    """How one recorded conversation sounds. ``greeting``: seconds from the answer to the
    agent's first word; ``dead_air``: one silent gap of that many seconds, placed after
    ``dead_air_after`` of the call; ``overtalk``: the caller cuts in that many seconds before
    the agent stops (once); ``moh``: music during holds (False: silent holds)."""

    greeting: float = 1.0
    dead_air: float | None = None
    dead_air_after: float = 0.4
    overtalk: float | None = None
    moh: bool = True
    seed: int = 0


@dataclass(frozen=True)
class RecordingJob:
    """One file to write. ``path`` is absolute (inside the recordings directory); times are
    virtual epoch seconds."""

    path: Path
    linkedid: str
    answer: float
    end: float
    holds: tuple[tuple[float, float], ...]
    style: AudioStyle

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.answer)


def recording_path(
    now: float, base: str, prefix: str, number: str, uniqueid: str, relative: bool
) -> str:
    """The MIXMONITOR_FILENAME of a call: ``<base>/YYYY/MM/DD/<prefix>-<number>-<stamp>-<uid>.wav``,
    or the same without ``<base>/`` when the simulator writes files (``relative``): then it is
    a path inside the recordings directory, which is what the web UI serves."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    day = time.strftime("%Y/%m/%d", time.gmtime(now))
    num = number if number.isdigit() else "anonymous"
    name = f"{day}/{prefix}-{num}-{stamp}-{uniqueid}.wav"
    return name if relative else f"{base}/{name}"


def draw_style(seed: int, linkedid: str) -> AudioStyle:
    """A deterministic style per call: ~15 % slow greetings (4-7 s), ~15 % with dead air
    (11-20 s), ~15 % with overtalk (1-2.5 s); the rest greet within 0.4-2 s."""
    rng = Random(f"{seed}/{linkedid}")
    slow = rng.random() < 0.15
    greeting = rng.uniform(4.0, 7.0) if slow else rng.uniform(0.4, 2.0)
    dead = rng.uniform(11.0, 20.0) if rng.random() < 0.15 else None
    over = rng.uniform(1.0, 2.5) if rng.random() < 0.15 else None
    return AudioStyle(
        greeting=round(greeting, 2),
        dead_air=None if dead is None else round(dead, 2),
        dead_air_after=round(rng.uniform(0.2, 0.6), 2),
        overtalk=None if over is None else round(over, 2),
        seed=rng.randrange(1 << 30),
    )


@functools.lru_cache(maxsize=64)
def _prompt_seconds(name: str) -> float:
    from collectors.audio.compose import load_prompt

    return len(load_prompt(name, RATE)) / RATE


def build_spec(job: RecordingJob) -> CallSpec:
    """The conversation of ``job`` as a ``CallSpec``: the agent greets at ``style.greeting``,
    then agent and caller take turns (0.4-1.6 s apart) until the end, skipping holds."""
    from collectors.audio.compose import CallSpec, HoldSpec, Utterance

    style = job.style
    rng = Random(style.seed)
    duration = job.duration
    holds = sorted(
        (max(0.0, a - job.answer), min(duration, b - job.answer))
        for a, b in job.holds
        if b - job.answer > 0 and a - job.answer < duration
    )
    said: list[Utterance] = []
    party, t = "agent", style.greeting
    dead_at = None if style.dead_air is None else duration * style.dead_air_after
    overtalk = style.overtalk
    while True:
        pool = GREETINGS if not said else (AGENT_LINES if party == "agent" else CALLER_LINES)
        prompt = rng.choice(pool)
        length = _prompt_seconds(prompt)
        for a, b in holds:  # never talk into a hold: resume just after it
            if t < b and t + length > a:
                t = b + rng.uniform(0.3, 0.8)
        if t + length > duration - _END_MARGIN:
            break
        said.append(Utterance(party, round(t, 3), prompt))
        end = t + length
        gap = rng.uniform(0.4, 1.6)
        if dead_at is not None and end >= dead_at and style.dead_air is not None:
            gap, dead_at = style.dead_air, None
        elif overtalk is not None and party == "agent" and len(said) > 1 and length > overtalk:
            gap, overtalk = -overtalk, None
        party = "caller" if party == "agent" else "agent"
        t = end + gap
    hold_specs = tuple(
        HoldSpec(a, b) if style.moh else HoldSpec(a, b, moh=None) for a, b in holds if b > a
    )
    return CallSpec(duration=duration, rate=RATE, utterances=tuple(said), holds=hold_specs)


def write_recording(job: RecordingJob) -> Path:
    """Compose and write ``job`` (stereo, caller left); written to ``<path>.part`` and renamed,
    so a reader never sees half a file. Raises AudioError."""
    from collectors.audio.compose import compose, write_stereo

    if job.duration <= 0:
        raise AudioError(f"{job.path}: call {job.linkedid} has no answered time to record")
    composed = compose(build_spec(job))
    job.path.parent.mkdir(parents=True, exist_ok=True)
    part = job.path.with_name(job.path.name + ".part")
    write_stereo(composed, part)
    os.chmod(part, 0o640)  # recordings are personal data: owner and group only
    os.replace(part, job.path)
    return job.path


class RecordingWriter:
    """Writes jobs in one background thread; ``drain()`` waits for what was submitted.

    ``keep``: keep only the newest N files this writer wrote (the oldest are deleted), so a
    long demo does not fill the disk (a recording is ~32 kB per second of call)."""

    def __init__(self, workers: int = 1, keep: int | None = None) -> None:
        if keep is not None and keep < 1:
            raise ValueError(f"keep must be at least 1 (or None for all), got {keep}")
        self._pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="sim-recordings")
        self._pending: set[cf.Future[Path]] = set()
        self._kept: collections.deque[Path] = collections.deque()
        self.keep = keep
        self.written = 0
        self.errors = 0
        self.deleted = 0

    def submit(self, jobs: Iterable[RecordingJob]) -> list[cf.Future[Path]]:
        futures = []
        for job in jobs:
            fut = self._pool.submit(write_recording, job)
            self._pending.add(fut)
            fut.add_done_callback(self._done)
            futures.append(fut)
        return futures

    def _done(self, fut: cf.Future[Path]) -> None:
        self._pending.discard(fut)
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is None:
            self.written += 1
            self._kept.append(fut.result())
            while self.keep is not None and len(self._kept) > self.keep:
                with contextlib.suppress(OSError):
                    self._kept.popleft().unlink()
                    self.deleted += 1
            return
        self.errors += 1
        log.warning("simulator recording not written: %s", exc)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every submitted job is written (or failed)."""
        cf.wait(list(self._pending), timeout=timeout)

    async def drain(self) -> None:
        """Await every submitted job (from the event loop)."""
        import asyncio

        pending = [asyncio.wrap_future(f) for f in list(self._pending)]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
