"""Hot reload: hold the current rule set, swap it only for a valid new one, watch files.

``RuleSetHolder.reload()`` validates the files again; on error it keeps the old set and
returns the problems (the service logs them). ``RulesWatcher.poll()`` compares file mtimes and
reloads on a change; ``watch_rules`` polls until a stop event is set (the lead wires SIGHUP to
``holder.reload``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.errors import RulesError
from monitor.rules.loader import load_rules, rule_files
from monitor.rules.model import RuleSet

__all__ = ["RuleSetHolder", "RulesWatcher", "watch_rules"]


class RuleSetHolder:
    """The rule set in force. The first load raises RulesError; later reloads never do."""

    def __init__(self, paths: str | Path | Sequence[str | Path]) -> None:
        self.paths: list[str | Path] = [paths] if isinstance(paths, str | Path) else list(paths)
        self._current = load_rules(self.paths)
        self.generation = 1
        self.last_errors: tuple[str, ...] = ()

    @property
    def current(self) -> RuleSet:
        return self._current

    def reload(self) -> tuple[str, ...]:
        """Load again; swap on success and return (), keep the old set and return the errors."""
        try:
            new = load_rules(self.paths)
        except RulesError as exc:
            self.last_errors = exc.problems
            return exc.problems
        self._current = new
        self.generation += 1
        self.last_errors = ()
        return ()


class RulesWatcher:
    """Polls the holder's rule files' mtimes and sizes; reloads when they change."""

    def __init__(self, holder: RuleSetHolder) -> None:
        self.holder = holder
        self._seen = self._stamp()

    def _stamp(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for p in self.holder.paths:
            for f in rule_files(p):
                with contextlib.suppress(OSError):
                    st = f.stat()
                    out[str(f)] = (st.st_mtime_ns, st.st_size)
        return out

    def poll(self) -> tuple[str, ...] | None:
        """None when nothing changed; else the reload's errors (() on success)."""
        now = self._stamp()
        if now == self._seen:
            return None
        self._seen = now
        return self.holder.reload()


async def watch_rules(
    holder: RuleSetHolder,
    stop: asyncio.Event,
    *,
    interval: float = 2.0,
    on_reload: Callable[[tuple[str, ...]], None] | None = None,
) -> None:
    """Poll every ``interval`` seconds until ``stop`` is set; call ``on_reload(errors)``."""
    watcher = RulesWatcher(holder)
    while not stop.is_set():
        result = watcher.poll()
        if result is not None and on_reload is not None:
            on_reload(result)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
