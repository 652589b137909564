"""ringwatch's own labelled counters, gauges and histograms: plain dicts and a direct writer.

A family maps a tuple of label values (in its label order) to a small series object that keeps
its exposition prefix (``name{labels} ``, sorted and escaped as prometheus-client writes it), so
an update is a dict lookup and an addition. A series also keeps its rendered lines until it is
updated again (an update clears them), so a scrape formats only what changed since the last
one and otherwise joins strings. No ``_created`` samples. The families live in a
``monitor.metrics.metric_store.MetricStore`` (a prometheus-client collector). Why and how fast:
docs/decisions/0005-own-metric-store.md.

Threading: the family methods take no lock. The caller holds ``MetricStore.lock`` around
updates (once per call in the exporter) and around ``render``/``samples``.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, Generic, TypeVar

from prometheus_client.samples import Exemplar, Sample
from prometheus_client.utils import INF, floatToGoString

__all__ = [
    "CounterFamily",
    "Family",
    "GaugeFamily",
    "HistogramFamily",
    "Key",
    "escape_label_value",
    "format_value",
]

Key = tuple[str, ...]
#: An exemplar as stored: its labels, the observed value, the wall-clock time.
StoredExemplar = tuple[Mapping[str, str], float, float]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_EXEMPLAR_MAX_RUNES = 128
#: Memo of format_value: counts repeat a lot. Never holds 0.0 (see format_value), so a plain
#: ``_FORMATTED.get(v) or format_value(v)`` is right for -0.0 too.
_FORMATTED: dict[float, str] = {}
_FORMATTED_MAX = 8192
#: prometheus-client's own float writer (untyped there): +Inf, 1.0, 1.234567e+06 ...
_go_float: Callable[[float], str] = floatToGoString


def escape_label_value(value: str) -> str:
    """A label value as prometheus-client writes it: backslash, newline and quote escaped."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def format_value(value: float) -> str:
    """``prometheus_client.utils.floatToGoString``, memoised (counts repeat a lot)."""
    if value == 0.0:  # -0.0 == 0.0 as a key; only a gauge can hold -0.0
        return _go_float(value)
    text = _FORMATTED.get(value)
    if text is None:
        text = _go_float(value)
        if len(_FORMATTED) < _FORMATTED_MAX:
            _FORMATTED[value] = text
    return text


def _label_string(pairs: Sequence[tuple[str, str]]) -> str:
    """``{a="x",b="y"}`` with the labels sorted by name, or "" without labels."""
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(pairs)) + "}"


def _exemplar_text(ex: StoredExemplar) -> str:
    labels, value, ts = ex
    return f" # {_label_string(list(labels.items()))} {format_value(value)} {ts}"


def _check_exemplar(labels: Mapping[str, str]) -> None:
    runes = 0
    for k, v in labels.items():
        if not _LABEL.fullmatch(k):
            raise ValueError(f"invalid exemplar label name {k!r}")
        runes += len(k) + len(v)
    if runes > _EXEMPLAR_MAX_RUNES:
        raise ValueError(f"exemplar labels have {runes} characters, more than 128")


_S = TypeVar("_S", bound="_Lines")


class _Lines:
    """A series' rendered exposition as of the last render: ``text``, and ``om`` (the same
    with exemplars); "" when the series changed since (an update clears them)."""

    __slots__ = ("om", "text")

    def __init__(self) -> None:
        self.text = self.om = ""


class _Series(_Lines):
    """One counter or gauge series: its exposition prefix, value and last exemplar."""

    __slots__ = ("exemplar", "prefix", "value")

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.value = 0.0
        self.exemplar: StoredExemplar | None = None


class _HistSeries(_Lines):
    """One histogram series: per-bucket (not cumulative) counts, sum, exemplar per bucket."""

    __slots__ = ("bucket_prefixes", "count_prefix", "counts", "exemplars", "sum", "sum_prefix")

    def __init__(self, bucket_prefixes: tuple[str, ...], count_prefix: str, sum_prefix: str):
        super().__init__()
        self.bucket_prefixes = bucket_prefixes
        self.count_prefix = count_prefix
        self.sum_prefix = sum_prefix
        self.counts = [0.0] * len(bucket_prefixes)
        self.sum = 0.0
        self.exemplars: list[StoredExemplar | None] | None = None


