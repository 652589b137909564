"""QA review metrics read from the store at scrape time (cached): flags waiting for review and
reviews closed by disposition."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from monitor.metrics.names import m
from monitor.store.schema import REVIEW_DISPOSITIONS, flags, reviews
from monitor.store.store import Store

__all__ = ["QaCollector"]


class QaCollector(Collector):
    """``ringwatch_qa_flags_open`` (gauge) and ``ringwatch_qa_reviews_total{disposition}``.

    The store is asked at most once per ``cache_seconds`` so a fast scrape never loads it.
    """

    def __init__(
        self,
        store: Store,
        cache_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cached: tuple[float, int, dict[str, int]] | None = None

    def _read(self) -> tuple[int, dict[str, int]]:
        now = self._monotonic()
        if self._cached is not None and now - self._cached[0] < self.cache_seconds:
            return self._cached[1], self._cached[2]
        with self.store.engine.connect() as conn:
            open_flags = conn.execute(
                select(func.count()).select_from(flags).where(flags.c.status != "closed")
            ).scalar_one()
            rows = conn.execute(
                select(reviews.c.disposition, func.count())
                .where(
                    reviews.c.disposition.is_not(None),
                    reviews.c.state == "closed",
                    reviews.c.kind == "review",  # calibration scores are not reviews
                )
                .group_by(reviews.c.disposition)
            ).all()
        by_disposition = {str(d): int(n) for d, n in rows}
        self._cached = (now, int(open_flags), by_disposition)
        return int(open_flags), by_disposition

    def describe(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield GaugeMetricFamily(m("qa_flags_open"), "Flagged calls not yet closed by a review.")
        yield CounterMetricFamily(
            m("qa_reviews"), "Closed QA reviews by disposition.", labels=["disposition"]
        )

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        open_flags, by_disposition = self._read()
        gauge = GaugeMetricFamily(m("qa_flags_open"), "Flagged calls not yet closed by a review.")
        gauge.add_metric([], open_flags)
        yield gauge
        counter = CounterMetricFamily(
            m("qa_reviews"), "Closed QA reviews by disposition.", labels=["disposition"]
        )
        for disposition in REVIEW_DISPOSITIONS:
            by_disposition.setdefault(disposition, 0)
        for disposition, n in sorted(by_disposition.items()):
            counter.add_metric([disposition], n)
        yield counter
