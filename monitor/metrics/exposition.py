"""``/metrics``: content negotiation (OpenMetrics or text 0.0.4) and gzip, three ways to serve.

* :func:`render_metrics` — a pure-ish function: registry + request headers -> body and headers;
  the web app mounts it (or :func:`make_asgi_app`) at ``/metrics``.
* :func:`make_asgi_app` — a tiny ASGI app for FastAPI ``app.mount("/metrics", ...)``.
* :func:`start_metrics_server` — a standalone threaded HTTP server for when the web UI is off.

Exemplars (the call id of a breach) only exist in OpenMetrics; Prometheus asks for OpenMetrics
first, so it gets them. The text format drops them.

ringwatch's own families (a :class:`~monitor.metrics.fast.MetricStore` on the registry) are
written directly by :func:`encode`; every other collector on the registry (live gauges, QA,
anything a caller registered) goes through prometheus-client's encoder for the negotiated
format, in registry order, with one ``# EOF`` at the end (docs/decisions/0005).
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import groupby
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from monitor.metrics.metric_store import FamilyMetric, MetricStore

__all__ = [
    "MetricsResponse",
    "MetricsServer",
    "encode",
    "make_asgi_app",
    "render_metrics",
    "start_metrics_server",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Encoder = Callable[[Collector], bytes]

_EOF = "# EOF\n"
#: Name escapings under which prometheus-client writes ringwatch's (legacy-valid) names as is.
_PLAIN_ESCAPINGS = ("underscores", "allow-utf-8")
#: gzip level 1: on the 8.5 MB bench scrape 20 ms and 30x smaller, where level 9 (Python's
#: default) takes 170 ms for 40x (docs/decisions/0005-own-metric-store.md).
GZIP_LEVEL = 1


@dataclass(frozen=True, slots=True)
class MetricsResponse:
    body: bytes
    content_type: str
    content_encoding: str | None = None

    @property
    def headers(self) -> list[tuple[str, str]]:
        out = [("Content-Type", self.content_type), ("Vary", "Accept, Accept-Encoding")]
        if self.content_encoding:
            out.append(("Content-Encoding", self.content_encoding))
        return out


def render_metrics(
    registry: CollectorRegistry, accept: str | None = None, accept_encoding: str | None = None
) -> MetricsResponse:
    """Encode ``registry`` for a request with these ``Accept`` / ``Accept-Encoding`` headers."""
    encoder, content_type = choose_encoder(accept or "")
    body = encode(registry, encoder, content_type)
    if gzip_accepted(accept_encoding or ""):
        return MetricsResponse(gzip.compress(body, GZIP_LEVEL), content_type, "gzip")
    return MetricsResponse(body, content_type)


def encode(registry: Collector, encoder: Encoder, content_type: str) -> bytes:
    """The body prometheus-client's ``encoder`` would write for ``registry``, faster.

    ``encoder`` and ``content_type`` are what ``choose_encoder`` negotiated. For OpenMetrics
    1.0.0 and text 0.0.4/1.0.0 (plain name escaping), ringwatch's families are written
    directly, each run of them under its store's lock; for any other format the encoder
    writes everything.
    """
    openmetrics = _direct_format(content_type)
    if openmetrics is None:
        return encoder(registry)
    parts: list[str] = []
    metrics = list(registry.collect())  # other collectors run here, outside any store lock
    for store, group in groupby(metrics, key=_store):
        run = list(group)
        if store is None:
            text = encoder(_Collected(run)).decode("utf-8")
            parts.append(text.removesuffix(_EOF) if openmetrics else text)
            continue
        with store.lock:  # the store's families from one consistent state
            for fm in run:
                if isinstance(fm, FamilyMetric):
                    fm.family.render(parts, openmetrics)
    if openmetrics:
        parts.append(_EOF)
    return "".join(parts).encode("utf-8")


def _store(metric: Metric) -> MetricStore | None:
    return metric.store if isinstance(metric, FamilyMetric) else None


def _direct_format(content_type: str) -> bool | None:
    """True for OpenMetrics 1.0.0, False for text 0.0.4/1.0.0, None: leave it to the encoder."""
    mime, *params = (p.strip() for p in content_type.split(";"))
    values = dict(p.split("=", 1) for p in params if "=" in p)
    if values.get("escaping", "underscores") not in _PLAIN_ESCAPINGS:
        return None
    version = values.get("version")
    if mime == "application/openmetrics-text" and version == "1.0.0":
        return True
    if mime == "text/plain" and version in ("0.0.4", "1.0.0"):
        return False
    return None


class _Collected(Collector):
    """Metric families already collected, for prometheus-client's encoders."""

    def __init__(self, metrics: Sequence[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return iter(self._metrics)


def make_asgi_app(registry: CollectorRegistry) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app serving ``registry`` on GET/HEAD (any path: mount it where you like)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _send(send, 405, [("Allow", "GET, HEAD")], b"")
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        resp = render_metrics(registry, headers.get("accept"), headers.get("accept-encoding"))
        body = b"" if scope.get("method") == "HEAD" else resp.body
        await _send(send, 200, resp.headers, body)

    return app


async def _send(send: Send, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class MetricsServer:
    """A running standalone metrics server; ``close()`` stops it and joins its thread."""

    def __init__(self, httpd: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._httpd = httpd
        self._thread = thread

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(host: str, port: int, registry: CollectorRegistry) -> MetricsServer:
    """Serve ``registry`` at ``http://host:port/metrics`` in a daemon thread (port 0: any)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404, "metrics are at /metrics")
                return
            resp = render_metrics(
                registry, self.headers.get("Accept"), self.headers.get("Accept-Encoding")
            )
            self.send_response(200)
            for key, value in resp.headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            self.wfile.write(resp.body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # scrapes every few seconds: not worth a log line

    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, name=f"metrics-{host}:{port}", daemon=True
    )
    thread.start()
    return MetricsServer(httpd, thread)
