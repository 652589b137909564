"""RingwatchMetrics: schema, pre-initialised series, per-call observations, exemplars."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families

from monitor.metrics import LiveSnapshot, MetricRule, RingwatchMetrics, render_metrics
from monitor.record import CallRecord, Outcome

OM = "application/openmetrics-text; version=1.0.0"


def samples(
    metrics: RingwatchMetrics, accept: str | None = None
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = render_metrics(metrics.registry, accept).body.decode()
    parse = om_parse if accept else text_string_to_metric_families
    return {
        (s.name, frozenset(s.labels.items())): s.value for fam in parse(text) for s in fam.samples
    }


def value(metrics: RingwatchMetrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, frozenset(labels.items()))]


def test_every_schema_metric_is_exposed(metrics: RingwatchMetrics) -> None:
    names = {name for name, _ in samples(metrics)}
    expected = {
        "ringwatch_calls_total",
        "ringwatch_rings_to_answer_bucket",
        "ringwatch_ring_seconds_bucket",
        "ringwatch_queue_wait_seconds_bucket",
        "ringwatch_hold_seconds_bucket",
        "ringwatch_talk_seconds_bucket",
        "ringwatch_greeting_seconds_bucket",
        "ringwatch_dead_air_seconds_bucket",
        "ringwatch_standard_checks_total",
        "ringwatch_callback_promises_outstanding",
        "ringwatch_callback_promises_total",
        "ringwatch_callback_seconds_bucket",
        "ringwatch_active_calls",
        "ringwatch_longest_wait_seconds",
        "ringwatch_longest_hold_seconds",
        "ringwatch_live_breaches",
        "ringwatch_ami_up",
        "ringwatch_ami_reconnects_total",
        "ringwatch_ami_events_total",
        "ringwatch_ami_parse_errors_total",
        "ringwatch_event_lag_seconds",
        "ringwatch_rules_loaded",
        "ringwatch_build_info",
    }
    assert expected <= names, expected - names


def test_checks_preinitialised_for_every_rule_queue_and_result(metrics: RingwatchMetrics) -> None:
    got = samples(metrics)
    for pbx in ("hq", "branch", "annex"):
        for queue in ("", "sales", "support"):
            for rule, sev in (
                ("answer-within-three-rings", "warning"),
                ("hold-under-two-minutes", "critical"),
            ):
                for result in ("met", "breached"):
                    key = frozenset(
                        {
                            "pbx": pbx,
                            "queue": queue,
                            "rule": rule,
                            "severity": sev,
                            "result": result,
                        }.items()
                    )
                    assert got[("ringwatch_standard_checks_total", key)] == 0.0
    # window-only standards are computed from histograms: no per-call check series
    assert not [k for k in got if ("rule", "service-level-20s") in k[1]]


def test_queue_wait_and_calls_preinitialised(metrics: RingwatchMetrics) -> None:
    got = samples(metrics)
    for outcome in ("answered", "abandoned"):
        key = frozenset(
            {"pbx": "annex", "queue": "support", "outcome": outcome, "le": "20.0"}.items()
        )
        assert got[("ringwatch_queue_wait_seconds_bucket", key)] == 0.0
    key = frozenset(
        {"pbx": "hq", "direction": "inbound", "queue": "sales", "outcome": "abandoned"}.items()
    )
    assert got[("ringwatch_calls_total", key)] == 0.0
    assert value(metrics, "ringwatch_rules_loaded") == 2.0
    assert value(metrics, "ringwatch_ami_up", pbx="annex") == 0.0


def test_call_completed_observes_each_histogram(
    metrics: RingwatchMetrics, record_factory: Callable[..., CallRecord]
) -> None:
    rec = record_factory(0, wait=12.0, holds=(45.0, 150.0))
    metrics.call_completed(rec)
    assert (
        value(
            metrics,
            "ringwatch_calls_total",
            pbx="hq",
            direction="inbound",
            queue="sales",
            outcome="answered",
        )
        == 1.0
    )
    wait = dict(pbx="hq", queue="sales", outcome="answered")
    assert value(metrics, "ringwatch_queue_wait_seconds_bucket", **wait, le="10.0") == 0.0
    assert value(metrics, "ringwatch_queue_wait_seconds_bucket", **wait, le="15.0") == 1.0
    assert value(metrics, "ringwatch_queue_wait_seconds_sum", **wait) == 12.0
    # ring 14 s at the 6 s US cadence: 3 rings
    ring = dict(pbx="hq", direction="inbound", queue="sales")
    assert value(metrics, "ringwatch_rings_to_answer_bucket", **ring, le="2.0") == 0.0
    assert value(metrics, "ringwatch_rings_to_answer_bucket", **ring, le="3.0") == 1.0
    assert value(metrics, "ringwatch_ring_seconds_sum", **ring) == 14.0
    # one observation per hold span
    assert value(metrics, "ringwatch_hold_seconds_count", pbx="hq", queue="sales") == 2.0
    assert (
        value(metrics, "ringwatch_hold_seconds_bucket", pbx="hq", queue="sales", le="60.0") == 1.0
    )
    assert value(metrics, "ringwatch_talk_seconds_count", pbx="hq", queue="sales") == 1.0


def test_abandoned_call_counts_wait_with_its_outcome(
    metrics: RingwatchMetrics, record_factory: Callable[..., CallRecord]
) -> None:
    metrics.call_completed(record_factory(1, outcome=Outcome.ABANDONED, wait=3.0))
    key = dict(pbx="hq", queue="sales", outcome="abandoned")
    assert value(metrics, "ringwatch_queue_wait_seconds_bucket", **key, le="5.0") == 1.0
    ring = dict(pbx="hq", direction="inbound", queue="sales")
    assert value(metrics, "ringwatch_rings_to_answer_count", **ring) == 0.0


def test_unqueued_call_uses_empty_queue_label(
    metrics: RingwatchMetrics, record_factory: Callable[..., CallRecord]
) -> None:
    metrics.call_completed(record_factory(2, queue=None))
    assert (
        value(
            metrics,
            "ringwatch_calls_total",
            pbx="hq",
            direction="inbound",
            queue="",
            outcome="answered",
        )
        == 1.0
    )
    total = sum(
        v for (n, _), v in samples(metrics).items() if n == "ringwatch_queue_wait_seconds_count"
    )
    assert total == 0.0


def test_breach_carries_call_id_exemplar_in_openmetrics(
    metrics: RingwatchMetrics, record_factory: Callable[..., CallRecord]
) -> None:
    rec = record_factory(3)
    metrics.check(rec, "answer-within-three-rings", None, met=False)
    metrics.check(rec, "hold-under-two-minutes", "critical", met=True)
    text = render_metrics(metrics.registry, OM).body.decode()
    exemplars = {
        s.labels["rule"] + "/" + s.labels["result"]: s.exemplar
        for fam in om_parse(text)
        for s in fam.samples
        if s.name == "ringwatch_standard_checks_total"
        and s.labels["queue"] == "sales"
        and s.labels["pbx"] == "hq"
    }
    breach = exemplars["answer-within-three-rings/breached"]
    assert breach is not None and breach.labels == {"call_id": rec.call_id}
    assert exemplars["hold-under-two-minutes/met"] is None
    assert (
        value(
            metrics,
            "ringwatch_standard_checks_total",
            pbx="hq",
            queue="sales",
            rule="answer-within-three-rings",
            severity="warning",
            result="breached",
        )
        == 1.0
    )


def test_finding_counts_a_breach_with_its_severity(
    metrics: RingwatchMetrics, record_factory: Callable[..., CallRecord]
) -> None:
    from monitor.record import Finding, Severity

    rec = record_factory(4, queue="support")
    metrics.finding(rec, Finding("hold-under-two-minutes", Severity.CRITICAL, 150, 120, None))
    assert (
        value(
            metrics,
            "ringwatch_standard_checks_total",
            pbx="hq",
            queue="support",
            rule="hold-under-two-minutes",
            severity="critical",
            result="breached",
        )
        == 1.0
    )


def test_histogram_exemplar_on_calls_with_findings(
    metrics: RingwatchMetrics,
    record_factory: Callable[..., CallRecord],
) -> None:
    from monitor.record import Finding, Severity

    f = Finding("answer-within-three-rings", Severity.WARNING, 5, 3, None)
    rec = record_factory(5, wait=40.0, findings=(f,))
    metrics.call_completed(rec)
    text = render_metrics(metrics.registry, OM).body.decode()
    found = [
        s.exemplar.labels["call_id"]
        for fam in om_parse(text)
        for s in fam.samples
        if s.name == "ringwatch_queue_wait_seconds_bucket" and s.exemplar is not None
    ]
    assert found == [rec.call_id]


def test_every_call_histogram_carries_the_exemplar_talk_seconds_too(
    metrics: RingwatchMetrics,
    record_factory: Callable[..., CallRecord],
) -> None:
    """A call with findings: each histogram it is observed in carries its call_id (talk_seconds
    had none, so a long talk time could not be opened from Grafana)."""
    from monitor.record import Finding, Severity

    f = Finding("hold-under-two-minutes", Severity.CRITICAL, 150, 120, None)
    rec = record_factory(6, wait=12.0, holds=(150.0,), findings=(f,))
    metrics.call_completed(rec)
    text = render_metrics(metrics.registry, OM).body.decode()
    found = {
        s.name.removesuffix("_bucket"): s.exemplar.labels["call_id"]
        for fam in om_parse(text)
        for s in fam.samples
        if s.exemplar is not None
    }
    assert found == {
        name: rec.call_id
        for name in (
            "ringwatch_rings_to_answer",
            "ringwatch_ring_seconds",
            "ringwatch_queue_wait_seconds",
            "ringwatch_hold_seconds",
            "ringwatch_talk_seconds",
        )
    }


def test_live_gauges_from_provider_with_zero_fill(metrics: RingwatchMetrics) -> None:
    assert value(metrics, "ringwatch_active_calls", pbx="hq", state="queued") == 3.0
    assert value(metrics, "ringwatch_active_calls", pbx="branch", state="queued") == 0.0
    assert value(metrics, "ringwatch_longest_wait_seconds", pbx="hq", queue="sales") == 42.0
    assert value(metrics, "ringwatch_longest_wait_seconds", pbx="hq", queue="support") == 0.0
    assert value(metrics, "ringwatch_longest_hold_seconds", pbx="annex") == 0.0
    assert value(metrics, "ringwatch_live_breaches", pbx="hq", rule="hold-under-two-minutes") == 1.0
    assert (
        value(metrics, "ringwatch_live_breaches", pbx="annex", rule="answer-within-three-rings")
        == 0.0
    )
    assert (
        value(metrics, "ringwatch_callback_promises_outstanding", pbx="branch", state="overdue")
        == 1.0
    )


def test_live_provider_can_be_swapped() -> None:
    class One:
        def live_snapshots(self) -> list[LiveSnapshot]:
            return [LiveSnapshot(pbx="p", active_calls={"ringing": 7})]

    mx = RingwatchMetrics(CollectorRegistry(), ["p"], ["q"], [MetricRule("r", "info", live=True)])
    assert value(mx, "ringwatch_active_calls", pbx="p", state="ringing") == 0.0
    assert value(mx, "ringwatch_live_breaches", pbx="p", rule="r") == 0.0
    mx.set_live_provider(One())
    assert value(mx, "ringwatch_active_calls", pbx="p", state="ringing") == 7.0


def test_promises_and_ami_hooks(metrics: RingwatchMetrics) -> None:
    metrics.promise_outcome("hq", "kept", 1800.0)
    metrics.promise_outcome("hq", "broken")
    metrics.ami_up("hq", True)
    metrics.ami_reconnected("hq")
    metrics.ami_event("hq", 25)
    metrics.ami_parse_error("hq")
    metrics.event_lag_seconds("hq", 0.25)
    assert value(metrics, "ringwatch_callback_promises_total", pbx="hq", outcome="kept") == 1.0
    assert value(metrics, "ringwatch_callback_promises_total", pbx="hq", outcome="broken") == 1.0
    assert value(metrics, "ringwatch_callback_seconds_bucket", pbx="hq", le="1800.0") == 1.0
    assert value(metrics, "ringwatch_ami_up", pbx="hq") == 1.0
    assert value(metrics, "ringwatch_ami_reconnects_total", pbx="hq") == 1.0
    assert value(metrics, "ringwatch_ami_events_total", pbx="hq") == 25.0
    assert value(metrics, "ringwatch_ami_parse_errors_total", pbx="hq") == 1.0
    assert value(metrics, "ringwatch_event_lag_seconds", pbx="hq") == 0.25
    with pytest.raises(ValueError, match="unknown promise outcome 'lost'"):
        metrics.promise_outcome("hq", "lost")


def test_agent_label_only_when_enabled(record_factory: Callable[..., CallRecord]) -> None:
    rules = [MetricRule("r", "warning")]
    off = RingwatchMetrics(CollectorRegistry(), ["hq"], ["sales"], rules)
    on = RingwatchMetrics(CollectorRegistry(), ["hq"], ["sales"], rules, agent_label=True)
    for mx in (off, on):
        rec = record_factory(6)
        mx.call_completed(rec)
        mx.check(rec, "r", None, met=False)
    assert not any("agent" in dict(k) for n, k in samples(off) if n.startswith("ringwatch_"))
    assert (
        value(
            on,
            "ringwatch_calls_total",
            pbx="hq",
            direction="inbound",
            queue="sales",
            outcome="answered",
            agent="alice",
        )
        == 1.0
    )
    assert (
        value(
            on,
            "ringwatch_standard_checks_total",
            pbx="hq",
            queue="sales",
            rule="r",
            severity="warning",
            result="breached",
            agent="alice",
        )
        == 1.0
    )


def test_needs_a_pbx() -> None:
    with pytest.raises(ValueError, match="at least one pbx"):
        RingwatchMetrics(CollectorRegistry(), [])


def test_two_exporters_do_not_share_state(record_factory: Callable[..., CallRecord]) -> None:
    a = RingwatchMetrics(CollectorRegistry(), ["hq"], ["sales"])
    b = RingwatchMetrics(CollectorRegistry(), ["hq"], ["sales"])
    a.call_completed(record_factory(7))
    key = dict(pbx="hq", direction="inbound", queue="sales", outcome="answered")
    assert value(a, "ringwatch_calls_total", **key) == 1.0
    assert value(b, "ringwatch_calls_total", **key) == 0.0


def test_public_api() -> None:
    import monitor.metrics as pkg

    assert pkg.__all__ == sorted(pkg.__all__)
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None, name


def test_shed_events_are_counted_by_bounded_reason(metrics: RingwatchMetrics) -> None:
    """``ringwatch_ami_events_shed_total{pbx,reason}``: both reasons pre-initialised at 0,
    counted by the AMI collector's listener hook (issue 20 item 3)."""
    pbx = metrics.pbxs[0]
    for reason in ("unused", "overflow"):
        assert value(metrics, "ringwatch_ami_events_shed_total", pbx=pbx, reason=reason) == 0
    metrics.ami_events_shed(pbx, "unused", 3)
    metrics.ami_events_shed(pbx, "overflow", 1)
    assert value(metrics, "ringwatch_ami_events_shed_total", pbx=pbx, reason="unused") == 3
    assert value(metrics, "ringwatch_ami_events_shed_total", pbx=pbx, reason="overflow") == 1
    reasons = {
        dict(labels)["reason"]
        for name, labels in samples(metrics)
        if name == "ringwatch_ami_events_shed_total"
    }
    assert reasons == {"unused", "overflow"}
