"""The lab: one Asterisk, the scenarios' configs, and a batch runner that starts every
scenario's call at once and waits until every channel is gone (event-driven, no sleeps).

A scenario (tests/lab/scenarios.py) contributes config text (dialplan, queues, endpoints)
and a ``drive`` function that starts its call(s) through AMI Originate or SIPp. The AMI
stream of the ``ringwatch`` user (manager.conf as README.md) is the transcript that the
tests replay through ringwatch's pipeline and compare with the truth.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from collectors.ami.parser import AmiMessage
from tests.lab.ami import AmiClient
from tests.lab.asterisk import Asterisk, free_port
from tests.lab.sipp import Sipp

__all__ = ["Lab", "Scenario"]


@dataclass
class Scenario:
    """One call flow. ``caller`` is unique in the batch: it finds the call's record."""

    name: str
    caller: str
    drive: Callable[[Lab, Scenario], None]
    extensions: str = ""
    queues: str = ""
    pjsip: str = ""
    expect: dict[str, object] = field(default_factory=dict)
    phase: int = 1  # scenarios of one phase run at the same time
    error: BaseException | None = None
    sipps: list[Sipp] = field(default_factory=list)


class Lab:
    def __init__(self, asterisk: Asterisk, workdir: Path) -> None:
        self.ast = asterisk
        self.dir = workdir
        self._ami = asterisk.ami
        self.capture: AmiClient | None = None
        self._used_ports: set[int] = set()
        self._phone_ports: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def ami(self) -> AmiClient:
        """The lab user's connection (originate, commands); set once Asterisk is up."""
        if self._ami is None:
            raise RuntimeError("the lab's Asterisk is not started")
        return self._ami

    @ami.setter
    def ami(self, client: AmiClient) -> None:
        self._ami = client

    # ---- connections -----------------------------------------------------------------------

    def open_capture(self) -> AmiClient:
        """The ringwatch user's connection (read-only, as README.md configures it)."""
        self.capture = self.ast.connect("ringwatch", self.ast.ringwatch_secret, booted=False)
        return self.capture

    # ---- ports -----------------------------------------------------------------------------

    def udp_port(self) -> int:
        """A free loopback UDP port whose +1..+3 neighbours are free as well (SIPp media)."""
        with self._lock:
            for _ in range(200):
                port = free_port(socket.SOCK_DGRAM)
                block = {port + i for i in range(4)}
                if block & self._used_ports or not all(_udp_free(p) for p in block):
                    continue
                self._used_ports |= block
                return port
        raise RuntimeError("no free UDP port block on 127.0.0.1")

    # ---- drivers ---------------------------------------------------------------------------

    _originated = 0

    def originate(
        self,
        exten: str,
        caller: str,
        hold_up_s: int,
        context: str = "callers",
        phone: str = "lab-phones",
    ) -> str:
        """An inbound caller: ``exten@context`` runs on a Local channel with the caller ID
        ``caller`` (the call's first channel, as a trunk channel would be); its other half
        is the caller's phone (``9<hold_up_s>@phone``, by default ``lab-phones``: it hangs
        up ``hold_up_s`` seconds after the call starts). Returns the call id (the first
        channel's Uniqueid)."""
        return self._originate(
            f"Local/9{hold_up_s}@{phone}", caller, Context=context, Exten=exten, Priority=1
        )

    def originate_app(self, channel: str, caller: str, hold_up_s: int, name: str) -> str:
        """A call placed by a phone (an agent's outbound call): ``channel`` is dialled and
        the phone stays ``hold_up_s`` seconds once it answers."""
        return self._originate(channel, caller, name=name, Application="Wait", Data=str(hold_up_s))

    def _originate(self, channel: str, caller: str, name: str = "Lab", **fields: str | int) -> str:
        with self._lock:
            self._originated += 1
            uid = f"{int(time.time())}.{90000 + self._originated}"
        mark = self.ami.mark()
        reply = self.ami.action(
            "Originate", ChannelId=uid, Channel=channel, CallerID=f'"{name}" <{caller}>',
            Async="true", Timeout=60000, **fields,
        )  # fmt: skip
        if reply.get("Response") != "Success":
            raise RuntimeError(f"Originate {channel} {fields}: {reply.get('Message')}")
        self.wait_channel(lambda m: m.get("Uniqueid") == uid, mark)
        return uid

    def sipp_phone(self, scenario: Scenario, label: str, xml: str) -> int:
        """Start a SIPp phone (UAS) and return its port (the endpoint's contact port)."""
        port = self.phone_port(label)
        sipp = Sipp(f"{scenario.name}-{label}", xml, port, self.dir).start()
        scenario.sipps.append(sipp)
        return port

    def sipp_call(self, scenario: Scenario, label: str, xml: str) -> Sipp:
        port = self.udp_port()
        sipp = Sipp(
            f"{scenario.name}-{label}",
            xml,
            port,
            self.dir,
            remote=f"127.0.0.1:{self.ast.ports.sip}",
        )
        mark = self.ami.mark()
        scenario.sipps.append(sipp.start())
        self.wait_channel(lambda m: m.get("CallerIDNum") == scenario.caller, mark)
        return sipp

    def phone_port(self, endpoint: str) -> int:
        """The UDP port of a SIPp phone (its endpoint's contact), fixed once chosen."""
        if endpoint not in self._phone_ports:
            self._phone_ports[endpoint] = self.udp_port()
        return self._phone_ports[endpoint]

    def list_action(self, action: str, complete: str, **fields: str) -> list[AmiMessage]:
        """An AMI list action's events (up to its ``complete`` event)."""
        start = self.ami.mark()
        action_id = self.ami.send(action, **fields)
        self.ami.wait_for(
            lambda m: m.get("Event") == complete and m.get("ActionID") == action_id, 10, start
        )
        return [
            m
            for _, m in self.ami.messages[start:]
            if m.get("ActionID") == action_id and m.get("Event")
        ]

    # ---- waiting ---------------------------------------------------------------------------

    def wait_channel(
        self, match: Callable[[AmiMessage], bool], start: int, timeout: float = 15.0
    ) -> AmiMessage:
        """The first Newchannel since ``start`` (lab connection index) that ``match``es."""
        return self.ami.wait_for(
            lambda m: m.get("Event") == "Newchannel" and match(m), timeout, start
        )

    def wait_idle(self, start: int, timeout: float) -> None:
        """Every channel created since capture index ``start`` has hung up (call once the
        drivers have started every call)."""
        assert self.capture is not None
        live: set[str] = set()

        def idle(m: AmiMessage) -> bool:
            name = m.get("Event")
            if name == "Newchannel":
                live.add(m.get("Uniqueid") or "")
            elif name == "Hangup":
                live.discard(m.get("Uniqueid") or "")
            return name == "Hangup" and not live

        self.capture.wait_for(idle, timeout, start)

    def run(self, scenarios: list[Scenario], timeout: float = 150.0) -> tuple[int, int]:
        """Start every scenario's driver in its own thread; return the capture's message
        range covering them once every channel is gone and every driver finished."""
        assert self.capture is not None
        start = self.capture.mark()
        threads = []
        for sc in scenarios:
            t = threading.Thread(target=_drive, args=(self, sc), name=sc.name, daemon=True)
            threads.append(t)
            t.start()
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self.wait_idle(start, max(1.0, deadline - time.monotonic()))
        for sc in scenarios:
            for sipp in sc.sipps:
                try:
                    code = sipp.wait(max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    sipp.kill()
                    code = -1
                if code != 0 and sc.error is None:
                    sc.error = RuntimeError(f"sipp {sipp.name} exit {code}: {sipp.errors()}")
        return start, self.capture.mark()


def _drive(lab: Lab, sc: Scenario) -> None:
    try:
        sc.drive(lab, sc)
    except Exception as exc:  # noqa: BLE001  (reported by the scenario's own test)
        sc.error = exc


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
