"""Web tier: QA review UI, live wallboard, JSON API, CSV export, /metrics and /healthz."""

from monitor.web.app import create_app
from monitor.web.live import LiveNumbers, LiveProvider, StaticLive, Tile, TileStandard
from monitor.web.settings import DEFAULT_CHECKLIST, ChecklistItem, WebSettings

__all__ = [
    "DEFAULT_CHECKLIST",
    "ChecklistItem",
    "LiveNumbers",
    "LiveProvider",
    "StaticLive",
    "Tile",
    "TileStandard",
    "WebSettings",
    "create_app",
]
