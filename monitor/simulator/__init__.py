"""ringwatch's PBX stand-in: a contact-centre scenario engine on a virtual clock and an AMI
server that speaks like Asterisk 16–22 (docs/simulator.md).

    engine = ContactCentre(default_config(), seed=1)
    events = engine.run_until(engine.now + 3600)   # [(virtual time, AmiMessage)]
    engine.truth                                    # what really happened, call by call
"""

from __future__ import annotations

from monitor.simulator.config import (
    AgentConfig,
    Behaviour,
    CallbackConfig,
    CentreConfig,
    ExtensionConfig,
    QueueConfig,
    TrafficConfig,
    default_config,
    hourly,
)
from monitor.simulator.engine import DEFAULT_START, ContactCentre
from monitor.simulator.flows_calls import DialPlan
from monitor.simulator.flows_queue import QueuePlan
from monitor.simulator.protocol import Credentials
from monitor.simulator.recordings import AudioStyle, RecordingJob, RecordingWriter
from monitor.simulator.scenario import Scenario, load_scenario
from monitor.simulator.server import ServerConfig, SimulatorServer
from monitor.simulator.talk import HoldPlan, TalkPlan
from monitor.simulator.transcript import write_transcript
from monitor.simulator.truth import CallTruth, HoldTruth, PromiseTruth
from monitor.simulator.wire import VERSIONS, AsteriskVersion, render, version_for

__all__ = [
    "DEFAULT_START",
    "VERSIONS",
    "AgentConfig",
    "AsteriskVersion",
    "AudioStyle",
    "Behaviour",
    "CallTruth",
    "CallbackConfig",
    "CentreConfig",
    "ContactCentre",
    "Credentials",
    "DialPlan",
    "ExtensionConfig",
    "HoldPlan",
    "HoldTruth",
    "PromiseTruth",
    "QueueConfig",
    "QueuePlan",
    "RecordingJob",
    "RecordingWriter",
    "Scenario",
    "ServerConfig",
    "SimulatorServer",
    "TalkPlan",
    "TrafficConfig",
    "default_config",
    "hourly",
    "load_scenario",
    "render",
    "version_for",
    "write_transcript",
]
