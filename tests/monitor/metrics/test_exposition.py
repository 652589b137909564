"""/metrics serving: OpenMetrics vs text negotiation, gzip, ASGI app, standalone server,
and no phone number or call id anywhere but in exemplars."""

from __future__ import annotations

import gzip
import re
import urllib.request
from collections.abc import Callable

import httpx
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families

from monitor.metrics import RingwatchMetrics, make_asgi_app, render_metrics, start_metrics_server
from monitor.record import CallRecord

OM = "application/openmetrics-text; version=1.0.0"


def fed(
    metrics: RingwatchMetrics,
    pipeline: Callable[[CallRecord], None],
    call_feed: list[list[CallRecord]],
) -> list[CallRecord]:
    records = [r for batch in call_feed for r in batch]
    for r in records:
        pipeline(r)
    return records


def test_text_format_by_default(metrics: RingwatchMetrics) -> None:
    resp = render_metrics(metrics.registry)
    assert resp.content_type.startswith("text/plain; version=0.0.4")
    assert resp.content_encoding is None
    names = {f.name for f in text_string_to_metric_families(resp.body.decode())}
    assert "ringwatch_calls" in names


def test_openmetrics_when_asked(metrics: RingwatchMetrics) -> None:
    resp = render_metrics(metrics.registry, OM + ",text/plain;q=0.5")
    assert resp.content_type.startswith("application/openmetrics-text; version=1.0.0")
    assert resp.body.endswith(b"# EOF\n")
    assert any(f.name == "ringwatch_queue_wait_seconds" for f in om_parse(resp.body.decode()))


def test_gzip_when_accepted(metrics: RingwatchMetrics) -> None:
    plain = render_metrics(metrics.registry, OM)
    packed = render_metrics(metrics.registry, OM, "deflate, gzip;q=0.9")
    assert packed.content_encoding == "gzip"
    assert ("Content-Encoding", "gzip") in packed.headers
    assert len(packed.body) < len(plain.body) / 5
    # the same body: no _created samples, and exemplar times are stored, not taken per scrape
    assert gzip.decompress(packed.body) == plain.body


def test_no_phone_number_or_call_id_outside_exemplars(
    metrics: RingwatchMetrics,
    pipeline: Callable[[CallRecord], None],
    call_feed: list[list[CallRecord]],
) -> None:
    records = fed(metrics, pipeline, call_feed)
    ids = {r.call_id for r in records}
    numbers = {r.caller for r in records} | {r.dialed for r in records}
    text = render_metrics(metrics.registry).body.decode()
    om = render_metrics(metrics.registry, OM).body.decode()
    for needle in ids | {n for n in numbers if n}:
        assert needle not in text, needle
        for line in om.splitlines():
            metric_part = line.split(" # ", 1)[0]
            assert needle not in metric_part, line
    # ... and the call ids are there, as exemplars of breaches
    exemplar_ids = set(re.findall(r'# \{call_id="([^"]+)"\}', om))
    assert exemplar_ids and exemplar_ids <= ids
    # no label value at all looks like a phone number
    for fam in om_parse(om):
        for s in fam.samples:
            for value in s.labels.values():
                assert not re.fullmatch(r"\+?\d{6,}", value), (s.name, s.labels)


async def test_asgi_app_negotiates(metrics: RingwatchMetrics) -> None:
    app = make_asgi_app(metrics.registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rw") as client:
        om = await client.get("/metrics", headers={"Accept": OM, "Accept-Encoding": "gzip"})
        text = await client.get("/metrics", headers={"Accept-Encoding": "identity"})
        post = await client.post("/metrics")
    assert om.status_code == 200
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.headers["content-encoding"] == "gzip"
    assert om.content.endswith(b"# EOF\n")  # httpx decoded the gzip body
    assert text.headers["content-type"].startswith("text/plain")
    assert "content-encoding" not in text.headers
    assert post.status_code == 405


def test_standalone_server(metrics: RingwatchMetrics) -> None:
    server = start_metrics_server("127.0.0.1", 0, metrics.registry)
    try:
        req = urllib.request.Request(server.url, headers={"Accept": OM, "Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            body = gzip.decompress(resp.read())
            assert resp.headers["Content-Encoding"] == "gzip"
            assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
        assert b"ringwatch_active_calls" in body
        req = urllib.request.Request(server.url.replace("/metrics", "/nope"))
        try:
            urllib.request.urlopen(req, timeout=5)
            raise AssertionError("expected 404")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        server.close()
    assert server.port > 0
