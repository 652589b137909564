"""Persistent store (SQLAlchemy Core): SQLite by default, PostgreSQL by URL."""

from monitor.store.models import (
    AuditEntry,
    FlagFilter,
    FlagInfo,
    FlagRow,
    Page,
    PromiseRow,
    Review,
    StoredCall,
    User,
)
from monitor.store.store import Store

__all__ = [
    "AuditEntry",
    "FlagFilter",
    "FlagInfo",
    "FlagRow",
    "Page",
    "PromiseRow",
    "Review",
    "Store",
    "StoredCall",
    "User",
]
