"""The benchmark modules run on tiny inputs and give sane figures (never timing goals)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import (  # noqa: E402
    audio_bench,
    common,
    ingest_bench,
    live_bench,
    parse_bench,
    run,
    scrape_bench,
)


def test_parse_bench_every_adapter_sees_every_event() -> None:
    r = parse_bench.run(events=1500, repeats=2)
    assert r["events"] >= 1500
    assert set(r["counts"]) >= {"ringwatch", "bare split"}
    assert all(n == r["events"] for n in r["counts"].values()), r["counts"]
    assert set(r["ratio_vs"]) == set(r["counts"]) - {"ringwatch"}
    assert all(v > 0 for v in r["ratio_vs"].values())
    s = r["events_per_s"]["ringwatch"]
    assert len(s["values"]) == 2 and s["min"] <= s["median"] <= s["max"]


def test_ingest_bench_runs_the_pipeline_in_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_bench, "CACHE", tmp_path)
    r = ingest_bench.run_ingest(days_per_segment=0.01, repeats=1, segments=2)
    files = list(tmp_path.glob("ingest-*.ami"))
    assert len(files) == 2
    assert r["events"] > 100
    assert r["bytes"] == sum(f.stat().st_size for f in files)
    assert r["calls"] > 0
    assert r["events_per_s"]["median"] > 0
    assert r["peak_rss_mib"]["median"] > 10
    assert r["compiled"] is True  # make test builds the compiled hot path
    assert r["pure_python_events_per_s"] > 0  # and the same pass ran from the sources


def test_memory_bench_holds_every_call_open() -> None:
    r = ingest_bench.run_memory(calls=200, repeats=1)
    assert r["held"] == 200
    assert r["messages"] == 200 * len(ingest_bench.call_template())
    assert 100 < r["bytes_per_call_tracker"]["median"] < 100_000
    assert r["bytes_per_call_pipeline"]["median"] >= r["bytes_per_call_tracker"]["median"] * 0.8


def test_live_bench_pairs_every_written_event() -> None:
    r = live_bench.run(rate=1000.0, seconds=0.3, repeats=1)
    assert r["sent"] == 300
    assert r["finished"] == 300
    assert 0 < r["p50_ms"]["median"] <= r["p99_ms"]["median"] <= r["max_ms"]["median"]


def test_audio_bench_compares_with_bare_vad() -> None:
    r = audio_bench.run(seconds=20.0, rate=8000, repeats=2)
    assert r["frames"] == 2 * int(20.0 * 1000 // 30)
    assert r["realtime_x"]["median"] > 1
    assert 0 < r["relative_to_bare"]["median"] < 10


def test_scrape_bench_renders_per_agent_series() -> None:
    r = scrape_bench.run(queues=2, agents=5, repeats=2)
    assert r["calls_fed"] == 10
    assert r["samples"] > 10
    assert r["body_bytes"] > 1000
    assert len(r["render_ms"]["values"]) == 2


def test_run_table_and_doc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = {
        "machine": common.machine(),
        "parse": {
            "events_per_s": {
                "ringwatch": {"median": 200.0, "min": 190.0, "max": 210.0},
                "panoramisk": {"median": 50.0, "min": 40.0, "max": 60.0},
            },
            "ratio_vs": {"panoramisk": 4.0},
        },
    }
    text = run.table(fake)
    assert "ringwatch ×4.00" in text and "≥ 4×" in text
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nprose\n", encoding="utf-8")
    monkeypatch.setattr(run, "DOC", doc)
    run.write_doc(fake)
    run.write_doc(fake)  # replaces its block, keeps the prose
    out = doc.read_text(encoding="utf-8")
    assert out.count("<!-- bench:begin -->") == 1 and "prose" in out
    assert fake["machine"]["cpu"] in out
    assert f"Python loop took {fake['machine']['python_loop_s']:.2f} s" in out
    assert 0 < fake["machine"]["python_loop_s"] < 60


def test_history_benches_count_what_they_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import history_bench

    monkeypatch.setattr(history_bench, "CACHE", tmp_path)
    imp = history_bench.run_import(0.1, 1, with_pg=False)
    assert imp["sqlite"]["events"] > 50 and imp["sqlite"]["events_per_s"]["median"] > 0
    # the store work ran in the writer process, whose own pages count in the memory figure
    assert imp["sqlite"]["writer_process"] is True
    assert imp["sqlite"]["total_mib"] > imp["sqlite"]["peak_rss_mib"] > 10
    rep = history_bench.run_report(500, 1)
    assert rep["sqlite"]["month_by_day_and_queue"]["offered"] == 500
    assert rep["sqlite"]["buckets"] > 100
    row_names = [r[0] for r in run.rows({"history_import": imp, "history_report": rep})]
    assert any("History import into sqlite" in n for n in row_names)
    assert any("Month standards report" in n for n in row_names)


def test_big_transcript_repeats_the_simulator_with_new_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip
    import re

    from bench import history_bench

    assert history_bench.parse_size("300M") == 300 << 20
    assert history_bench.parse_size("2.6G") == int(2.6 * (1 << 30))
    monkeypatch.setattr(history_bench, "CACHE", tmp_path)
    one = history_bench._transcript(0.1).read_bytes()
    path = history_bench.big_transcript(3 * len(one) - 10, base_hours=0.1)
    data = gzip.decompress(path.read_bytes())
    assert 2 * len(one) < len(data) <= 3 * len(one) - 10
    assert data.endswith((b"\n\n", b"\r\n\r\n"))  # whole messages only
    first = set(re.findall(rb"Linkedid: (\S+)", one))
    later = set(re.findall(rb"Linkedid: (\S+)", data[len(one) :]))
    assert first and later and not first & later  # each copy's calls are new calls
    assert data.count(b"Event: ") > 2 * one.count(b"Event: ")
