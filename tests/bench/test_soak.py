"""The soak (bench/soak.py) measures what it says: the slope of RSS samples per 10 minutes,
and a short run against the real service holds its rate and reports a slope."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.faults import LONG, Report, summary  # noqa: E402
from bench.soak import Soak, slope_per_10min  # noqa: E402


def test_slope_is_per_ten_minutes_and_flat_is_zero() -> None:
    rising = [(float(t), 100.0 + t / 600) for t in range(0, 1800, 5)]  # 1 MiB per 10 min
    assert slope_per_10min(rising) == pytest.approx(1.0)
    assert slope_per_10min([(float(t), 80.0) for t in range(0, 600, 5)]) == pytest.approx(0.0)
    assert slope_per_10min([(0.0, 1.0), (5.0, 2.0)]) is None  # too few samples


def test_the_long_forms_four_figures_are_printed() -> None:
    r = Report(reconnect_seconds=0.5, lost=0, doubled=0, checkable_calls=10,
               rss_slope_mib_per_10min=0.4, rss_mib_start_end=(80.0, 80.2),
               scrape_ms_median=70.0)  # fmt: skip
    text = summary(r, LONG)
    assert "reconnect after a PBX restart: 0.5 s" in text
    assert "calls lost / doubled vs the simulator's truth: 0 / 0 of 10" in text
    assert "RSS slope: 0.4 MiB / 10 min" in text
    assert "scrape with 10,000 overdue promises: 70.0 ms" in text


def test_a_short_soak_feeds_the_service_and_reports_rss(tmp_path: Path) -> None:
    soak = Soak(0.4, 300.0, 0.1, 1, tmp_path)
    r = asyncio.run(soak.run())
    assert r.service_exit is None, (tmp_path / "service.log").read_text()
    assert r.rate_sent > 150 and r.rate_counted > 150, r
    assert r.calls_stored > 0 and r.rss_mib_after_warmup is not None, r
    assert r.rss_slope_mib_per_10min is not None, r
