"""The seed standards shipped with the package: ``standards.yml`` here is the default rule set
when no rules directory is given or found (e.g. ``ringwatch replay`` run outside the
repository). ``rules/standards.yml`` in the repository is the editable copy operators start
from; a test keeps the two identical (edit ``rules/standards.yml``, then copy it here)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SEED_RULES"]

SEED_RULES = Path(__file__).with_name("standards.yml")
