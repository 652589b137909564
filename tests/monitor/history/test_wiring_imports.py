"""Building an importer loads the import's own modules, not the service's web stack (FastAPI,
pydantic: 0.6 s that every ``ringwatch import`` paid before its first event)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_CODE = """
import json, sys
from monitor.config import build_config
from monitor.history.wiring import build_importer
from monitor.rules import load_rules
from monitor.store.store import Store
url = "sqlite:///" + sys.argv[1]
cfg = build_config({"site": {"country": "UK"}, "store": {"url": url}})
imp = build_importer(cfg, Store.open(url), load_rules("rules"))
heavy = [m for m in ("fastapi", "pydantic", "starlette", "monitor.service") if m in sys.modules]
print(json.dumps([heavy, imp.target.promises is not None]))
"""


def test_build_importer_does_not_load_the_web_stack(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CODE, str(tmp_path / "s.db")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    heavy, has_ledger = json.loads(out.stdout.strip().splitlines()[-1])
    assert heavy == []
    assert has_ledger is True


def test_the_import_and_the_service_share_one_promise_policy() -> None:
    from monitor.config import build_config
    from monitor.promises.settings import site_settings
    from monitor.rules import load_rules
    from monitor.service_wiring import _promise_settings

    rules = load_rules(ROOT / "rules")
    cfg = build_config({"site": {"country": "UK"}})
    assert _promise_settings(rules, cfg) == site_settings(
        rules.rules, country="UK", pbx=cfg.pbxs[0].name
    )
    # UK numbers are GB numbers to the ledger's phone number rules
    assert site_settings(rules.rules, country="UK", pbx="p") == site_settings(
        rules.rules, country="GB", pbx="p"
    )
