"""Issue 16 item 10: promises keep their rule id.

An agent's explicit "I will call you back in 30 minutes" is judged under
keep-callback-promises against its own 30 minutes; the missed call it follows is judged under
return-missed-calls-24h. Both rules are counted in ``ringwatch_standard_checks_total``.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from monitor.config import Config, PbxConfig, Secret
from monitor.events import CallbackPromised, ChannelRef
from monitor.promises import Action, PromiseEngine
from monitor.rules import load_rules
from monitor.service import Service, _promise_settings

RULES = Path(__file__).resolve().parents[3] / "rules"
HOUR = 3600.0
NUMBER = "+442079460555"


def _cfg(tmp_path: Path) -> Config:
    return Config(
        country="GB",
        pbxs=(PbxConfig(name="hq", secret=Secret("x")),),
        rules_dir=RULES,
        store_url=f"sqlite:///{tmp_path / 'p.sqlite'}",
        web_enabled=False,
    )


def _promised(at: float, due_in: float) -> CallbackPromised:
    chan = ChannelRef("PJSIP/201-1", "9.2", "9.1")
    return CallbackPromised(at, chan, NUMBER, at + due_in, agent="alice", reason="quote")


def test_explicit_and_implicit_promises_keep_their_rules(db: Engine, make_call, t0) -> None:  # type: ignore[no-untyped-def]
    settings = _promise_settings(load_rules(RULES), _cfg(Path("/nonexistent")))
    assert settings.rule_id == "return-missed-calls-24h"
    assert settings.explicit is not None
    assert settings.explicit.rule_id == "keep-callback-promises"
    engine = PromiseEngine(db, settings, refresh_seconds=0.0)
    missed = engine.on_call(make_call("in-1", "inbound", "abandoned", t0, caller=NUMBER))
    assert [c.promise.rule for c in missed] == ["return-missed-calls-24h"]
    made = engine.on_event(_promised(t0 + 120, 30 * 60))
    # its own promise, not merged into the missed-call one
    assert [(c.action, c.promise.rule) for c in made] == [
        (Action.CREATED, "keep-callback-promises")
    ]
    broken = engine.advance(t0 + HOUR)
    (change,) = broken
    assert change.action is Action.BROKEN and change.promise.rule == "keep-callback-promises"
    f = change.finding
    assert f is not None and f.rule == "keep-callback-promises"
    assert (f.value, f.threshold, f.at) == (1800.0, 1800.0, t0 + 120 + 1800)  # was 1800 / 86400
    assert f.title == "Keep every callback promise by its due time"
    late = engine.advance(t0 + 25 * HOUR)
    assert [(c.promise.rule, c.finding.threshold if c.finding else None) for c in late] == [
        ("return-missed-calls-24h", 86400.0)
    ]


def test_both_callback_rules_are_counted_in_standard_checks(tmp_path: Path, t0: float) -> None:
    service = Service(_cfg(tmp_path), clock=lambda: t0, registry=CollectorRegistry())
    try:
        service.promises.on_event(_promised(t0, 30 * 60))
        for change in service.promises.advance(t0 + HOUR):
            service._promise_changed(change)
        registry = service.registry

        def checks(rule: str, result: str) -> float | None:
            labels = {"pbx": "hq", "queue": "", "rule": rule, "severity": "warning",
                      "result": result}  # fmt: skip
            return registry.get_sample_value("ringwatch_standard_checks_total", labels)

        assert checks("keep-callback-promises", "breached") == 1.0
        # both callback rules have series (0, not absent: no NaN on the dashboards)
        assert checks("return-missed-calls-24h", "breached") == 0.0
        assert checks("return-missed-calls-24h", "met") == 0.0
    finally:
        service.close()
