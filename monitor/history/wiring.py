"""An :class:`Importer` wired as the live service wires its pipeline (monitor/service.py):
the same tracker settings, rules, site, and the same promise ledger and its settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from monitor import events as ev
from monitor.config import Config
from monitor.history.importer import Importer, Progress
from monitor.pipeline import CallSink, Pipeline, judge
from monitor.promises import PromiseEngine
from monitor.promises.settings import site_settings
from monitor.rules import RuleSet, Site
from monitor.sinks import PromiseSink
from monitor.store.store import Store
from monitor.tracker import Tracker, TrackerSettings

__all__ = ["build_importer"]


def build_importer(
    cfg: Config,
    store: Store,
    ruleset: RuleSet | None,
    *,
    pbx: str | None = None,
    progress: Progress | None = None,
    restart: bool = False,
    batch_calls: int | None = None,
    writer_process: bool = True,
) -> Importer:
    """The importer for ``cfg``: with ``ruleset`` None, calls are stored without findings and
    the promise ledger uses its defaults (as the service does with no callback rule).
    ``writer_process`` False keeps the store writes in this process (monitor/history/writer.py)."""
    first = cfg.pbxs[0]
    name = pbx or first.name
    settings = TrackerSettings(
        pbx=name,
        cadence_seconds=cfg.cadence_seconds,
        inbound_contexts=first.inbound_contexts,
        internal_contexts=first.internal_contexts,
        outside_min_digits=cfg.outside_min_digits,
        stale_after_seconds=cfg.stale_after_seconds,
    )
    # the service's own policy (not the service: importing it costs the web stack, 0.6 s)
    promise_cfg = site_settings((ruleset or RuleSet()).rules, country=cfg.country, pbx=first.name)
    engine = PromiseEngine(store.engine, promise_cfg, refresh_seconds=1.0)
    promises = PromiseSink(engine, name)
    site = Site(cfg.country.lower())

    def make(
        sinks: Sequence[CallSink], on_promise: Callable[[ev.CallbackPromised], None]
    ) -> Pipeline:
        return Pipeline(Tracker(settings), ruleset, site=site, sinks=sinks, on_promise=on_promise)

    return Importer(
        store,
        make,
        promises,
        pbx=name,
        timezone=cfg.timezone,
        stale_after_seconds=cfg.stale_after_seconds,
        progress=progress,
        restart=restart,
        batch_calls=batch_calls,
        writer_process=writer_process,
        judge=partial(judge, rules=ruleset, site=site),
    )
