"""The simulated contact centre: frozen configuration values (queues, agents and their
behaviour, traffic) and the defaults the demo uses. ``scenario.py`` loads them from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "STRATEGIES",
    "AgentConfig",
    "Behaviour",
    "CallbackConfig",
    "CentreConfig",
    "ExtensionConfig",
    "QueueConfig",
    "TrafficConfig",
    "default_config",
    "hourly",
]

# ringall is Asterisk's default but rings every member at once; the simulator rings one
# member at a time, so it offers the one-at-a-time strategies (docs/simulator.md).
STRATEGIES = ("rrmemory", "roundrobin", "leastrecent", "fewestcalls", "random", "linear")

Hourly = tuple[float, ...]


def hourly(value: float) -> Hourly:
    """The same rate for all 24 hours of the day."""
    return tuple(float(value) for _ in range(24))


@dataclass(frozen=True)
class Behaviour:
    """How an agent (or extension user) handles calls. Times in seconds, means of
    exponential-like draws; probabilities in 0..1."""

    ring_seconds: float = 6.0
    no_answer_probability: float = 0.05
    talk_seconds: float = 150.0
    wrapup_seconds: float = 10.0
    hold_probability: float = 0.2
    hold_seconds: float = 45.0
    check_back_probability: float = 0.5
    check_back_every: float = 30.0
    agent_hangs_up_probability: float = 0.4
    blind_transfer_probability: float = 0.02
    attended_transfer_probability: float = 0.02
    promise_probability: float = 0.03


@dataclass(frozen=True)
class AgentConfig:
    """A queue member: extension ``ext`` reached as ``PJSIP/<ext>``."""

    ext: str
    name: str
    behaviour: Behaviour = field(default_factory=Behaviour)


@dataclass(frozen=True)
class ExtensionConfig:
    """A plain extension (reception, back office) that takes direct and internal calls."""

    ext: str
    name: str
    did: str = ""
    answer_probability: float = 0.8
    busy_probability: float = 0.03
    ring_seconds: float = 8.0
    talk_seconds: float = 120.0


@dataclass(frozen=True)
class QueueConfig:
    """An inbound queue fed from DID ``did`` with Poisson arrivals per hour of day (UTC)."""

    name: str
    did: str
    agents: tuple[str, ...]
    arrivals_per_hour: Hourly = field(default_factory=lambda: hourly(30.0))
    strategy: str = "rrmemory"
    patience_seconds: float = 120.0
    ring_timeout: float = 15.0
    retry: float = 5.0
    max_wait: float = 0.0
    moh_class: str = "default"


@dataclass(frozen=True)
class TrafficConfig:
    """Non-queue traffic rates (calls per hour, per hour of day UTC)."""

    direct_per_hour: Hourly = field(default_factory=lambda: hourly(4.0))
    internal_per_hour: Hourly = field(default_factory=lambda: hourly(3.0))
    outbound_per_hour: Hourly = field(default_factory=lambda: hourly(4.0))
    withheld_probability: float = 0.05
    outbound_answer_probability: float = 0.7
    outbound_busy_probability: float = 0.1
    caller_prefix: str = "0207946"


@dataclass(frozen=True)
class CallbackConfig:
    """Callback promises (UserEvent CallbackPromise) and whether they are kept."""

    due_in_seconds: float = 1800.0
    keep_probability: float = 0.8
    answer_probability: float = 0.75


@dataclass(frozen=True)
class CentreConfig:
    """The whole simulated contact centre."""

    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentConfig, ...]
    extensions: tuple[ExtensionConfig, ...] = ()
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    callbacks: CallbackConfig = field(default_factory=CallbackConfig)
    trunk: str = "trunk"
    inbound_context: str = "from-pstn"
    internal_context: str = "from-internal"
    recordings_dir: str = "/var/spool/asterisk/monitor"
    voicemail_context: str = "default"

    def agent(self, ext: str) -> AgentConfig:
        for agent in self.agents:
            if agent.ext == ext:
                return agent
        raise KeyError(ext)


def default_config() -> CentreConfig:
    """The demo contact centre: two queues, six agents, a reception extension."""
    agents = tuple(
        AgentConfig(ext, name)
        for ext, name in (
            ("201", "Alice Archer"),
            ("202", "Bob Baker"),
            ("203", "Carol Chen"),
            ("204", "Dev Dhillon"),
            ("205", "Erin Evans"),
            ("206", "Femi Fashola"),
        )
    )
    queues = (
        QueueConfig("sales", did="02079460100", agents=("201", "202", "203")),
        QueueConfig(
            "support",
            did="02079460200",
            agents=("204", "205", "206", "203"),
            arrivals_per_hour=hourly(40.0),
            strategy="leastrecent",
        ),
    )
    extensions = (ExtensionConfig("300", "Reception", did="02079460300"),)
    return CentreConfig(queues=queues, agents=agents, extensions=extensions)
