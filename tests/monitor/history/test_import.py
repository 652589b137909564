"""``ringwatch import``: the same store as live, idempotent, resumable, progress and summary."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.cli.main import main
from monitor.config import Config, build_config
from monitor.history.progress import ProgressBar
from monitor.history.wiring import build_importer
from monitor.pipeline import Pipeline
from monitor.promises import PromiseEngine
from monitor.promises.tables import promise_events, promises
from monitor.replay import replay
from monitor.rules import Site, load_rules
from monitor.service import _promise_settings
from monitor.simulator import ContactCentre, default_config, write_transcript
from monitor.sinks import PromiseSink, StoreSink
from monitor.store.history_schema import call_checks, import_checkpoints
from monitor.store.schema import calls, findings, flags
from monitor.store.store import Store
from monitor.tracker import Tracker, TrackerSettings

ROOT = Path(__file__).parents[3]


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The house standards with missed calls due back in 30 minutes (so some promises break
    and some are kept within a few simulated hours)."""
    out = tmp_path_factory.mktemp("rules")
    text = (ROOT / "rules" / "standards.yml").read_text()
    (out / "standards.yml").write_text(
        text.replace("policy: implicit, due: 24h", "policy: implicit, due: 30m")
    )
    return out


@pytest.fixture(scope="module")
def transcript(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "day.ami"
    engine = ContactCentre(default_config(), seed=7)
    with path.open("wb") as out:
        write_transcript(engine, 4 * 3600.0, out)
    return path


def _cfg(store: Path, rules: Path) -> Config:
    return build_config(
        {"site": {"country": "GB", "timezone": "Europe/London"}, "store": {"url": str(store)},
         "rules": {"dir": str(rules)}, "pbx": [{"name": "main"}]}
    )  # fmt: skip


def _snapshot(store: Store) -> dict[str, Any]:
    """Everything a run leaves in the store, without bookkeeping times and row ids."""
    with store.engine.connect() as conn:

        def rows(table: Any, *cols: str, order: str) -> list[tuple[Any, ...]]:
            picked = [table.c[c] for c in cols]
            return [
                tuple(r) for r in conn.execute(select(*picked).order_by(table.c[order], *picked))
            ]

        return {
            "calls": rows(calls, "call_id", "outcome", "queue", "agent", "started_at", "ended_at",
                          "ring_seconds", "queue_wait_seconds", "talk_seconds", "hold_seconds",
                          order="call_id"),
            "findings": rows(findings, "call_id", "seq", "rule", "value", "at", order="call_id"),
            "flags": rows(flags, "call_id", "status", "severity", "rules", order="call_id"),
            "promises": rows(promises, "key", "state", "number", "made_at", "due_at", "closed_at",
                             "kept_by_call_id", "late_call_id", "misses", order="key"),
            "promise_events": rows(promise_events, "action", "at", "actor", "call_id",
                                   "source_key", order="at"),
        }  # fmt: skip


def _live(cfg: Config, transcript: Path, rules: Path) -> Store:
    """The service's wiring (monitor/service.py) fed the same events, ticking on event time."""
    store = Store.open(cfg.store_url)
    ruleset = load_rules(rules)
    engine = PromiseEngine(store.engine, _promise_settings(ruleset, cfg), refresh_seconds=1.0)

    def changed(change: Any) -> None:  # Service._promise_changed
        if change.finding is not None and change.promise.source_call_id:
            store.add_finding(change.promise.source_call_id, change.finding)

    promise_sink = PromiseSink(engine, "main", changed)
    settings = TrackerSettings(pbx="main", cadence_seconds=cfg.cadence_seconds)
    pipe = Pipeline(
        Tracker(settings), ruleset, site=Site("gb"), sinks=[StoreSink(store), promise_sink],
        on_promise=promise_sink.promised,
    )  # fmt: skip
    for _ in replay([transcript], pipeline=pipe):
        promise_sink.advance(pipe.now)
    promise_sink.advance(pipe.now)
    return store


def _import(cfg: Config, files: list[Path], rules: Path, **kw: Any) -> tuple[Store, Any]:
    store = Store.open(cfg.store_url)
    importer = build_importer(cfg, store, load_rules(rules), **kw)
    return store, importer


def test_import_stores_what_live_stores(tmp_path: Path, transcript: Path, rules_dir: Path) -> None:
    live = _live(_cfg(tmp_path / "live.sqlite", rules_dir), transcript, rules_dir)
    cfg = _cfg(tmp_path / "import.sqlite", rules_dir)
    store, importer = _import(cfg, [transcript], rules_dir)
    stats = importer.run([transcript])
    want, got = _snapshot(live), _snapshot(store)
    assert len(want["calls"]) > 100 and want["findings"] and want["flags"]
    states = {p[1] for p in want["promises"]}
    assert {"kept", "broken"} <= states, states  # the ledger really worked on event time
    for table in want:
        assert got[table] == want[table], table
    assert stats.calls_new == len(want["calls"])
    # every per-call result is stored for the reports (met and breached)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(call_checks)).scalar_one() > len(
            want["calls"]
        )


