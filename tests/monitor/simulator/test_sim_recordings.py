"""The simulator writes call recordings: where, when, how they sound, deterministically."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from collectors.audio.analysis import analyze_files
from monitor.simulator import (
    AudioStyle,
    ContactCentre,
    RecordingJob,
    RecordingWriter,
    ServerConfig,
    SimulatorServer,
    default_config,
    scripted,
)
from monitor.simulator.recordings import build_spec, draw_style, write_recording


def test_without_recordings_dir_paths_are_the_pbx_spool_and_nothing_is_written() -> None:
    engine = scripted.queue_answered_with_hold(hold=0)
    engine.run_all()
    (call,) = engine.truth
    assert call.recording is not None
    assert call.recording.startswith("/var/spool/asterisk/monitor/2026/01/01/q-support-")
    assert engine.take_recording_jobs() == []


def test_with_recordings_dir_paths_are_relative_and_a_job_is_made(tmp_path: Path) -> None:
    engine = scripted.queue_answered_with_hold(hold_at=20, hold=30, recordings_dir=tmp_path)
    engine.run_all()
    (call,) = engine.truth
    (job,) = engine.take_recording_jobs()
    assert call.recording is not None and not call.recording.startswith("/")
    assert job.path == tmp_path / call.recording and job.linkedid == call.linkedid
    assert (job.answer, job.end) == (call.answer, call.end)
    assert job.holds == tuple((h.start, h.end) for h in call.holds)
    assert engine.take_recording_jobs() == []  # taken once
    assert not job.path.exists()  # the engine does no I/O
    write_recording(job)
    assert job.path.is_file() and not list(tmp_path.rglob("*.part"))
    assert job.path.stat().st_mode & 0o777 == 0o640  # personal data: not world-readable
    facts = analyze_files([job.path])
    assert facts.duration_seconds == pytest.approx(call.end - (call.answer or 0), abs=0.01)


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    def first_jobs(root: Path) -> list[RecordingJob]:
        engine = ContactCentre(default_config(), seed=5, recordings_dir=root)
        engine.run_until(engine.now + 1200)
        return engine.take_recording_jobs()[:2]

    a, b = first_jobs(tmp_path / "a"), first_jobs(tmp_path / "b")
    assert len(a) == 2
    key = [(j.linkedid, j.style, j.holds) for j in a]
    assert key == [(j.linkedid, j.style, j.holds) for j in b]
    for ja, jb in zip(a, b, strict=True):
        assert write_recording(ja).read_bytes() == write_recording(jb).read_bytes()
    assert draw_style(5, a[0].linkedid) == a[0].style != draw_style(6, a[0].linkedid)


def test_a_day_of_traffic_has_slow_greetings_dead_air_and_overtalk(tmp_path: Path) -> None:
    engine = ContactCentre(default_config(), seed=1, recordings_dir=tmp_path)
    engine.run_until(engine.now + 8 * 3600)
    jobs = engine.take_recording_jobs()
    kinds = Counter(t.kind for t in engine.truth if t.recording)
    assert kinds["queue"] > 300 and kinds["direct"] > 5
    assert len(jobs) == sum(1 for t in engine.truth if t.recording and t.answer is not None)
    slow = sum(1 for j in jobs if j.style.greeting > 3)
    dead = sum(1 for j in jobs if j.style.dead_air)
    over = sum(1 for j in jobs if j.style.overtalk)
    for n in (slow, dead, over):
        assert 0.08 * len(jobs) < n < 0.25 * len(jobs)
    # every conversation fits its call and never speaks into a hold
    for job in jobs[:50]:
        spec = build_spec(job)
        assert spec.utterances and spec.utterances[0].at == job.style.greeting
        for u in spec.utterances:
            assert all(not (h.start < u.at < h.end) for h in spec.holds)


def test_overtalk_style_is_heard_as_overtalk(tmp_path: Path) -> None:
    style = AudioStyle(greeting=1.0, overtalk=2.0)
    engine = scripted.queue_answered_with_hold(
        talk=40, hold=0, recordings_dir=tmp_path, audio=style
    )
    engine.run_all()
    (job,) = engine.take_recording_jobs()
    facts = analyze_files([write_recording(job)], answer_at=0.0)
    assert max(s.seconds() for s in facts.overtalk) == pytest.approx(2.0, abs=0.1)


def test_writer_counts_failures_and_keeps_going(tmp_path: Path) -> None:
    good = RecordingJob(tmp_path / "ok.wav", "1.1", 0.0, 12.0, (), AudioStyle())
    bad = RecordingJob(tmp_path / "bad.wav", "1.2", 5.0, 5.0, (), AudioStyle())
    writer = RecordingWriter()
    try:
        writer.submit([bad, good])
        writer.wait(timeout=30)
    finally:
        writer.close()
    assert (writer.written, writer.errors) == (1, 1)
    assert (tmp_path / "ok.wav").is_file() and not (tmp_path / "bad.wav").exists()


async def test_server_writes_recordings_as_its_clock_runs(tmp_path: Path) -> None:
    engine = ContactCentre(default_config(), seed=2, recordings_dir=tmp_path)
    config = ServerConfig(host="127.0.0.1", port=0, secret="x", failed_login_delay=0)
    async with SimulatorServer(engine, config) as server:
        assert server.recordings is not None
        await server.advance(900)
        await server.recordings.drain()
        written = sorted(tmp_path.rglob("*.wav"))
        recorded = [t for t in engine.truth if t.recording and t.answer is not None]
        assert len(written) == len(recorded) == server.recordings.written > 0
        assert {p.relative_to(tmp_path).as_posix() for p in written} == {
            t.recording for t in recorded
        }


def test_writer_keeps_only_the_newest_recordings(tmp_path: Path) -> None:
    jobs = [
        RecordingJob(tmp_path / f"{i}.wav", f"1.{i}", 0.0, 3.0, (), AudioStyle(greeting=0.5))
        for i in range(4)
    ]
    writer = RecordingWriter(keep=2)
    try:
        for job in jobs:  # one at a time, so "newest" is well defined
            writer.submit([job])[0].result(timeout=30)
    finally:
        writer.close()
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["2.wav", "3.wav"]
    assert (writer.written, writer.deleted) == (4, 2)
    with pytest.raises(ValueError, match="keep"):
        RecordingWriter(keep=0)
