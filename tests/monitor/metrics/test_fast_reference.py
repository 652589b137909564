"""The fast metric store and writer against prometheus-client: for the same updates, the
parsed exposition (families, samples, values, exemplars) equals what prometheus-client's own
Counter/Gauge/Histogram give, ``_created`` aside (decision 0005)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse

from monitor.metrics import RingwatchMetrics, render_metrics
from monitor.metrics.alert_sources import metric_rules
from monitor.metrics.exposition import encode
from monitor.metrics.fast import CounterFamily, GaugeFamily, HistogramFamily, Key
from monitor.metrics.metric_store import MetricStore
from monitor.record import CallRecord, Finding, Outcome, Severity
from monitor.rules.evaluate import evaluate_results
from monitor.rules.model import RuleSet
from monitor.sinks import MetricsSink

OM = "application/openmetrics-text; version=1.0.0"
WEIRD = 'a "quoted" back\\slash\nnew line'

Family = CounterFamily | GaugeFamily | HistogramFamily
Twin = Counter | Gauge | Histogram
SampleKey = tuple[str, tuple[tuple[str, str], ...]]


def parsed(body: str, openmetrics: bool) -> list[tuple[str, str, str, list[Any]]]:
    """Families as comparable data, without ``_created`` samples or families."""
    out = []
    for fam in (om_parse if openmetrics else text_parse)(body):
        if fam.name.endswith("_created"):  # the text format makes them gauge families
            continue
        samples = []
        for s in fam.samples:
            if s.name.endswith("_created"):
                continue
            ex = None
            if s.exemplar is not None:
                ex = (s.exemplar.labels, _value(s.exemplar.value), s.exemplar.timestamp)
            samples.append((s.name, tuple(sorted(s.labels.items())), _value(s.value), ex))
        out.append((fam.name, fam.type, fam.documentation, samples))
    return out


def _value(v: float) -> float | str:
    return "NaN" if math.isnan(v) else v


def assert_same(fast: CollectorRegistry, reference: CollectorRegistry) -> None:
    """Same families and samples in the same order; exemplar times within a minute."""
    for accept, om in ((OM, True), (None, False)):
        got = parsed(render_metrics(fast, accept).body.decode(), om)
        want = parsed(render_metrics(reference, accept).body.decode(), om)
        assert [f[:3] for f in got] == [f[:3] for f in want]
        for g, w in zip(got, want, strict=True):
            assert [s[:3] for s in g[3]] == [s[:3] for s in w[3]], g[0]
            for gs, ws in zip(g[3], w[3], strict=True):
                if ws[3] is None:
                    assert gs[3] is None, gs
                else:
                    assert gs[3] is not None, gs
                    assert gs[3][:2] == ws[3][:2], gs
                    assert abs(float(gs[3][2]) - float(ws[3][2])) < 60.0
        if om:
            assert any(s[3] for f in want for s in f[3]), "the comparison saw no exemplar"


# ---- a prometheus-client twin of every family, fed every update ------------------------------
def twin_of(family: Family, registry: CollectorRegistry) -> Twin:
    args = (family.name, family.documentation, family.labelnames)
    if isinstance(family, HistogramFamily):
        return Histogram(*args, buckets=family.bounds, registry=registry)
    if isinstance(family, CounterFamily):
        return Counter(*args, registry=registry)
    return Gauge(*args, registry=registry)


def mirror(store: MetricStore, registry: CollectorRegistry) -> None:
    """Give each family of ``store`` a twin on ``registry`` holding its current series, and
    wrap the family's update methods so that every later update reaches the twin too."""
    for family in store.families:
        twin = twin_of(family, registry)

        def child(key: Key, twin: Any = twin, family: Family = family) -> Any:
            return twin.labels(*key) if family.labelnames else twin

        for key in family.series_keys():
            c = child(key)
            if isinstance(family, GaugeFamily):
                c.set(family.get(key))
            elif isinstance(family, CounterFamily):
                c.inc(family.get(key) or 0.0)
            else:
                assert family.get(key) == ([0.0] * len(family.bounds), 0.0), family.name
        _wrap(family, "init", lambda key=(), c=child: c(key))
        if isinstance(family, CounterFamily):
            _wrap(family, "inc", lambda key=(), n=1.0, ex=None, c=child: c(key).inc(n, ex))
        elif isinstance(family, GaugeFamily):
            _wrap(family, "set", lambda key, v, c=child: c(key).set(v))
        else:
            _wrap(family, "observe", lambda key, v, ex=None, c=child: c(key).observe(v, ex))