class _Family(Generic[_S]):
    """What every family has: name, help, label names and the series dict."""

    kind: ClassVar[str]
    _series: dict[Key, _S]

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labelnames:
            if not _LABEL.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r} in {name}")
        if len(set(labelnames)) != len(labelnames):
            raise ValueError(f"duplicate label names in {name}: {list(labelnames)}")
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        sample_name = name + "_total" if self.kind == "counter" else name
        om_help = escape_label_value(documentation)
        text_help = documentation.replace("\\", r"\\").replace("\n", r"\n")
        self._om_head = f"# HELP {name} {om_help}\n# TYPE {name} {self.kind}\n"
        self._text_head = f"# HELP {sample_name} {text_help}\n# TYPE {sample_name} {self.kind}\n"

    def _normalise(self, key: Sequence[str]) -> Key:
        if len(key) != len(self.labelnames):
            raise ValueError(
                f"{self.name} takes {len(self.labelnames)} label values "
                f"({', '.join(self.labelnames)}), got {len(key)}: {tuple(key)!r}"
            )
        return tuple(str(v) for v in key)  # StrEnum members become their plain value

    def _pairs(self, key: Key) -> list[tuple[str, str]]:
        return list(zip(self.labelnames, key, strict=True))

    def _new(self, key: Sequence[str]) -> _S:
        raise NotImplementedError

    def init(self, key: Key = ()) -> None:
        """Create the series at 0 (pre-initialisation) if it does not exist yet."""
        if key not in self._series:
            self._new(key)

    def series_keys(self) -> list[Key]:
        """The label values of every series, in creation (and exposition) order."""
        return list(self._series)

    def render(self, out: list[str], openmetrics: bool) -> None:
        """Append the family's exposition to ``out`` (the caller holds the store's lock): the
        kept lines of unchanged series, new lines for the others."""
        series, fill = self._series.values(), self._fill
        if openmetrics:
            out.append(self._om_head)
            out += [s.om or fill(s)[1] for s in series]
        else:
            out.append(self._text_head)
            out += [s.text or fill(s)[0] for s in series]

    def _fill(self, series: _S) -> tuple[str, str]:
        """Render ``series`` into its ``text`` and ``om`` lines and return them."""
        raise NotImplementedError

    def samples(self) -> list[Sample]:
        raise NotImplementedError


