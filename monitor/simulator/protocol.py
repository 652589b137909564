"""One AMI session's protocol logic, as main/manager.c answers (pure: no sockets).

``Session.handle(action) -> Reply``; the server writes ``Reply.data`` and closes the socket
when ``Reply.close`` (Logoff, failed login: Asterisk ends the session after answering
``Authentication failed``, having slept one second first)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from random import Random

from collectors.ami.parser import AmiMessage
from monitor.simulator.engine import ContactCentre
from monitor.simulator.wire import AsteriskVersion, stamp

__all__ = ["ALL_CLASSES", "Credentials", "Reply", "Session", "event_mask", "privilege_classes"]

ALL_CLASSES = frozenset(
    [
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    ]
)
_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}
_PRE_LOGIN = {"login", "logoff", "challenge"}


@dataclass(frozen=True)
class Credentials:
    """The one manager.conf user the simulator accepts. The secret never appears in repr."""

    username: str
    secret: str = field(repr=False)


@dataclass
class Reply:
    data: list[bytes] = field(default_factory=list)
    close: bool = False
    delay: float = 0.0
    logged_in: bool = False


def event_mask(value: str) -> frozenset[str] | None:
    """Classes selected by an ``Events``/``EventMask`` value (on, off, ``call,agent``)."""
    v = value.strip().lower()
    if v in _TRUE:
        return ALL_CLASSES
    if v in _FALSE or not v:
        return frozenset()
    classes = frozenset(p.strip() for p in v.split(",")) & ALL_CLASSES
    return classes if classes or v.isdigit() else frozenset()


def privilege_classes(privilege: str) -> frozenset[str]:
    return frozenset(p for p in privilege.split(",") if p and p != "all")


def _header(msg: AmiMessage, key: str) -> str:
    want = key.lower()
    for k, v in msg.items:
        if k.lower() == want:
            return v.strip()
    return ""


def _block(pairs: Iterable[tuple[str, str]], output: Iterable[str] = ()) -> bytes:
    lines = [f"{k}: {v}" for k, v in pairs]
    lines.extend(f"Output: {line}" for line in output)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Session:
    """Protocol state of one connection: authentication, event mask, MD5 challenge."""

    def __init__(
        self,
        version: AsteriskVersion,
        creds: Credentials,
        pbx: ContactCentre,
        rng: Random,
        failed_login_delay: float = 1.0,
    ) -> None:
        self.version = version
        self.creds = creds
        self.pbx = pbx
        self.rng = rng
        self.failed_login_delay = failed_login_delay
        self.authenticated = False
        self.mask: frozenset[str] = ALL_CLASSES
        self.challenge = ""

    def wants(self, privilege: str) -> bool:
        """Would this session receive an event of this Privilege?"""
        return self.authenticated and bool(self.mask & privilege_classes(privilege))

    # -- responses -----------------------------------------------------------------
    @staticmethod
    def _resp(msg: AmiMessage, resp: str, message: str | None, *extra: tuple[str, str]) -> bytes:
        pairs = [("Response", resp)]
        aid = _header(msg, "ActionID")
        if aid:
            pairs.append(("ActionID", aid))
        pairs.extend(extra)
        if message is not None:
            pairs.append(("Message", message))
        return _block(pairs)

    def _error(self, msg: AmiMessage, message: str) -> Reply:
        return Reply([self._resp(msg, "Error", message)])

    def handle(self, msg: AmiMessage) -> Reply:
        action = _header(msg, "Action")
        if not action:
            return self._error(msg, "Missing action in request")
        name = action.lower()
        if not self.authenticated and name not in _PRE_LOGIN:
            return self._error(msg, "Permission denied")
        handler = getattr(self, f"_act_{name}", None)
        if handler is None:
            return self._error(
                msg,
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands.",
            )
        reply: Reply = handler(msg)
        return reply

    # -- actions -------------------------------------------------------------------
    def _act_challenge(self, msg: AmiMessage) -> Reply:
        if _header(msg, "AuthType").lower() != "md5":
            return self._error(msg, "Must specify AuthType")
        if not self.challenge:
            self.challenge = str(self.rng.randrange(100_000_000, 2_147_483_647))
        return Reply([self._resp(msg, "Success", None, ("Challenge", self.challenge))])

    def _act_login(self, msg: AmiMessage) -> Reply:
        user = _header(msg, "Username")
        ok = user == self.creds.username
        if _header(msg, "AuthType").lower() == "md5":
            key = hashlib.md5((self.challenge + self.creds.secret).encode()).hexdigest()
            ok = ok and bool(self.challenge) and _header(msg, "Key").lower() == key
        else:
            ok = ok and _header(msg, "Secret") == self.creds.secret
        if not ok:
            fail = self._resp(msg, "Error", "Authentication failed")
            return Reply([fail], close=True, delay=self.failed_login_delay)
        self.authenticated = True
        events = _header(msg, "Events")
        if events:
            self.mask = event_mask(events) or frozenset()
        pbx = self.pbx
        booted = _block(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", str(int(pbx.now - pbx.boot_time))),
                ("LastReload", str(int(pbx.now - pbx.reload_time))),
                ("Status", "Fully Booted"),
            ]
        )
        ok_resp = self._resp(msg, "Success", "Authentication accepted")
        return Reply([ok_resp, booted], logged_in=True)

    def _act_logoff(self, msg: AmiMessage) -> Reply:
        return Reply([self._resp(msg, "Goodbye", "Thanks for all the fish.")], close=True)

    def _act_ping(self, msg: AmiMessage) -> Reply:
        now = stamp(self.pbx.now)
        return Reply([self._resp(msg, "Success", None, ("Ping", "Pong"), ("Timestamp", now))])

    def _act_events(self, msg: AmiMessage) -> Reply:
        mask = event_mask(_header(msg, "EventMask"))
        self.mask = mask or frozenset()
        pairs = [("Response", "Success")]
        aid = _header(msg, "ActionID")
        if aid:
            pairs.append(("ActionID", aid))
        pairs.append(("Events", "On" if self.mask else "Off"))
        return Reply([_block(pairs)])

    def _act_command(self, msg: AmiMessage) -> Reply:
        cmd = " ".join(_header(msg, "Command").split()).lower()
        if not cmd:
            return self._error(msg, "No command provided")
        ok, lines = self._cli(cmd)
        head = [("Response", "Success" if ok else "Error")]
        aid = _header(msg, "ActionID")
        if aid:
            head.append(("ActionID", aid))
        head.append(("Message", "Command output follows"))
        return Reply([_block(head, lines)])

    def _cli(self, cmd: str) -> tuple[bool, list[str]]:
        pbx = self.pbx
        if cmd == "core show version":
            built = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(pbx.boot_time - 86_400 * 30))
            return True, [
                f"Asterisk {self.version.full} built by ringwatch @ simulator on a x86_64 "
                f"running Linux on {built} UTC"
            ]
        if cmd in ("core show channels", "core show channels concise"):
            fmt = "{:<20.20} {:<20.20} {:<7.7} {:<30.30}"
            lines = [fmt.format("Channel", "Location", "State", "Application(Data)")]
            chans = pbx.active_channels()
            for c in chans:
                loc = f"{c.exten}@{c.context}:{c.priority}"
                app = f"{c.application}({c.app_data})" if c.application else "(None)"
                lines.append(fmt.format(c.name, loc, c.snapshot()[2][1], app))
            calls = len({c.linkedid for c in chans})
            n = len(chans)
            lines.append(f"{n} active channel{'' if n == 1 else 's'}")
            lines.append(f"{calls} active call{'' if calls == 1 else 's'}")
            done = pbx.calls_processed
            lines.append(f"{done} call{'' if done == 1 else 's'} processed")
            return True, lines
        return False, [f"No such command '{cmd}' (type 'core show help {cmd}' for other help)"]

    def _list(self, msg: AmiMessage, message: str, items: list[bytes], done: str) -> Reply:
        aid = _header(msg, "ActionID")
        start = self._resp(msg, "Success", message, ("EventList", "start"))
        tail = [("Event", done)]
        if aid:
            tail.append(("ActionID", aid))
        tail += [("EventList", "Complete"), ("ListItems", str(len(items)))]
        return Reply([start, *items, _block(tail)])

    def _act_coreshowchannels(self, msg: AmiMessage) -> Reply:
        aid = _header(msg, "ActionID")
        items = []
        for c in self.pbx.active_channels():
            head = [("Event", "CoreShowChannel")] + ([("ActionID", aid)] if aid else [])
            tail = [
                ("Application", c.application),
                ("ApplicationData", c.app_data),
                ("Duration", _hms(self.pbx.now - c.created)),
                ("BridgeId", c.bridge_id),
            ]
            items.append(_block([*head, *c.snapshot(), *tail]))
        return self._list(msg, "Channels will follow", items, "CoreShowChannelsComplete")

    def _act_queuestatus(self, msg: AmiMessage) -> Reply:
        from monitor.simulator.queue_status import queue_status_items

        aid = _header(msg, "ActionID")
        items = [
            _block(pairs)
            for pairs in queue_status_items(
                self.pbx, _header(msg, "Queue"), _header(msg, "Member"), aid
            )
        ]
        return self._list(msg, "Queue status will follow", items, "QueueStatusComplete")