def _wrap(family: Family, method: str, also: Callable[..., object]) -> None:
    original = getattr(family, method)

    def both(*args: Any) -> None:
        original(*args)
        also(*args)

    setattr(family, method, both)


# ---- tests ----------------------------------------------------------------------------------
def test_families_match_prometheus_client_for_random_updates() -> None:
    store = MetricStore()
    counter = store.counter("t_events", "Events, with a \\ and a\nnewline.", ["kind", "where"])
    gauge = store.gauge("t_level", 'A "level".', ["where"])
    plain = store.gauge("t_plain", "No labels.")
    hist = store.histogram(
        "t_seconds", "Durations.", ["where"], (0.005, 0.25, 1, 2.5, 20, 1e6, 2.5e7)
    )
    fast, reference = CollectorRegistry(), CollectorRegistry()
    fast.register(store)
    mirror(store, reference)
    rng = random.Random(5)
    wheres = ["", "x", WEIRD, "é", "le"]
    values = [0.0, 1.0, 0.25, 20.0, 2.5e7, 1234567.0, 1e-7, 0.1 + 0.2, math.inf, 3e300]
    for i in range(600):
        where = rng.choice(wheres)
        ex = {"call_id": f"{i}.{rng.random()}"} if rng.random() < 0.2 else None
        op = rng.randrange(4)
        if op == 0:
            counter.inc((rng.choice(["a", "b"]), where), rng.choice([1.0, 2.0, 0.5]), ex)
        elif op == 1:
            gauge.set((where,), rng.choice([*values, -3.5, -math.inf, -0.0, math.nan]))
        elif op == 2:
            plain.set((), rng.choice(values))
        else:
            hist.observe((where,), rng.choice([*values, rng.uniform(0, 30)]), ex)
        if i % 150 == 149:  # scrapes in between: a series updated after a scrape is rewritten
            assert_same(fast, reference)


def test_ringwatch_metrics_match_prometheus_client_reference(
    ruleset: RuleSet, call_feed: list[list[CallRecord]], record_factory: Callable[..., CallRecord]
) -> None:
    """The exporter through MetricsSink, agent label on, odd queue and agent names."""
    queues = ("sales", "support", WEIRD)
    metrics = RingwatchMetrics(
        CollectorRegistry(), ["hq", "branch"], queues, metric_rules(ruleset), agent_label=True
    )
    reference = CollectorRegistry()
    mirror(metrics.store, reference)
    reference.register(metrics.live)
    sink = MetricsSink(metrics)
    records = [r for batch in call_feed for r in batch]
    late = Finding("hold-under-two-minutes", Severity.CRITICAL, 150, 120, None)
    records += [
        record_factory(40, queue=WEIRD, agent=WEIRD, holds=(150.0,), findings=(late,)),
        record_factory(41, pbx="branch", queue=None, outcome=Outcome.ABANDONED, wait=70.0),
        record_factory(42, queue="support", agent="bob", wait=2.0),
    ]
    for record in records:
        sink.call_completed(record, evaluate_results(record, ruleset))
    metrics.promise_outcome("hq", "kept", 1800.0)
    metrics.ami_up("branch", True)
    metrics.ami_event("hq", 41)
    metrics.event_lag_seconds("hq", 0.125)
    assert_same(metrics.registry, reference)


