"""Push dashboards to a Grafana over its HTTP API with ``grafana-client`` (the ``grafana`` extra).

See docs/decisions/0003-grafana-client.md for why grafana-client and not grafana-api.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from monitor.errors import ConfigError, InputError

__all__ = ["PushResult", "api_base_url", "load_dashboard_files", "push_dashboards"]


@dataclass(frozen=True, slots=True)
class PushResult:
    uid: str
    title: str
    status: str
    url: str


def load_dashboard_files(directory: str | Path) -> list[dict[str, Any]]:
    """The dashboard models (``*.json``) of ``directory``, sorted by file name."""
    d = Path(directory)
    files = sorted(d.glob("*.json")) if d.is_dir() else []
    if not files:
        raise InputError(f"{d}: no dashboard JSON files; run `ringwatch dashboards build` first")
    out = []
    for f in files:
        try:
            out.append(json.loads(f.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{f}: not a readable dashboard JSON file: {exc}") from exc
    return out


def api_base_url(url: str) -> str:
    """``url`` with its path ending in ``/``: grafana-client appends ``api`` to the path as it
    is, so a Grafana under a sub-path given without the slash (``https://h/grafana``) would get
    ``/grafanaapi/...``."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ConfigError(f"Grafana URL {url!r} is not an http(s) URL such as https://grafana:3000")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit(parts._replace(path=path))


def push_dashboards(
    url: str,
    token: str,
    dashboards: Sequence[Mapping[str, Any]],
    *,
    folder_uid: str | None = None,
    timeout: float = 10.0,
) -> list[PushResult]:
    """Create or overwrite each dashboard (by uid) in the Grafana at ``url``."""
    if not token:
        raise ConfigError("no Grafana token: pass --token or set GRAFANA_TOKEN")
    try:
        from grafana_client.api import GrafanaApi
        from grafana_client.client import GrafanaException
        from niquests.exceptions import RequestException
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "grafana-client is not installed: pip install 'ringwatch[grafana]'"
        ) from exc
    api = GrafanaApi.from_url(url=api_base_url(url), credential=token, timeout=timeout)
    results = []
    for model in dashboards:
        payload: dict[str, Any] = {
            "dashboard": {**model, "id": None},
            "overwrite": True,
            "message": "ringwatch dashboards push",
        }
        if folder_uid:
            payload["folderUid"] = folder_uid
        try:
            reply = api.dashboard.update_dashboard(payload)
        except GrafanaException as exc:
            raise ConfigError(
                f"Grafana at {url} refused dashboard {model.get('uid')!r}: {exc}; "
                "check the URL and that the token has the Editor role"
            ) from exc
        except RequestException as exc:
            raise ConfigError(f"cannot reach Grafana at {url}: {exc}") from exc
        results.append(
            PushResult(
                uid=str(reply.get("uid", model.get("uid"))),
                title=str(model.get("title", "")),
                status=str(reply.get("status", "")),
                url=str(reply.get("url", "")),
            )
        )
    return results
