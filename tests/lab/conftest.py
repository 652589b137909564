"""The lab's fixtures: one Asterisk per test session, the scenario batch, its replay.

Policy: the lab runs in `make test` and in CI. Missing Asterisk sources, a failed build or a
missing ``sipp`` make these tests FAIL. Only a developer's explicit ``RINGWATCH_LAB=0``
skips them (docs/testing.md).
"""

# ruff: noqa: E402  (the repository root goes on sys.path before tests.lab imports)
from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # the lab's helpers import as tests.lab.* (as bench/ does)
    sys.path.insert(0, _ROOT)

from collectors.ami.parser import AmiMessage
from monitor.pipeline import Pipeline
from monitor.promises import PromiseEngine
from monitor.promises.db import open_database
from monitor.promises.model import Change
from monitor.record import CallRecord
from monitor.rules import Site, load_rules
from monitor.sinks import PromiseSink
from monitor.tracker import Tracker, TrackerSettings
from monitor.tracker.settings import DEFAULT_INBOUND_CONTEXTS
from tests.lab.asterisk import REPO, Asterisk, Configs, LabPorts, find_install, require_tools
from tests.lab.lab import Lab, Scenario
from tests.lab.live import Live
from tests.lab.scenarios import RESTART_EXTENSIONS, SCENARIOS, common_config, phones_config
from tests.lab.truth import CallTruth, truth_for

LAB_OFF = os.environ.get("RINGWATCH_LAB", "1") == "0"
ARTIFACTS = REPO / "tests/artifacts/lab"
SETTINGS = TrackerSettings(pbx="lab", inbound_contexts=(*DEFAULT_INBOUND_CONTEXTS, "lab-phones"))


@dataclass
class Replay:
    records: list[CallRecord]
    changes: list[Change] = field(default_factory=list)
    unknown: dict[str, int] = field(default_factory=dict)
    illegal: dict[str, int] = field(default_factory=dict)

    def by_caller(self, caller: str) -> list[CallRecord]:
        """The calls from ``caller`` (a scenario's inbound calls)."""
        return [r for r in self.records if r.caller == caller and r.direction != "outbound"]


def replay(messages: list[AmiMessage], db_path: Path) -> Replay:
    """Feed the captured AMI messages through ringwatch's pipeline (the rules of rules/,
    a promise ledger on SQLite), as `ringwatch run` would."""
    changes: list[Change] = []
    engine = PromiseEngine(open_database(f"sqlite:///{db_path}"))
    promises = PromiseSink(engine, "lab", changes.append)
    pipe = Pipeline(
        Tracker(SETTINGS),
        load_rules(REPO / "rules"),
        site=Site("us"),
        sinks=[promises],
        on_promise=promises.promised,
    )
    records: list[CallRecord] = []
    for msg in messages:
        records.extend(pipe.feed_message(msg))
        if pipe.now:
            promises.advance(pipe.now)
    records.extend(pipe.finish())
    return Replay(records, changes, dict(pipe.translator.unknown), dict(pipe.tracker.stats.illegal))


@dataclass
class LabRun:
    lab: Lab
    live: Live
    scenarios: dict[str, Scenario]
    messages: list[AmiMessage]
    result: Replay
    queue_log: list[list[str]]
    queue_status: list[AmiMessage]  # QueueStatus after the batch (QueueParams, QueueMember)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if LAB_OFF:
        pytest.skip("RINGWATCH_LAB=0: the Asterisk lab is switched off (docs/testing.md)")
    require_tools()
    install = find_install()
    workdir = tmp_path_factory.mktemp("lab")
    ext, pj = common_config()
    configs = Configs(extensions=[ext], pjsip=[pj], voicemail=["200 => 1234,Lab Voicemail"])
    ports = LabPorts()
    ast = Asterisk(install, workdir, ports, configs)
    lab = Lab(ast, workdir)
    for sc in SCENARIOS:
        configs.extensions.append(sc.extensions)
        configs.queues.append(sc.queues)
        configs.pjsip.append(sc.pjsip)
    configs.extensions.append(RESTART_EXTENSIONS)
    configs.pjsip.append(phones_config(lab.phone_port))
    ast.write_configs()
    try:
        lab.ami = ast.start()
        lab.open_capture()
        yield lab
    finally:
        ast.stop()
        if lab.capture is not None:
            lab.capture.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        if lab.capture is not None:
            (ARTIFACTS / "capture.ami").write_bytes(bytes(lab.capture.raw))
        for name in ("asterisk.out", "log/messages.log", "log/queue_log"):
            src = workdir / name
            if src.exists():
                shutil.copy(src, ARTIFACTS / src.name)
        for sipp_file in workdir.glob("*.err"):
            shutil.copy(sipp_file, ARTIFACTS / sipp_file.name)


@pytest.fixture(scope="session")
def live(lab: Lab) -> Iterator[Live]:
    """``ringwatch run`` against the lab (its config written here), up before the batch so it
    sees every call live. Stopped with SIGTERM at the end of the session."""
    service = Live.start(lab)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def lab_run(lab: Lab, live: Live, tmp_path_factory: pytest.TempPathFactory) -> LabRun:
    """Every phase-1 scenario at once (``ringwatch run`` watching live); then the capture
    replayed through the pipeline."""
    scenarios = [sc for sc in SCENARIOS if sc.phase == 1]
    lab.run(scenarios)
    summary = lab.list_action("QueueStatus", "QueueStatusComplete")
    assert lab.capture is not None
    messages = [m for _, m in lab.capture.messages]
    db = tmp_path_factory.mktemp("lab-db") / "promises.sqlite"
    result = replay(messages, db)
    _write_summary(scenarios, result, messages)
    return LabRun(
        lab,
        live,
        {sc.name: sc for sc in scenarios},
        messages,
        result,
        lab.ast.queue_log(),
        summary,
    )


def _write_summary(scenarios: list[Scenario], result: Replay, messages: list[AmiMessage]) -> None:
    """tests/artifacts/lab/summary.json: each scenario's record and Asterisk's figures."""
    out = {}
    for sc in scenarios:
        for rec in result.by_caller(sc.caller):
            truth = truth_for(messages, rec.call_id)
            out[sc.name] = {
                "record": {k: v for k, v in rec.to_contract().items() if k != "findings"}
                | {"findings": sorted(f.rule for f in rec.findings)},
                "truth": _truth_summary(truth),
            }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "summary.json").write_text(json.dumps(out, indent=1, default=str))


def _truth_summary(truth: CallTruth) -> dict[str, object]:
    connect = truth.agent_connect or {}
    return {
        "ring": truth.ring,
        "talk": truth.talk,
        "wait": truth.wait,
        "holds": [b - a for a, b in truth.holds],
        "hangup_cause": (truth.hangup or {}).get("Cause"),
        "dial_status": truth.dial_status,
        "agent_connect": {k: connect.get(k) for k in ("HoldTime", "RingTime")},
        "agent_complete_talk": (truth.agent_complete or {}).get("TalkTime"),
        "rna_ms": truth.rna_ms,
        "abandon_hold": truth.abandon_hold,
        "cdr": [
            (c.get("Disposition"), c.get("Duration"), c.get("BillableSeconds")) for c in truth.cdr
        ],
    }