def test_fast_body_is_byte_identical_to_prometheus_client_encoder(
    ruleset: RuleSet, call_feed: list[list[CallRecord]]
) -> None:
    """The direct writer and prometheus-client's encoder over the very same registry (the
    store's samples through the generic path), with other collectors before and after it."""
    registry = CollectorRegistry()
    before = Counter("aaa_other", "Registered before ringwatch.", ["x"], registry=registry)
    before.labels(x=WEIRD).inc(3)
    metrics = RingwatchMetrics(
        registry, ["hq"], ("sales", WEIRD), metric_rules(ruleset), agent_label=True
    )
    Gauge("zzz_after", "Registered after.", registry=registry).set(1e7)
    sink = MetricsSink(metrics)
    for record in (r for batch in call_feed for r in batch):
        sink.call_completed(record, evaluate_results(record, ruleset))
    metrics.event_lag_seconds("hq", -0.0)
    metrics.ami_event("hq", 1234567)
    from prometheus_client import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as om_latest

    om = render_metrics(registry, OM).body
    assert om == om_latest(registry)
    assert om.count(b"# EOF") == 1 and om.endswith(b"\n# EOF\n")
    assert b"# {call_id=" in om
    assert render_metrics(registry).body == generate_latest(registry)
    assert render_metrics(registry, "text/plain; version=1.0.0").body == generate_latest(registry)


def test_escaping_and_number_formats(ruleset: RuleSet) -> None:
    metrics = RingwatchMetrics(CollectorRegistry(), ["hq"], [WEIRD], metric_rules(ruleset))
    metrics.event_lag_seconds("hq", 12345678.0)
    metrics.ami_event("hq", 3)
    text = render_metrics(metrics.registry, OM).body.decode()
    # a line of the store (the live gauges carry the queue too, through prometheus-client)
    weird = 'queue="a \\"quoted\\" back\\\\slash\\nnew line"'
    assert f'ringwatch_hold_seconds_count{{pbx="hq",{weird}}} 0.0\n' in text
    assert 'ringwatch_event_lag_seconds{pbx="hq"} 1.2345678e+07\n' in text
    assert 'ringwatch_ami_events_total{pbx="hq"} 3.0\n' in text
    assert 'le="+Inf"' in text and 'le="20.0"' in text and 'le="172800.0"' in text
    labels = {
        s.labels["queue"]
        for fam in om_parse(text)
        for s in fam.samples
        if s.name == "ringwatch_hold_seconds_count"
    }
    assert labels == {"", WEIRD}


def test_no_created_samples(metrics: RingwatchMetrics) -> None:
    for accept in (OM, None):
        body = render_metrics(metrics.registry, accept).body
        assert b"_created" not in body


def test_other_formats_fall_back_to_prometheus_client(metrics: RingwatchMetrics) -> None:
    from prometheus_client.exposition import choose_encoder

    accept = "application/openmetrics-text; version=1.0.0; escaping=dots"
    encoder, content_type = choose_encoder(accept)
    body = encode(metrics.registry, encoder, content_type)
    assert body == encoder(metrics.registry)
    assert b"ringwatch__calls" in body  # the dots escaping doubles underscores


def test_store_rejects_what_prometheus_client_rejects() -> None:
    import pytest

    store = MetricStore()
    c = store.counter("t_c", "c", ["a"])
    for bad in (
        lambda: store.counter("t c", "bad name"),
        lambda: store.gauge("t_g", "bad label", ["__x"]),
        lambda: store.histogram("t_h", "le", ["le"], (1,)),
        lambda: store.histogram("t_h", "unsorted", [], (2, 1)),
        lambda: store.counter("t_c", "twice"),
        lambda: c.inc(("x",), -1.0),
        lambda: c.inc(("x", "y")),
        lambda: c.inc(("x",), 1.0, {"call_id": "x" * 200}),
    ):
        with pytest.raises(ValueError):
            bad()
    assert c.get(("x",)) is None  # nothing half-created


def test_collect_gives_samples_for_registry_users(ruleset: RuleSet) -> None:
    registry = CollectorRegistry()
    metrics = RingwatchMetrics(registry, ["hq"], ["sales"], metric_rules(ruleset))
    metrics.ami_event("hq", 7)
    assert registry.get_sample_value("ringwatch_ami_events_total", {"pbx": "hq"}) == 7.0
    assert registry.get_sample_value("ringwatch_rules_loaded") == 2.0
    labels = {"pbx": "hq", "queue": "sales", "le": "+Inf"}
    assert registry.get_sample_value("ringwatch_hold_seconds_bucket", labels) == 0.0
