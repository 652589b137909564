"""Join call recordings to calls: find a finished call's recording, analyse it off the event
loop, re-run the audio checks and hand the updated record to the audio sinks.

``AudioJoiner`` is a ``CallSink``. For each completed call a person answered it looks for the
recording: ``CallRecord.recording`` (``VarSet MIXMONITOR_FILENAME``), else the file matching
``AudioJoinSettings.pattern`` under ``recordings_dir`` whose name holds the call id as a whole
token (``monitor/audio_locate.py``; no match = the call was not recorded, counted in
``stats.unmatched``, no error). It waits ``settle_seconds`` (MixMonitor closes the file at
the hang-up), then until the file's size and mtime are the same on two looks ``poll_seconds``
apart (at most ``max_wait_seconds``), and runs ``analyse_job`` in the executor it was given (a
``ProcessPoolExecutor`` in the service: webrtcvad holds the GIL, see docs/audio.md).

The recording's second 0 (``recording_started_at``) is the call's answer by default (Queue()
and Dial() start MixMonitor when the member answers); ``recording_start="start"`` uses the
call's first channel instead (MixMonitor run in the dialplan before Queue/Dial). Holds and the
answer are passed as offsets from that instant.

The facts go back on the record (``replace(record, audio=facts)``), the per-call rules are
evaluated again, the audio checks' findings replace the record's findings of those rules, and
every sink's ``audio_completed(record, audio_results)`` gets the updated record and the results
of the audio checks only (so metrics never count the call twice). A missing, empty, corrupt or
unreadable file is an ``AudioError``: logged here (the service edge) with the file name and
counted in ``stats.errors``; the call keeps the record it was delivered with (audio checks
"not evaluated: no audio").
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from monitor.audio_locate import (
    DEFAULT_PATTERN,
    AudioJoinSettings,
    locate_recording,
    probe,
    recording_started_at,
)
from monitor.errors import AudioError
from monitor.record import AudioFacts, CallRecord, Finding, Span
from monitor.rules import RuleResult, RuleSet, Site, evaluate_results
from monitor.rules.evaluate import finding_for
from monitor.rules.model import CheckStatus

__all__ = [
    "AUDIO_CHECKS",
    "DEFAULT_PATTERN",
    "AnalysisJob",
    "AudioJoinSettings",
    "AudioJoiner",
    "AudioSink",
    "JoinStats",
    "analyse_job",
    "locate_recording",
    "recording_started_at",
]

log = logging.getLogger(__name__)

AUDIO_CHECKS = frozenset({"greeting_latency", "dead_air", "overtalk"})
MAX_RENEWALS = 3  # broken worker pools replaced before analyses are given up
_COUNTRY_CADENCE = {"gb": "uk"}  # rules use ISO codes, the tone table Asterisk's names


class AudioSink(Protocol):
    """Something that wants a call again once its audio is analysed (metrics, store)."""

    def audio_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None: ...


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    """What a worker needs to analyse one recording (picklable; offsets in seconds)."""

    call_id: str
    path: str
    answer_at: float | None
    holds: tuple[Span, ...]
    recording_started_at: float
    parties: tuple[str, ...]
    dead_air_seconds: float
    overtalk_min_seconds: float
    cadence: str


@dataclass
class JoinStats:
    scheduled: int = 0
    analysed: int = 0
    errors: int = 0
    unmatched: int = 0
    dropped: int = 0
    sink_errors: int = 0
    last_error: str | None = None
    by_reason: dict[str, int] = field(default_factory=dict)


def analyse_job(job: AnalysisJob) -> AudioFacts:
    """Load and analyse one recording (runs in a worker thread or process)."""
    from collectors.audio.analysis import AnalysisSettings, analyze_files

    try:
        settings = AnalysisSettings(
            dead_air_seconds=job.dead_air_seconds,
            overtalk_min_seconds=job.overtalk_min_seconds,
            cadence=job.cadence,
        )
        return analyze_files(
            [job.path],
            answer_at=job.answer_at,
            holds=job.holds,
            settings=settings,
            parties=job.parties,
            recording_started_at=job.recording_started_at,
        )
    except AudioError:
        raise
    except (OSError, ValueError, EOFError, MemoryError) as exc:
        msg = f"{job.path}: cannot analyse the recording of call {job.call_id}: {exc}"
        raise AudioError(msg) from exc


def _dead_air_seconds(rules: RuleSet | None, configured: float | None) -> float:
    """Report silences from the smallest dead_air limit in the rules (so no rule misses one)."""
    if configured is not None:
        return configured
    limits = [
        float(r.params["max"])
        for r in (rules.rules if rules is not None else ())
        if r.check == "dead_air" and r.params.get("max")
    ]
    return min(limits, default=10.0)


def _cadence(site: Site) -> str:
    from collectors.audio.rings import cadence_for

    code = _COUNTRY_CADENCE.get(site.country.lower(), site.country.lower())
    try:
        cadence_for(code)
    except AudioError:
        return "us"
    return code


class AudioJoiner:
    """``AudioJoiner(settings, rules, site, sinks, executor)``: a CallSink that analyses the
    recordings of completed calls and re-delivers them to ``sinks`` (``audio_completed``)."""

    def __init__(
        self,
        settings: AudioJoinSettings,
        rules: Callable[[], RuleSet | None] | RuleSet | None,
        site: Site,
        sinks: Sequence[AudioSink],
        executor: cf.Executor,
        *,
        executor_factory: Callable[[], cf.Executor] | None = None,
    ) -> None:
        self.settings = settings
        self._rules = rules
        self.site = site
        self.sinks = list(sinks)
        self.executor = executor
        self._executor_factory = executor_factory
        self._renewals = 0
        self.stats = JoinStats()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._cadence = _cadence(site)

    @property
    def ruleset(self) -> RuleSet | None:
        rules = self._rules
        if rules is None or isinstance(rules, RuleSet):
            return rules
        return rules()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    # ---- CallSink ---------------------------------------------------------------------------
    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        """Schedule the analysis of ``record``'s recording (answered calls with one)."""
        if self._closed or record.answered_at is None:
            return
        if record.recording is None and self.settings.pattern is None:
            return
        if len(self._tasks) >= self.settings.max_pending:
            self.stats.dropped += 1
            self._error(record, "dropped", f"{self.settings.max_pending} analyses pending")
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._error(record, "no_loop", "no running event loop to analyse it on")
            return
        task = loop.create_task(self._process(record), name=f"audio-{record.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.stats.scheduled += 1

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None

    # ---- lifecycle --------------------------------------------------------------------------
    async def drain(self) -> None:
        """Wait until every scheduled analysis has finished (delivered or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, timeout: float = 0.0) -> None:
        """Stop taking calls; let pending analyses finish for up to ``timeout`` seconds, then
        cancel the rest (their calls stay as stored, without audio)."""
        self._closed = True
        if timeout > 0 and self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), timeout)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- internals --------------------------------------------------------------------------
    async def _process(self, record: CallRecord) -> None:
        loop = asyncio.get_running_loop()
        try:
            path = await self._wait_for_file(record)
            if path is None:  # no MIXMONITOR_FILENAME and nothing matches: not recorded
                self.stats.unmatched += 1
                log.debug("call %s: no recording matches %s", record.call_id, self.settings.pattern)
                return
            job = self._job(record, path)
            pool = self.executor
            try:
                facts = await loop.run_in_executor(pool, analyse_job, job)
            except cf.BrokenExecutor:  # a worker died (killed, out of memory): new pool, once
                if not self._renew_executor(pool):
                    raise
                facts = await loop.run_in_executor(self.executor, analyse_job, job)
        except AudioError as exc:
            self._error(record, "audio", str(exc))
            return
        except cf.BrokenExecutor as exc:
            self._error(record, "broken_pool", f"the analysis worker pool is broken: {exc}")
            return
        except Exception as exc:  # a broken worker pool or a bug must not stop the service
            log.exception("audio analysis of call %s failed", record.call_id)
            self._error(record, type(exc).__name__, repr(exc))
            return
        self.stats.analysed += 1
        self._deliver(record, facts)

    def _renew_executor(self, broken: cf.Executor) -> bool:
        """Replace a broken pool (``executor_factory``, at most MAX_RENEWALS times); False
        when it cannot be replaced."""
        if broken is not self.executor:
            return True  # another analysis already replaced it
        if self._executor_factory is None or self._closed or self._renewals >= MAX_RENEWALS:
            return False
        self._renewals += 1
        self.executor = self._executor_factory()
        broken.shutdown(wait=False, cancel_futures=True)
        log.warning("audio analysis worker pool broke; started a new one (%d/%d)",
                    self._renewals, MAX_RENEWALS)  # fmt: skip
        return True

    def _error(self, record: CallRecord, reason: str, message: str) -> None:
        self.stats.errors += 1
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
        self.stats.last_error = message
        log.warning("audio of call %s not analysed: %s", record.call_id, message)

    async def _wait_for_file(self, record: CallRecord) -> Path | None:
        """The settled file; None when only the pattern could name it and nothing matches
        (that call was not recorded: no waiting, no error)."""
        s = self.settings
        loop = asyncio.get_running_loop()
        if s.settle_seconds > 0:
            await asyncio.sleep(s.settle_seconds)
        deadline = loop.time() + s.max_wait_seconds
        previous: tuple[Path | None, int, int] | None = None
        while True:
            current = await asyncio.to_thread(probe, record, s)
            path, size, _ = current
            if path is None and previous is None and record.recording is None:
                return None
            if path is not None and size > 0 and current == previous:
                return path
            if previous is not None and loop.time() >= deadline:
                if path is None:
                    wanted = record.recording or f"{s.pattern} under {s.recordings_dir}"
                    raise AudioError(
                        f"no recording for call {record.call_id}: {wanted} not found after "
                        f"{s.settle_seconds + s.max_wait_seconds:g} s"
                    )
                what = "is empty" if size == 0 else "is still growing"
                raise AudioError(f"{path}: recording of call {record.call_id} {what} "
                                 f"after {s.max_wait_seconds:g} s")  # fmt: skip
            previous = current
            await asyncio.sleep(s.poll_seconds)

    def _job(self, record: CallRecord, path: Path) -> AnalysisJob:
        t0 = recording_started_at(record, self.settings)
        answer = None if record.answered_at is None else round(record.answered_at - t0, 3)
        holds = tuple(
            Span(h.start - t0, None if h.end is None else h.end - t0) for h in record.holds
        )
        return AnalysisJob(
            call_id=record.call_id,
            path=str(path),
            answer_at=answer,
            holds=holds,
            recording_started_at=t0,
            parties=self.settings.parties,
            dead_air_seconds=_dead_air_seconds(self.ruleset, self.settings.dead_air_seconds),
            overtalk_min_seconds=self.settings.overtalk_min_seconds,
            cadence=self._cadence,
        )

    def _deliver(self, record: CallRecord, facts: AudioFacts) -> None:
        updated = replace(record, audio=facts)
        rules = self.ruleset
        audio_results: list[RuleResult] = []
        if rules is not None:
            audio_results = [
                rr
                for rr in evaluate_results(updated, rules, site=self.site)
                if rr.rule.check in AUDIO_CHECKS
            ]
        redone = {rr.rule.id for rr in audio_results}
        findings = [f for f in record.findings if f.rule not in redone]
        findings += [
            finding_for(rr.rule, rr.result)
            for rr in audio_results
            if rr.result.status is CheckStatus.BREACHED
        ]
        updated = replace(updated, findings=tuple(findings))
        for sink in self.sinks:
            try:
                sink.audio_completed(updated, audio_results)
            except Exception:  # a sink must never stop the others or the loop
                self.stats.sink_errors += 1
                log.exception("sink %s failed on the audio of call %s",
                              type(sink).__name__, record.call_id)  # fmt: skip
