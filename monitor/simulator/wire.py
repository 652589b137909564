"""AMI message building for the simulator: channel and bridge snapshot blocks, event
headers, Timestamp insertion and versions, exactly as Asterisk 16–22 order them
(reference/ami/EVENTS.md §1–§2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from collectors.ami.parser import AmiMessage
from monitor.errors import ConfigError

__all__ = [
    "CAUSE_TEXT",
    "STATE_DESC",
    "VERSIONS",
    "AsteriskVersion",
    "Bridge",
    "Chan",
    "bridge_block",
    "event",
    "render",
    "stamp",
    "version_for",
    "with_timestamp",
]

Pairs = list[tuple[str, str]]

STATE_DESC: dict[int, str] = {
    0: "Down",
    1: "Rsrvd",
    2: "OffHook",
    3: "Dialing",
    4: "Ring",
    5: "Ringing",
    6: "Up",
    7: "Busy",
    8: "Dialing Offhook",
    9: "Pre-ring",
}

CAUSE_TEXT: dict[int, str] = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
    127: "Interworking, unspecified",
}


@dataclass(frozen=True)
class AsteriskVersion:
    """An imitated Asterisk release: its major, full version and AMI banner version."""

    major: int
    full: str
    ami: str

    @property
    def banner(self) -> bytes:
        return f"Asterisk Call Manager/{self.ami}\r\n".encode()


VERSIONS: dict[int, AsteriskVersion] = {
    16: AsteriskVersion(16, "16.30.1", "5.0.5"),
    18: AsteriskVersion(18, "18.26.0", "7.0.3"),
    20: AsteriskVersion(20, "20.10.0", "9.0.0"),
    21: AsteriskVersion(21, "21.5.0", "10.0.0"),
    22: AsteriskVersion(22, "22.1.1", "11.0.0"),
}


def version_for(major: int) -> AsteriskVersion:
    """The imitated release for an Asterisk major version (16, 18, 20, 21 or 22)."""
    try:
        return VERSIONS[major]
    except KeyError:
        known = ", ".join(str(v) for v in VERSIONS)
        raise ConfigError(
            f"Asterisk version {major} is not imitated by the simulator; use one of {known}"
        ) from None


@dataclass
class Chan:
    """A live simulated channel (mutable engine state; snapshots are copied out)."""

    name: str
    uniqueid: str
    linkedid: str
    created: float
    state: int = 0
    cid_num: str = "<unknown>"
    cid_name: str = "<unknown>"
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"
    context: str = "from-internal"
    exten: str = "s"
    priority: int = 1
    language: str = "en"
    accountcode: str = ""
    application: str = ""
    app_data: str = ""
    bridge_id: str = ""
    vars: dict[str, str] = field(default_factory=dict)

    def snapshot(self, prefix: str = "") -> Pairs:
        """The channel snapshot block (EVENTS.md §2), optionally prefixed (``Dest``...)."""
        p = prefix
        return [
            (f"{p}Channel", self.name),
            (f"{p}ChannelState", str(self.state)),
            (f"{p}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{p}CallerIDNum", self.cid_num or "<unknown>"),
            (f"{p}CallerIDName", self.cid_name or "<unknown>"),
            (f"{p}ConnectedLineNum", self.conn_num or "<unknown>"),
            (f"{p}ConnectedLineName", self.conn_name or "<unknown>"),
            (f"{p}Language", self.language),
            (f"{p}AccountCode", self.accountcode),
            (f"{p}Context", self.context),
            (f"{p}Exten", self.exten),
            (f"{p}Priority", str(self.priority)),
            (f"{p}Uniqueid", self.uniqueid),
            (f"{p}Linkedid", self.linkedid),
        ]


@dataclass
class Bridge:
    """A live simulated basic two-party bridge."""

    uniqueid: str
    members: list[Chan] = field(default_factory=list)


def bridge_block(bridge: Bridge, prefix: str = "") -> Pairs:
    """The bridge snapshot block (EVENTS.md §3) for a basic simple_bridge."""
    p = prefix
    return [
        (f"{p}BridgeUniqueid", bridge.uniqueid),
        (f"{p}BridgeType", "basic"),
        (f"{p}BridgeTechnology", "simple_bridge"),
        (f"{p}BridgeCreator", "<unknown>"),
        (f"{p}BridgeName", "<unknown>"),
        (f"{p}BridgeNumChannels", str(len(bridge.members))),
        (f"{p}BridgeVideoSourceMode", "none"),
    ]


def event(name: str, privilege: str, body: Pairs) -> AmiMessage:
    """An unsolicited event: ``Event``, ``Privilege`` then the body (no Timestamp yet)."""
    return AmiMessage.from_pairs([("Event", name), ("Privilege", privilege), *body])


def with_timestamp(msg: AmiMessage, at: float) -> AmiMessage:
    """Insert ``Timestamp: <sec>.<usec>`` after ``Privilege`` (timestampevents=yes)."""
    items = list(msg.items)
    if len(items) < 2 or items[1][0] != "Privilege":
        return msg
    return AmiMessage.from_pairs([items[0], items[1], ("Timestamp", stamp(at)), *items[2:]])


def stamp(at: float) -> str:
    """``<sec>.<usec>`` as manager.c prints a timeval."""
    micros = round(at * 1_000_000)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def render(at: float, msg: AmiMessage, timestamps: bool) -> bytes:
    """Wire bytes of one event at virtual time ``at``."""
    return (with_timestamp(msg, at) if timestamps else msg).to_bytes()
