"""Channel-level operations of the simulated PBX: each creates or changes channels and
bridges and emits the AMI events Asterisk 22 emits for that change, in its order."""

from __future__ import annotations

import math
import random
import uuid

from collectors.ami.parser import AmiMessage
from monitor.simulator.wire import CAUSE_TEXT, Bridge, Chan, Pairs, bridge_block, event

__all__ = ["Pbx"]

CALL = "call,all"
AGENT = "agent,all"
DIALPLAN = "dialplan,all"
USER = "user,all"


class Pbx:
    """Live channels and bridges plus the event log; virtual time is ``self.now``."""

    def __init__(self, seed: int, start: float, first_uniqueid: int = 1) -> None:
        self.rng = random.Random(seed)
        self.now = float(start)
        self.out: list[tuple[float, AmiMessage]] = []
        self.channels: dict[str, Chan] = {}
        self._uid = first_uniqueid
        self._chan_no = 0x2A
        self.calls_processed = 0

    # -- low level -----------------------------------------------------------------
    def emit(self, msg: AmiMessage) -> None:
        self.out.append((self.now, msg))

    def _ev(self, name: str, priv: str, body: Pairs) -> None:
        self.emit(event(name, priv, body))

    def new_uniqueid(self) -> str:
        uid = f"{math.floor(self.now)}.{self._uid}"
        self._uid += 1
        return uid

    def new_bridge_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- channels ------------------------------------------------------------------
    def new_channel(
        self,
        tech: str,
        *,
        linkedid: str | None,
        state: int,
        cid_num: str,
        cid_name: str,
        context: str,
        exten: str,
    ) -> Chan:
        """Create ``<tech>-<hex counter>`` and emit Newchannel."""
        uid = self.new_uniqueid()
        name = f"{tech}-{self._chan_no:08x}"
        self._chan_no += 1
        chan = Chan(
            name=name,
            uniqueid=uid,
            linkedid=linkedid or uid,
            created=self.now,
            state=state,
            cid_num=cid_num,
            cid_name=cid_name,
            context=context,
            exten=exten,
        )
        self.channels[uid] = chan
        self.calls_processed += 1 if linkedid is None else 0
        self._ev("Newchannel", CALL, chan.snapshot())
        return chan

    def newstate(self, chan: Chan, state: int) -> None:
        chan.state = state
        self._ev("Newstate", CALL, chan.snapshot())

    def connected_line(self, chan: Chan, other: Chan, emit: bool = True) -> None:
        chan.conn_num, chan.conn_name = other.cid_num, other.cid_name
        if emit:
            self._ev("NewConnectedLine", CALL, chan.snapshot())

    def newexten(self, chan: Chan, app: str, data: str, priority: int | None = None) -> None:
        if priority is not None:
            chan.priority = priority
        chan.application, chan.app_data = app, data
        body = [*chan.snapshot(), ("Extension", chan.exten), ("Application", app)]
        self._ev("Newexten", DIALPLAN, [*body, ("AppData", data)])

    def varset(self, chan: Chan, name: str, value: str) -> None:
        chan.vars[name] = value
        self._ev("VarSet", DIALPLAN, [*chan.snapshot(), ("Variable", name), ("Value", value)])

    def two(self, name: str, priv: str, a: Chan, b: Chan, extra: Pairs) -> None:
        self._ev(name, priv, [*a.snapshot(), *b.snapshot("Dest"), *extra])

    def dial_begin(self, caller: Chan, dest: Chan, dialstring: str) -> None:
        dest.application, dest.app_data = "AppDial", "(Outgoing Line)"
        self.two("DialBegin", CALL, caller, dest, [("DialString", dialstring)])

    def dial_state(self, caller: Chan, dest: Chan, status: str) -> None:
        self.two("DialState", CALL, caller, dest, [("DialStatus", status)])

    def dial_end(self, caller: Chan, dest: Chan, status: str) -> None:
        self.two("DialEnd", CALL, caller, dest, [("DialStatus", status)])

    def hangup_request(self, chan: Chan, cause: int | None = None) -> None:
        """``Cause`` only when given: the 22.1 capture has none on a BYE (the lab's 22.10.1
        sends 16 there, docs/simulator.md); a SIP caller's CANCEL gives 127."""
        extra: Pairs = [] if cause is None else [("Cause", str(cause))]
        self._ev("HangupRequest", CALL, [*chan.snapshot(), *extra])

    def soft_hangup(self, chan: Chan, cause: int = 16) -> None:
        self._ev("SoftHangupRequest", CALL, [*chan.snapshot(), ("Cause", str(cause))])

    def hangup(self, chan: Chan, cause: int = 16) -> None:
        text = CAUSE_TEXT.get(cause, "Unknown")
        self._ev("Hangup", CALL, [*chan.snapshot(), ("Cause", str(cause)), ("Cause-txt", text)])
        self.channels.pop(chan.uniqueid, None)

    # -- music, hold ---------------------------------------------------------------
    def moh_start(self, chan: Chan, cls: str = "default") -> None:
        self._ev("MusicOnHoldStart", CALL, [*chan.snapshot(), ("Class", cls)])

    def moh_stop(self, chan: Chan) -> None:
        self._ev("MusicOnHoldStop", CALL, chan.snapshot())

    def hold(self, chan: Chan) -> None:
        self._ev("Hold", CALL, [*chan.snapshot(), ("MusicClass", "default")])

    def unhold(self, chan: Chan) -> None:
        self._ev("Unhold", CALL, chan.snapshot())

    def user_event(self, chan: Chan, name: str, pairs: Pairs) -> None:
        self._ev("UserEvent", USER, [*chan.snapshot(), ("UserEvent", name), *pairs])

    # -- bridges -------------------------------------------------------------------
    def bridge_create(self) -> Bridge:
        bridge = Bridge(self.new_bridge_id())
        self._ev("BridgeCreate", CALL, bridge_block(bridge))
        return bridge

    def bridge_enter(self, bridge: Bridge, chan: Chan) -> None:
        bridge.members.append(chan)
        chan.bridge_id = bridge.uniqueid
        self._ev("BridgeEnter", CALL, [*bridge_block(bridge), *chan.snapshot()])

    def bridge_leave(self, bridge: Bridge, chan: Chan) -> None:
        if chan in bridge.members:
            bridge.members.remove(chan)
        chan.bridge_id = ""
        self._ev("BridgeLeave", CALL, [*bridge_block(bridge), *chan.snapshot()])

    def bridge_destroy(self, bridge: Bridge) -> None:
        self._ev("BridgeDestroy", CALL, bridge_block(bridge))

    # -- queue events (app_queue, class agent) -------------------------------------
    def queue_event(self, name: str, caller: Chan, pairs: Pairs) -> None:
        self._ev(name, AGENT, [*caller.snapshot(), *pairs])

    def agent_event(self, name: str, caller: Chan, member: Chan, pairs: Pairs) -> None:
        self.two(name, AGENT, caller, member, pairs)
