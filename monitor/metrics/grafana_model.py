"""A small Grafana dashboard builder: plain dicts in Grafana's JSON model (schemaVersion 39).

Every panel queries the ``${datasource}`` Prometheus datasource variable, so the committed JSON
works in any Grafana whatever its datasource is called. Layout is a simple row-major grid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DS",
    "Grid",
    "Thresholds",
    "dashboard",
    "dashboard_exprs",
    "expand_variables",
    "panel",
    "query_var",
    "target",
]

DS: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
GREEN, AMBER, RED = "green", "#EAB839", "red"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Green/amber/red steps. ``floor``: higher is better (service level); else lower is better.

    ``amber_margin`` 0: no amber step (a count of things wrong: green at 0, red from
    ``standard``).
    """

    standard: float
    amber_margin: float
    floor: bool = True

    def steps(self) -> list[dict[str, Any]]:
        amber = (
            [{"color": AMBER, "value": self.standard - self.amber_margin}]
            if self.amber_margin > 0
            else []
        )
        if self.floor:
            return [{"color": RED, "value": None}, *amber, {"color": GREEN, "value": self.standard}]
        return [{"color": GREEN, "value": None}, *amber, {"color": RED, "value": self.standard}]


@dataclass
class Grid:
    """Places panels left to right, wrapping at Grafana's 24 columns."""

    x: int = 0
    y: int = 0
    row_h: int = 0
    _ids: int = field(default=0)

    def place(self, w: int, h: int) -> dict[str, int]:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def next_id(self) -> int:
        self._ids += 1
        return self._ids


def target(
    expr: str, legend: str = "", ref: str = "A", instant: bool = False, exemplar: bool = False
) -> dict[str, Any]:
    """A Prometheus query. ``exemplar``: also fetch exemplars (a breach's ``call_id``; the
    datasource's ``exemplarTraceIdDestinations`` turns it into a link to the call page)."""
    t: dict[str, Any] = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend}
    if instant:
        t["instant"] = True
        t["range"] = False
    if exemplar:
        t["exemplar"] = True
    return t


def panel(
    grid: Grid,
    kind: str,
    title: str,
    targets: Sequence[dict[str, Any]],
    *,
    w: int = 6,
    h: int = 5,
    unit: str = "short",
    thresholds: Thresholds | None = None,
    decimals: int | None = None,
    time_from: str | None = None,
    description: str = "",
    minmax: tuple[float, float] | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One panel; ``options`` are merged over the kind's defaults (``{"textMode": "name"}``:
    a stat that shows the series name, such as a version label, instead of its value)."""
    steps = thresholds.steps() if thresholds else [{"color": GREEN, "value": None}]
    defaults: dict[str, Any] = {
        "unit": unit,
        "thresholds": {"mode": "absolute", "steps": steps},
        "color": {"mode": "thresholds" if thresholds else "palette-classic"},
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    if minmax is not None:
        defaults["min"], defaults["max"] = minmax
    out: dict[str, Any] = {
        "id": grid.next_id(),
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": grid.place(w, h),
        "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {**_options(kind), **(options or {})},
    }
    if time_from:
        out["timeFrom"] = time_from
        out["hideTimeOverride"] = False
    return out


def _options(kind: str) -> dict[str, Any]:
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "stat":
        return {"reduceOptions": reduce, "colorMode": "background", "graphMode": "none"}
    if kind == "gauge":
        return {"reduceOptions": reduce, "showThresholdMarkers": True}
    if kind == "bargauge":
        return {"reduceOptions": reduce, "displayMode": "gradient", "orientation": "horizontal"}
    if kind == "timeseries":
        return {
            "legend": {"displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "multi"},
        }
    return {}


def query_var(name: str, label: str, metric: str, depends: str = "") -> dict[str, Any]:
    query = f"label_values({metric}{depends}, {label})"
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": f"{name}-var"},
        "definition": query,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "refresh": 2,
        "sort": 1,
    }


def dashboard(
    uid: str,
    title: str,
    panels: Sequence[dict[str, Any]],
    *,
    tags: Iterable[str] = (),
    variables: Sequence[dict[str, Any]] = (),
    time_from: str = "now-6h",
    refresh: str = "30s",
    description: str = "",
) -> dict[str, Any]:
    datasource_var = {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
    }
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["ringwatch", *tags],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": [datasource_var, *variables]},
        "annotations": {"list": []},
        "links": [
            {"type": "dashboards", "tags": ["ringwatch"], "asDropdown": True, "title": "ringwatch"}
        ],
        "panels": list(panels),
    }


def dashboard_exprs(model: Mapping[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard: panel targets and query variables."""
    out = [t["expr"] for p in model.get("panels", []) for t in p.get("targets", []) if "expr" in t]
    for var in model.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            out.append(var["query"]["query"])
    return out


_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*(\w+)\)$")


def expand_variables(expr: str, values: Mapping[str, str] | None = None) -> str:
    """Replace Grafana variables so Prometheus can run ``expr`` (tests, ``dashboards check``).

    ``label_values(metric, label)`` (a Grafana function) becomes ``group by (label) (metric)``.
    """
    vals = {
        "__range": "5m",
        "__rate_interval": "1m",
        "__interval": "15s",
        "pbx": ".*",
        "queue": ".*",
        **(values or {}),
    }
    match = _LABEL_VALUES.match(expr.strip())
    if match:
        expr = f"group by ({match.group(2)}) ({match.group(1)})"
    for name in sorted(vals, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", vals[name]).replace("$" + name, vals[name])
    return expr
