"""Recordings joined to calls: the simulator writes real recordings, the pipeline completes the
calls, the AudioJoiner analyses the files and re-delivers the calls with audio facts and the
audio findings (values against the composed truth), or counts the error and leaves the call
as it was delivered."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from collectors.audio.analysis import analyze_files
from collectors.audio.compose import compose
from monitor.audio_join import (
    AUDIO_CHECKS,
    AudioJoiner,
    AudioJoinSettings,
    locate_recording,
    recording_started_at,
)
from monitor.errors import AudioError
from monitor.metrics import RingwatchMetrics
from monitor.metrics.alert_sources import metric_rules
from monitor.pipeline import Pipeline
from monitor.record import CallRecord, Direction, Finding, Outcome, Timing
from monitor.rules import RuleResult, RuleSet, Site, load_rules
from monitor.rules.model import CheckStatus
from monitor.simulator import AudioStyle, ContactCentre, RecordingJob, scripted
from monitor.simulator.recordings import build_spec, write_recording
from monitor.sinks import MetricsSink, StoreSink
from monitor.store.store import Store
from monitor.tracker import Tracker, TrackerSettings

RULES = Path(__file__).resolve().parents[2] / "rules"
TOL = 0.1
GREET, DEAD = "greet-within-3s", "no-dead-air-over-10s"


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules(RULES)


@pytest.fixture
def threads() -> Iterator[Executor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


class Collect:
    """A test sink: what the pipeline delivered, and what the joiner delivered again."""

    def __init__(self) -> None:
        self.completed: list[tuple[CallRecord, list[RuleResult]]] = []
        self.audio: list[tuple[CallRecord, list[RuleResult]]] = []

    def call_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        self.completed.append((record, list(results)))

    def live_finding(self, call_id: str, finding: Finding) -> None:
        return None

    def audio_completed(self, record: CallRecord, results: Sequence[RuleResult]) -> None:
        self.audio.append((record, list(results)))


def settings(root: Path, **kw: object) -> AudioJoinSettings:
    base: dict[str, object] = {"settle_seconds": 0, "poll_seconds": 0, "max_wait_seconds": 0}
    base.update(kw)
    return AudioJoinSettings(root, **base)  # type: ignore[arg-type]


def simulate(engine: ContactCentre, write: bool = True) -> tuple[list, RecordingJob]:  # type: ignore[type-arg]
    """Run the scripted call; write its recording (as the simulator's writer does)."""
    events = engine.run_all()
    (job,) = engine.take_recording_jobs()
    if write:
        write_recording(job)
    return events, job


async def run_pipeline(
    events: list,  # type: ignore[type-arg]
    joiner: AudioJoiner,
    sink: Collect,
    ruleset: RuleSet,
    extra: Sequence[object] = (),
) -> None:
    pipeline = Pipeline(
        Tracker(TrackerSettings(pbx="sim", cadence_seconds=3.0)),
        ruleset,
        site=Site("gb"),
        sinks=[sink, *extra, joiner],  # type: ignore[list-item]
    )
    for at, msg in events:
        pipeline.feed_message(msg, received_at=at)
    pipeline.finish()
    await joiner.drain()


def result(results: list[RuleResult], rule: str) -> RuleResult:
    (rr,) = [r for r in results if r.rule.id == rule]
    return rr


def finding(record: CallRecord, rule: str) -> Finding:
    (f,) = [f for f in record.findings if f.rule == rule]
    return f


def speech_gaps(job: RecordingJob) -> list[tuple[float, float]]:
    """The composed truth: silences between consecutive speech, seconds from the answer."""
    truth = compose(build_spec(job)).truth
    spans = sorted(s for party in truth.speech.values() for s in party)
    gaps, end = [], spans[0][1]
    for a, b in spans[1:]:
        if a > end:
            gaps.append((end, a))
        end = max(end, b)
    return gaps


async def test_slow_greeting_and_dead_air_become_findings_in_a_worker_process(
    tmp_path: Path, ruleset: RuleSet
) -> None:
    style = AudioStyle(greeting=5.0, dead_air=12.0, dead_air_after=0.4)
    engine = scripted.queue_answered_with_hold(
        talk=70, hold=0, recordings_dir=tmp_path, audio=style
    )
    events, job = simulate(engine)
    (gap,) = [g for g in speech_gaps(job) if g[1] - g[0] >= 10]
    assert gap[1] - gap[0] == pytest.approx(12.0, abs=1e-3)  # the composed truth

    sink = Collect()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        joiner = AudioJoiner(settings(tmp_path), ruleset, Site("gb"), [sink], pool)
        await run_pipeline(events, joiner, sink, ruleset)

    (first, first_results), (again, audio_results) = sink.completed[0], sink.audio[0]
    assert first.audio is None and result(first_results, GREET).result.status is (
        CheckStatus.NOT_EVALUATED
    )
    assert again.call_id == first.call_id and again.audio is not None
    assert again.recording == engine.truth[0].recording
    assert again.audio.recording_started_at == first.answered_at
    assert again.audio.greeting_latency_seconds == pytest.approx(5.0, abs=TOL)
    greet, dead = finding(again, GREET), finding(again, DEAD)
    assert greet.value == pytest.approx(5.0, abs=TOL) and greet.threshold == 3
    assert first.answered_at is not None and greet.at == pytest.approx(first.answered_at + 3)
    assert dead.value == pytest.approx(12.0, abs=TOL) and dead.threshold == 10
    assert dead.at == pytest.approx(first.answered_at + gap[0] + 10, abs=TOL)
    assert {rr.rule.check for rr in audio_results} <= AUDIO_CHECKS
    assert {GREET, DEAD} <= {rr.rule.id for rr in audio_results}
    # the non-audio findings of the first delivery are kept
    others = {f.rule for f in first.findings}
    assert others <= {f.rule for f in again.findings}
    assert joiner.stats.analysed == 1 and joiner.stats.errors == 0


async def test_store_and_metrics_see_the_audio_once(
    tmp_path: Path, ruleset: RuleSet, threads: Executor
) -> None:
    style = AudioStyle(greeting=4.5, dead_air=None)
    engine = scripted.queue_answered_with_hold(
        talk=40, hold=0, recordings_dir=tmp_path / "rec", audio=style
    )
    events, _ = simulate(engine)
    registry = CollectorRegistry()
    metrics = RingwatchMetrics(registry, ["sim"], ["support"], metric_rules(ruleset))
    store = Store.open(f"sqlite:///{tmp_path / 'calls.sqlite'}")
    try:
        sinks = [MetricsSink(metrics), StoreSink(store)]
        joiner = AudioJoiner(settings(tmp_path / "rec"), ruleset, Site("gb"), sinks, threads)
        await run_pipeline(events, joiner, Collect(), ruleset, sinks)
        call_id = engine.truth[0].linkedid
        stored = store.call(call_id)
        assert stored is not None and stored.record.audio is not None
        assert GREET in {f.rule for f in stored.record.findings}
        assert stored.flag is not None and GREET in stored.flag.rules
    finally:
        store.close()

    def sample(name: str, **labels: str) -> float:
        value = registry.get_sample_value(name, {"pbx": "sim", "queue": "support", **labels})
        return value or 0.0

    calls = sum(
        sample("ringwatch_calls_total", direction="inbound", outcome=o)
        for o in ("answered", "abandoned")
    )
    assert calls == 1  # the call counted once, not again with its audio
    assert sample("ringwatch_greeting_seconds_count") == 1
    assert sample("ringwatch_greeting_seconds_sum") == pytest.approx(4.5, abs=TOL)
    breached = {"rule": GREET, "severity": "warning", "result": "breached"}
    assert sample("ringwatch_standard_checks_total", **breached) == 1
    met = {"rule": DEAD, "severity": "warning", "result": "met"}
    assert sample("ringwatch_standard_checks_total", **met) == 1


async def test_hold_is_cut_out_of_dead_air(
    tmp_path: Path, ruleset: RuleSet, threads: Executor
) -> None:
    # a silent 30 s hold (no music): only the hold spans keep it from being dead air
    style = AudioStyle(greeting=1.0, moh=False)
    engine = scripted.queue_answered_with_hold(
        talk=60, hold_at=20, hold=30, recordings_dir=tmp_path, audio=style
    )
    events, job = simulate(engine)
    without_holds = analyze_files([job.path], answer_at=0.0)
    assert without_holds.longest_dead_air_seconds > 29  # the test can fail

    sink = Collect()
    joiner = AudioJoiner(settings(tmp_path), ruleset, Site("gb"), [sink], threads)
    await run_pipeline(events, joiner, sink, ruleset)
    ((record, results),) = sink.audio
    assert record.hold_count == 1 and record.audio is not None
    assert record.audio.dead_air == ()
    assert result(results, DEAD).result.status is CheckStatus.MET
    assert DEAD not in {f.rule for f in record.findings}
    assert result(results, GREET).result.status is CheckStatus.MET


async def test_direct_answered_call_is_recorded_and_joined(
    tmp_path: Path, ruleset: RuleSet, threads: Executor
) -> None:
    engine = scripted.direct_answered(
        ring=5, talk=30, recordings_dir=tmp_path, audio=AudioStyle(greeting=3.6)
    )
    events, job = simulate(engine)
    assert job.path.is_file() and engine.truth[0].recording is not None
    assert not Path(engine.truth[0].recording).is_absolute()
    sink = Collect()
    joiner = AudioJoiner(settings(tmp_path), ruleset, Site("gb"), [sink], threads)
    await run_pipeline(events, joiner, sink, ruleset)
    ((record, _),) = sink.audio
    assert record.queue is None and record.audio is not None
    assert finding(record, GREET).value == pytest.approx(3.6, abs=TOL)


@pytest.mark.parametrize("damage", ["missing", "corrupt", "empty"])
async def test_bad_recording_is_counted_and_the_call_keeps_its_record(
    tmp_path: Path,
    ruleset: RuleSet,
    threads: Executor,
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = scripted.queue_answered_with_hold(talk=30, hold=0, recordings_dir=tmp_path)
    events, job = simulate(engine, write=False)
    if damage != "missing":
        job.path.parent.mkdir(parents=True)
        job.path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" if damage == "corrupt" else b"")
    sink = Collect()
    joiner = AudioJoiner(settings(tmp_path), ruleset, Site("gb"), [sink], threads)
    with caplog.at_level(logging.WARNING, logger="monitor.audio_join"):
        await run_pipeline(events, joiner, sink, ruleset)
    assert joiner.stats.errors == 1 and joiner.stats.analysed == 0
    assert sink.audio == []
    ((record, results),) = sink.completed
    assert record.audio is None
    for rule in (GREET, DEAD):
        rr = result(results, rule)
        assert rr.result.status is CheckStatus.NOT_EVALUATED and rr.result.reason == "no audio"
    assert job.path.name in caplog.text and record.call_id in caplog.text


def test_pattern_join_finds_the_call_id_as_a_whole_token(tmp_path: Path) -> None:
    record = replace(_record("1767258000.1"), started_at=1_767_258_000.0)  # 2026-01-01
    day = tmp_path / "2026" / "01" / "01"
    day.mkdir(parents=True)
    (day / "in-300-0207946-20260101-090000-1767258000.12.wav").write_bytes(b"x")  # another call
    assert locate_recording(record, settings(tmp_path)) is None
    mine = day / "in-300-0207946-20260101-090000-1767258000.1.wav"
    mine.write_bytes(b"x")
    assert locate_recording(record, settings(tmp_path)) == mine.resolve()
    dated = settings(tmp_path, pattern="{date:%Y/%m/%d}/*-{call_id}.wav")
    assert locate_recording(record, dated) == mine.resolve()
    (tmp_path / "copy-1767258000.1.wav").write_bytes(b"x")
    with pytest.raises(AudioError, match="2 recordings match"):
        locate_recording(record, settings(tmp_path))
    assert locate_recording(record, settings(tmp_path, pattern=None)) is None


def test_mixmonitor_paths_map_into_the_recordings_dir(tmp_path: Path) -> None:
    target = tmp_path / "2026" / "a.wav"
    target.parent.mkdir()
    target.write_bytes(b"x")
    for path in ("2026/a.wav", str(target), "/var/spool/asterisk/monitor/2026/a.wav"):
        rec = replace(_record("1.1"), recording=path)
        assert locate_recording(rec, settings(tmp_path)) == target.resolve()
    for bad, why in (("/etc/passwd.wav", "outside recordings_dir"), ("../x.wav", r"'\.\.'")):
        with pytest.raises(AudioError, match=why):
            locate_recording(replace(_record("1.1"), recording=bad), settings(tmp_path))
    (tmp_path / "out.wav").symlink_to("/etc/hostname")
    with pytest.raises(AudioError, match="leads out"):
        locate_recording(replace(_record("1.1"), recording="out.wav"), settings(tmp_path))


def test_recording_start_is_the_answer_unless_configured(tmp_path: Path) -> None:
    rec = _record("1.1")
    assert recording_started_at(rec, settings(tmp_path)) == rec.answered_at
    assert recording_started_at(rec, settings(tmp_path, recording_start="start")) == 100.0
    with pytest.raises(AudioError, match="recording_start"):
        settings(tmp_path, recording_start="hangup")
    with pytest.raises(AudioError, match="call_id"):
        settings(tmp_path, pattern="**/*.wav")


async def test_unanswered_calls_and_calls_without_recording_are_not_scheduled(
    tmp_path: Path, ruleset: RuleSet, threads: Executor
) -> None:
    joiner = AudioJoiner(settings(tmp_path, pattern=None), ruleset, Site("gb"), [], threads)
    joiner.call_completed(replace(_record("1.1"), answered_at=None, recording="a.wav"), [])
    joiner.call_completed(_record("1.2"), [])
    assert joiner.stats.scheduled == 0 and joiner.pending == 0
    joiner.call_completed(replace(_record("1.3"), recording="missing.wav"), [])
    assert joiner.stats.scheduled == 1
    await joiner.close()
    joiner.call_completed(replace(_record("1.4"), recording="missing.wav"), [])
    assert joiner.stats.scheduled == 1 and joiner.pending == 0


def _record(call_id: str) -> CallRecord:
    return CallRecord(
        call_id=call_id, pbx="sim", direction=Direction.INBOUND, caller="02079460123",
        dialed="02079460200", queue="support", agent="201", started_at=100.0,
        answered_at=110.0, ended_at=170.0, outcome=Outcome.ANSWERED, ring_seconds=10.0,
        rings=4, queue_wait_seconds=9.0, talk_seconds=60.0, hold_seconds=0.0, hold_count=0,
        longest_hold_seconds=0.0, transfers=0, hangup_cause=16, timing=Timing.EXACT,
    )  # fmt: skip


class BrokenPool(Executor):
    """An executor whose workers died: every submit raises BrokenExecutor."""

    def __init__(self) -> None:
        self.shut = False

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise BrokenExecutor("a worker died")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.shut = True


async def test_a_broken_worker_pool_is_replaced_once_per_break(
    tmp_path: Path, ruleset: RuleSet, threads: Executor
) -> None:
    engine = scripted.queue_answered_with_hold(talk=20, hold=0, recordings_dir=tmp_path)
    events, _ = simulate(engine)
    broken, sink = BrokenPool(), Collect()
    made: list[Executor] = []

    def factory() -> Executor:
        made.append(threads)
        return threads

    joiner = AudioJoiner(
        settings(tmp_path), ruleset, Site("gb"), [sink], broken, executor_factory=factory
    )
    await run_pipeline(events, joiner, sink, ruleset)
    assert broken.shut and made == [threads] and joiner.executor is threads
    assert joiner.stats.analysed == 1 and len(sink.audio) == 1

    # without a factory the call is counted as an error, nothing crashes
    events, _ = simulate(
        scripted.queue_answered_with_hold(talk=20, hold=0, recordings_dir=tmp_path)
    )
    joiner = AudioJoiner(settings(tmp_path), ruleset, Site("gb"), [], BrokenPool())
    await run_pipeline(events, joiner, Collect(), ruleset)
    assert joiner.stats.errors == 1 and joiner.stats.by_reason == {"broken_pool": 1}


async def test_service_wires_the_joiner_when_audio_is_enabled(tmp_path: Path) -> None:
    from monitor.config import Config, PbxConfig
    from monitor.service import Service

    rec_dir = tmp_path / "recordings"
    engine = scripted.queue_answered_with_hold(
        talk=30, hold=0, recordings_dir=rec_dir, audio=AudioStyle(greeting=4.0)
    )
    events, _ = simulate(engine)
    base = {"country": "GB", "pbxs": (PbxConfig(name="sim"),), "rules_dir": RULES}
    off = Service(Config(**base, store_url=f"sqlite:///{tmp_path / 'off.sqlite'}"))  # type: ignore[arg-type]
    assert off.audio is None and "audio" not in off.health_report()["components"]
    off.close()
    cfg = Config(
        **base,  # type: ignore[arg-type]
        store_url=f"sqlite:///{tmp_path / 'on.sqlite'}",
        recordings_dir=rec_dir,
        audio_enabled=True,
        web_enabled=False,
    )
    service = Service(cfg, registry=CollectorRegistry())
    try:
        assert service.audio is not None
        assert isinstance(service.audio.executor, ProcessPoolExecutor)
        pipeline = service.pipelines["sim"]
        assert service.audio in pipeline.sinks
        for at, msg in events:
            pipeline.feed_message(msg, received_at=at)
        await service.audio.drain()
        assert service.audio.stats.analysed == 1, service.audio.stats
        assert service.writer.flush(10)  # store writes are queued (monitor/store/writer.py)
        stored = service.store.call(engine.truth[0].linkedid)
        assert stored is not None and stored.record.audio is not None
        assert finding(stored.record, GREET).value == pytest.approx(4.0, abs=TOL)
        assert service.health_report()["components"]["audio"]["analysed"] == 1
        labels = {"pbx": "sim", "queue": "support"}
        count = service.registry.get_sample_value("ringwatch_greeting_seconds_count", labels)
        assert count == 1
        await service.audio.close()
    finally:
        service.close()


async def test_pattern_join_of_a_call_without_mixmonitor_filename(
    tmp_path: Path, ruleset: RuleSet, threads: Executor
) -> None:
    engine = scripted.queue_answered_with_hold(
        talk=30, hold=0, recordings_dir=tmp_path, audio=AudioStyle(greeting=3.8)
    )
    _, job = simulate(engine)
    sink = Collect()
    joiner = AudioJoiner(settings(tmp_path), ruleset, Site("gb"), [sink], threads)
    truth = engine.truth[0]
    assert truth.answer is not None
    record = replace(_record(truth.linkedid), started_at=truth.start, answered_at=truth.answer)
    joiner.call_completed(record, [])  # recording=None: found by the default pattern
    joiner.call_completed(replace(record, call_id=truth.linkedid + "9"), [])  # not recorded
    await joiner.drain()
    assert (joiner.stats.analysed, joiner.stats.unmatched, joiner.stats.errors) == (1, 1, 0)
    ((again, _),) = sink.audio
    assert again.audio is not None and again.recording is None
    assert again.audio.greeting_latency_seconds == pytest.approx(3.8, abs=TOL)
    assert job.path.name.endswith(f"-{truth.linkedid}.wav")


async def test_close_finishes_pending_analyses_within_its_timeout(
    tmp_path: Path, ruleset: RuleSet, threads: Executor
) -> None:
    engine = scripted.queue_answered_with_hold(talk=20, hold=0, recordings_dir=tmp_path)
    events, _ = simulate(engine)
    sink = Collect()
    joiner = AudioJoiner(settings(tmp_path), ruleset, Site("gb"), [sink], threads)
    pipeline = Pipeline(Tracker(TrackerSettings(pbx="sim")), ruleset, sinks=[joiner])
    for at, msg in events:
        pipeline.feed_message(msg, received_at=at)
    assert joiner.pending == 1
    await joiner.close(timeout=60)
    assert joiner.pending == 0 and joiner.stats.analysed == 1 and len(sink.audio) == 1