class _ValueFamily(_Family[_Series]):
    """Counters and gauges: one value per series."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, labelnames)
        self._sample_name = name + "_total" if self.kind == "counter" else name
        self._series = {}

    def get(self, key: Sequence[str] = ()) -> float | None:
        series = self._series.get(tuple(key))
        return None if series is None else series.value

    def _new(self, key: Sequence[str]) -> _Series:
        norm = self._normalise(key)
        series = _Series(self._sample_name + _label_string(self._pairs(norm)) + " ")
        self._series[norm] = series
        return series

    def _fill(self, series: _Series) -> tuple[str, str]:
        v = series.value
        series.text = text = f"{series.prefix}{_FORMATTED.get(v) or format_value(v)}\n"
        ex = series.exemplar
        series.om = om = text if ex is None else f"{text[:-1]}{_exemplar_text(ex)}\n"
        return text, om

    def samples(self) -> list[Sample]:
        out = []
        for key, s in self._series.items():
            ex = None if s.exemplar is None else Exemplar(dict(s.exemplar[0]), *s.exemplar[1:])
            labels = dict(self._pairs(key))
            out.append(Sample(self._sample_name, labels, s.value, None, ex))
        return out


class CounterFamily(_ValueFamily):
    """A labelled counter (``name_total``); exemplars as prometheus-client keeps them."""

    kind = "counter"

    def inc(
        self, key: Key = (), amount: float = 1.0, exemplar: Mapping[str, str] | None = None
    ) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: counters only go up, not by {amount}")
        if exemplar:
            _check_exemplar(exemplar)
        series = self._series.get(key)
        if series is None:
            series = self._new(key)
        series.value += amount
        series.text = series.om = ""
        if exemplar:
            series.exemplar = (exemplar, amount, time.time())


class GaugeFamily(_ValueFamily):
    """A labelled gauge."""

    kind = "gauge"

    def set(self, key: Key, value: float) -> None:
        series = self._series.get(key)
        if series is None:
            series = self._new(key)
        series.value = float(value)
        series.text = series.om = ""


class HistogramFamily(_Family[_HistSeries]):
    """A labelled histogram with fixed buckets (``+Inf`` added); an exemplar per bucket."""

    kind = "histogram"

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        if "le" in labelnames:
            raise ValueError(f"{name}: 'le' is reserved for the bucket bound")
        super().__init__(name, documentation, labelnames)
        bounds = [float(b) for b in buckets]
        if bounds != sorted(bounds):
            raise ValueError(f"{name}: buckets not in sorted order: {bounds}")
        if not bounds or bounds[-1] != INF:
            bounds.append(INF)
        if len(bounds) < 2:
            raise ValueError(f"{name}: a histogram needs at least one bucket below +Inf")
        self.bounds = tuple(bounds)
        self._les = tuple(_go_float(b) for b in bounds)
        self._with_sum = bounds[0] >= 0  # as prometheus-client: no _sum with negative buckets
        self._series = {}

    def get(self, key: Sequence[str]) -> tuple[list[float], float] | None:
        """Per-bucket counts (not cumulative) and the sum, or None for an unknown series."""
        s = self._series.get(tuple(key))
        return None if s is None else (list(s.counts), s.sum)

    def _new(self, key: Sequence[str]) -> _HistSeries:
        norm = self._normalise(key)
        pairs = self._pairs(norm)
        labels = _label_string(pairs)
        buckets = tuple(
            f"{self.name}_bucket{_label_string([*pairs, ('le', le)])} " for le in self._les
        )
        series = _HistSeries(buckets, f"{self.name}_count{labels} ", f"{self.name}_sum{labels} ")
        self._series[norm] = series
        return series

    def observe(self, key: Key, amount: float, exemplar: Mapping[str, str] | None = None) -> None:
        if exemplar:
            _check_exemplar(exemplar)
        series = self._series.get(key)
        if series is None:
            series = self._new(key)
        series.sum += amount
        series.text = series.om = ""
        if amount != amount:  # NaN: no bucket holds it (prometheus-client compares <= bound)
            return
        i = bisect_left(self.bounds, amount)
        series.counts[i] += 1.0
        if exemplar:
            if series.exemplars is None:
                series.exemplars = [None] * len(self.bounds)
            series.exemplars[i] = (exemplar, amount, time.time())

    def _fill(self, series: _HistSeries) -> tuple[str, str]:
        text: list[str] = []
        om: list[str] = []
        acc = 0.0
        exemplars = series.exemplars
        for i, prefix in enumerate(series.bucket_prefixes):
            acc += series.counts[i]
            line = f"{prefix}{format_value(acc)}"
            text.append(line)
            ex = None if exemplars is None else exemplars[i]
            om.append(line if ex is None else line + _exemplar_text(ex))
        tail = [f"{series.count_prefix}{format_value(acc)}"]
        if self._with_sum:
            tail.append(f"{series.sum_prefix}{format_value(series.sum)}")
        series.text = "\n".join([*text, *tail, ""])
        series.om = series.text if exemplars is None else "\n".join([*om, *tail, ""])
        return series.text, series.om

    def samples(self) -> list[Sample]:
        out: list[Sample] = []
        for key, s in self._series.items():
            pairs = self._pairs(key)
            acc = 0.0
            for i, le in enumerate(self._les):
                acc += s.counts[i]
                stored = None if s.exemplars is None else s.exemplars[i]
                ex = None if stored is None else Exemplar(dict(stored[0]), *stored[1:])
                out.append(Sample(self.name + "_bucket", dict([*pairs, ("le", le)]), acc, None, ex))
            out.append(Sample(self.name + "_count", dict(pairs), acc))
            if self._with_sum:
                out.append(Sample(self.name + "_sum", dict(pairs), s.sum))
        return out


Family = CounterFamily | GaugeFamily | HistogramFamily