def test_importing_twice_adds_nothing(tmp_path: Path, transcript: Path, rules_dir: Path) -> None:
    cfg = _cfg(tmp_path / "twice.sqlite", rules_dir)
    store, importer = _import(cfg, [transcript], rules_dir)
    importer.run([transcript])
    first = _snapshot(store)
    # a copy under another name is the same file (identity: size and head hash)
    copy = tmp_path / "copy.ami"
    shutil.copy(transcript, copy)
    _, again = _import(cfg, [copy], rules_dir)
    stats = again.run([copy])
    assert stats.files_done_before == 1 and stats.events == 0
    # --restart reads it all again: still nothing added, every call found already stored
    _, forced = _import(cfg, [transcript], rules_dir, restart=True)
    stats = forced.run([transcript])
    assert stats.calls_new == 0 and stats.calls_existing == stats.calls > 100
    assert _snapshot(store) == first


def test_the_gc_settings_are_put_back(tmp_path: Path, transcript: Path, rules_dir: Path) -> None:
    """The import tunes the cyclic GC for its run (``_batch_gc``), and puts it back, also
    after Ctrl-C."""
    import gc

    before = gc.get_threshold()
    cfg = _cfg(tmp_path / "gc.sqlite", rules_dir)
    seen: list[tuple[int, ...]] = []

    def progress(done: int, total: int, events: int) -> None:
        seen.append(gc.get_threshold())
        raise KeyboardInterrupt

    _, importer = _import(cfg, [transcript], rules_dir)
    importer.progress = progress
    with pytest.raises(KeyboardInterrupt):
        importer.run([transcript])
    assert seen and seen[0][0] == 50_000  # tuned while it ran
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


class _Stop:
    """A progress callback that presses Ctrl-C once ``after`` events were read."""

    def __init__(self, after: int) -> None:
        self.after = after

    def __call__(self, done: int, total: int, events: int) -> None:
        if events >= self.after:
            raise KeyboardInterrupt


def test_ctrl_c_then_resume_gives_the_same_store(
    tmp_path: Path, transcript: Path, rules_dir: Path
) -> None:
    whole_cfg = _cfg(tmp_path / "whole.sqlite", rules_dir)
    whole, importer = _import(whole_cfg, [transcript], rules_dir)
    all_events = importer.run([transcript]).events

    cfg = _cfg(tmp_path / "resumed.sqlite", rules_dir)
    store, first = _import(cfg, [transcript], rules_dir, batch_calls=20)
    first.checkpoint_seconds = 0.0  # a checkpoint at every progress call
    first.progress = _Stop(after=9000)
    with pytest.raises(KeyboardInterrupt):
        first.run([transcript])
    assert first.stats.interrupted and first.stats.calls_new > 0
    with store.engine.connect() as conn:
        (cp,) = conn.execute(select(import_checkpoints)).mappings().all()
    assert cp["status"] == "partial" and 0 < cp["resume_offset"] < cp["size"]
    _, second = _import(cfg, [transcript], rules_dir)
    stats = second.run([transcript])
    assert stats.files_resumed == 1 and stats.events < all_events  # not read from the start
    assert stats.calls_existing > 0  # the overlap before the resume point was recognised
    assert _snapshot(store) == _snapshot(whole)


def test_progress_bar_shows_rate_and_eta() -> None:
    ticks = iter([0.0, 10.0, 10.0])
    out = io.StringIO()
    bar = ProgressBar(out, every=0.0, clock=lambda: next(ticks))
    bar(25 << 20, 100 << 20, 50_000)
    line = out.getvalue()
    assert "25.0%" in line and "5,000 events/s" in line and "ETA 0:00:30" in line


def test_cli_summary_and_exit_codes(
    tmp_path: Path, transcript: Path, rules_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.sqlite"
    args = ["import", "--store", str(db), "--rules", str(rules_dir), "--quiet", str(transcript)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "1 file(s)" in err and "new" in err and "report intervals" in err
    assert main([*args[:-1], str(tmp_path / "missing.ami")]) == 2
    assert "no such file" in capsys.readouterr().err
