"""Hot reload keeps the old rule set on error; the mtime watcher reloads on change."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from monitor.errors import RulesError
from monitor.rules import RuleSetHolder, RulesWatcher, watch_rules

GOOD = "groups:\n- name: g\n  rules:\n  - {id: t, check: transfers, params: {max: 1}}\n"
GOOD2 = GOOD + "  - {id: h, check: longest_hold, params: {max: 60}}\n"
BAD = "groups:\n- name: g\n  rules:\n  - {id: t, check: transfer, params: {max: 1}}\n"


def _write(path: Path, text: str, bump: int) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_reload_swaps_on_success_and_keeps_old_on_error(tmp_path: Path) -> None:
    f = tmp_path / "standards.yml"
    f.write_text(GOOD)
    holder = RuleSetHolder(tmp_path)
    assert holder.current.ids == ("t",) and holder.generation == 1
    f.write_text(BAD)
    errors = holder.reload()
    assert errors and 'unknown check "transfer" (did you mean "transfers"?)' in errors[0]
    assert holder.current.ids == ("t",) and holder.generation == 1
    assert holder.last_errors == errors
    f.write_text(GOOD2)
    assert holder.reload() == ()
    assert holder.current.ids == ("t", "h") and holder.generation == 2


def test_first_load_raises(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text(BAD)
    with pytest.raises(RulesError):
        RuleSetHolder(tmp_path)


def test_watcher_polls_mtimes(tmp_path: Path) -> None:
    f = tmp_path / "standards.yml"
    f.write_text(GOOD)
    holder = RuleSetHolder(tmp_path)
    watcher = RulesWatcher(holder)
    assert watcher.poll() is None
    _write(f, GOOD2, 1)
    assert watcher.poll() == ()
    assert holder.current.ids == ("t", "h")
    assert watcher.poll() is None
    _write(f, BAD, 2)
    errors = watcher.poll()
    assert errors and holder.current.ids == ("t", "h")
    (tmp_path / "more.yml").write_text(GOOD.replace("id: t", "id: m"))
    again = watcher.poll()  # a new file is a change; the bad file still fails
    assert again and "standards.yml" in again[0] and holder.current.ids == ("t", "h")
    _write(f, GOOD, 3)
    assert watcher.poll() == () and holder.current.ids == ("m", "t")


async def test_watch_rules_loop_reloads_and_stops(tmp_path: Path) -> None:
    f = tmp_path / "standards.yml"
    f.write_text(GOOD)
    holder = RuleSetHolder(tmp_path)
    stop = asyncio.Event()
    reloaded: asyncio.Queue[tuple[str, ...]] = asyncio.Queue()
    task = asyncio.create_task(
        watch_rules(holder, stop, interval=0.01, on_reload=reloaded.put_nowait)
    )
    await asyncio.sleep(0)  # let the watcher take its first snapshot
    _write(f, GOOD2, 5)
    assert await asyncio.wait_for(reloaded.get(), timeout=5) == ()
    assert holder.current.ids == ("t", "h")
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert task.done()
